/* webhook.c - the generic signed webhook source: POST JSON mentions signed as Standard
 * Webhooks say; 202 only after the mention is committed. Replies are POSTed to a
 * configured URL, signed the same way, with a webhook-id that is stable per reply. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "httpc.h"
#include "inbox.h"
#include "jsondepth.h"
#include "log.h"
#include "metrics.h"
#include "sender.h"
#include "sig.h"
#include "source.h"
#include "text.h"
#include "webhook.h"

#define WEBHOOK_ID_MAX 256

struct webhook {
	struct source base;
	char *host;
	int port;
	char *path;
	char *secret_env_name;	/* for the "off" log line: the variable's name, never its value */
	int has_secret;
	struct sig_key key;
	char *reply_url;
	size_t body_limit;
	int64_t tolerance_ms;
	long timeout_ms;
	int stopped;
};

static const char *const wanted_headers[] = {
	"webhook-id", "webhook-timestamp", "webhook-signature", NULL
};

static void
answer(struct http_req *req, struct webhook *w, int status, const char *json, const char *reason)
{
	if (status >= 400) {
		char st[16];
		snprintf(st, sizeof(st), "%d", status);
		metrics_inc(M_WEBHOOK_REJECTED, st);
		log_warn("webhook", "rejected", "source=%s status=%d reason=%s peer=%s",
		    log_q(w->base.name), status, log_q(reason), http_req_peer(req));
	}
	http_respond(req, status, "application/json", json, strlen(json));
}

static void
answer_error(struct http_req *req, struct webhook *w, int status, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	answer(req, w, status, s ? s : "{\"error\":\"internal\"}", msg);
	free(s);
	json_decref(o);
}

/* The value of an optional string field: absent or null -> NULL; other types -> error. */
static int
opt_string(json_t *obj, const char *key, char **out, char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "field '%s' must be a string", key);
		return -1;
	}
	*out = strdup(json_string_value(v));
	return *out == NULL ? -1 : 0;
}

static int
req_string(json_t *obj, const char *key, const char *label, char **out, char *why, size_t whylen)
{
	if (opt_string(obj, key, out, why, whylen) != 0)
		return -1;
	if (*out == NULL || **out == '\0') {
		free(*out);
		*out = NULL;
		snprintf(why, whylen, "field '%s' is required (a non-empty string)", label);
		return -1;
	}
	return 0;
}

/* Optional account facts: author.created_at (ISO 8601) and author.followers (a count). */
static int
author_facts(json_t *author, struct mention *m, char *why, size_t whylen)
{
	json_t *since = json_object_get(author, "created_at"), *fol = json_object_get(author,
	    "followers");

	if (since != NULL && !json_is_null(since)) {
		if (!json_is_string(since) || text_iso8601_ms(json_string_value(since)) <= 0) {
			snprintf(why, whylen, "field 'author.created_at' must be an ISO 8601 time");
			return -1;
		}
		m->author_since_ms = text_iso8601_ms(json_string_value(since));
	}
	if (fol != NULL && !json_is_null(fol)) {
		if (!json_is_integer(fol) || json_integer_value(fol) < 0) {
			snprintf(why, whylen, "field 'author.followers' must be a count");
			return -1;
		}
		m->author_followers = json_integer_value(fol);
		m->author_flags |= MENTION_FOLLOWERS;
	}
	return 0;
}

/* Fills m from the body; on error returns -1 with why set (m is cleared by the caller). */
int
webhook_parse_mention(const char *body, size_t len, struct mention *m, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *author, *bot;
	int rc = -1;

	if (!json_depth_ok(body, len, JSON_DEPTH_MAX)) {
		snprintf(why, whylen, "the body nests deeper than %d levels", JSON_DEPTH_MAX);
		return -1;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, whylen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
		    jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "the body must be a JSON object");
		goto out;
	}
	author = json_object_get(root, "author");
	if (author == NULL || !json_is_object(author)) {
		snprintf(why, whylen, "field 'author' is required (an object with id and handle)");
		goto out;
	}
	if (req_string(root, "id", "id", &m->platform_id, why, whylen) != 0 ||
	    opt_string(root, "text", &m->text, why, whylen) != 0 ||
	    req_string(author, "id", "author.id", &m->author_id, why, whylen) != 0 ||
	    req_string(author, "handle", "author.handle", &m->author_handle, why, whylen) != 0 ||
	    opt_string(author, "name", &m->author_name, why, whylen) != 0 ||
	    opt_string(root, "url", &m->url, why, whylen) != 0 ||
	    opt_string(root, "lang", &m->lang, why, whylen) != 0 ||
	    opt_string(root, "thread", &m->thread, why, whylen) != 0 ||
	    opt_string(root, "created_at", &m->created_at, why, whylen) != 0)
		goto out;
	if (m->text == NULL) {
		snprintf(why, whylen, "field 'text' is required (a string)");
		goto out;
	}
	if (strlen(m->platform_id) > WEBHOOK_ID_MAX) {
		snprintf(why, whylen, "field 'id' is longer than %d bytes", WEBHOOK_ID_MAX);
		goto out;
	}
	bot = json_object_get(author, "bot");
	if (bot != NULL && !json_is_null(bot) && !json_is_boolean(bot)) {
		snprintf(why, whylen, "field 'author.bot' must be true or false");
		goto out;
	}
	m->author_flags = bot != NULL && json_is_true(bot) ? MENTION_BOT : 0;
	if (author_facts(author, m, why, whylen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static void
intake_done(void *arg, int result, const struct mention *m)
{
	struct http_req *req = arg;
	json_t *o;
	char *s;
	int status;

	if (result == INBOX_FAILED) {
		http_respond(req, 503, "application/json",
		    "{\"error\":\"store unavailable, retry later\"}", 41);
		metrics_inc(M_WEBHOOK_REJECTED, "503");
		return;
	}
	status = result == INBOX_ACCEPTED ? 202 : 200;
	o = json_pack("{s:s,s:s}", "status", result == INBOX_ACCEPTED ? "accepted" : "duplicate",
	    "id", m->platform_id);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	metrics_observe(M_ACK_LATENCY, (double)(http_now_us() - http_req_start_us(req)) / 1e6);
	if (s == NULL) {
		http_respond(req, status, "application/json", "{}", 2);
		return;
	}
	http_respond(req, status, "application/json", s, strlen(s));
	free(s);
}

static void
handle(struct http_req *req, void *arg)
{
	struct webhook *w = arg;
	struct mention m;
	const char *body;
	size_t len;
	char why[256];
	int rc;

	if (strcmp(http_req_path(req), w->path) != 0) {
		answer_error(req, w, 404, "not found");
		return;
	}
	if (strcmp(http_req_method(req), "POST") != 0) {
		answer_error(req, w, 405, "use POST");
		return;
	}
	if (w->stopped) {
		answer_error(req, w, 503, "shutting down, retry later");
		return;
	}
	body = http_req_body(req, &len);
	/* the signature covers the raw bytes: check it before reading a byte of JSON */
	rc = sig_verify(&w->key, http_req_header(req, "webhook-id"),
	    http_req_header(req, "webhook-timestamp"), http_req_header(req, "webhook-signature"),
	    body, len, (int64_t)time(NULL), w->tolerance_ms / 1000);
	if (rc == SIG_EINTERNAL) {
		/* our fault, not the sender's: it retries later, nothing is accepted unchecked */
		log_error("webhook", "signature_error", "source=%s why=%s", log_q(w->base.name),
		    log_q(sig_strerror(rc)));
		answer_error(req, w, 503, "cannot check the signature now, retry later");
		return;
	}
	if (rc != SIG_OK) {
		answer_error(req, w, 401, sig_strerror(rc));
		return;
	}
	if (!text_is_valid_utf8(body, len)) {
		answer_error(req, w, 400, "body is not valid UTF-8");
		return;
	}
	memset(&m, 0, sizeof(m));
	if (webhook_parse_mention(body, len, &m, why, sizeof(why)) != 0) {
		mention_clear(&m);
		answer_error(req, w, 400, why);
		return;
	}
	m.source = strdup(w->base.name);
	m.received_ms = store_now_ms();
	if (m.source == NULL) {
		mention_clear(&m);
		answer_error(req, w, 503, "out of memory");
		return;
	}
	http_req_hold(req);
	rc = source_intake(&w->base, &m, 0, intake_done, req);
	if (rc != 0) {
		mention_clear(&m);
		answer_error(req, w, 503, rc == ACK_ETEMP ? "shutting down, retry later" : "out of memory");
	}
}

static int
webhook_configure(struct source **out, const struct source_env *env, struct source_conf *sc,
    const struct config *c, struct diag *d)
{
	struct webhook *w;
	char *secret = NULL;
	int64_t tol = 0;
	size_t errors = d->errors;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL || source_init_common(&w->base, &source_webhook_ops, env, sc) != 0) {
		free(w);
		return ACK_ENOMEM;
	}
	conf_src_listen(sc, "listen", "127.0.0.1:8080", &w->host, &w->port, c, d);
	conf_src_str(sc, "path", "/hooks/generic", &w->path, c, d);
	conf_src_secret(sc, "secret", &secret, c, d);
	conf_src_str_env(sc, "reply_url", NULL, &w->reply_url, c, d);
	conf_src_size(sc, "body_limit", 65536, &w->body_limit, c, d);
	conf_src_duration_ms(sc, "tolerance", 300000, &tol, c, d);
	{
		int64_t t = 0;
		conf_src_duration_ms(sc, "timeout", c->send_timeout_ms, &t, c, d);
		w->timeout_ms = (long)t;
	}
	for (size_t i = 0; i < sc->nkv; i++)
		if (strcmp(sc->kv[i].key, "secret_env") == 0)
			w->secret_env_name = strdup(sc->kv[i].value);
	conf_src_unused(sc, c, d);
	w->tolerance_ms = tol;
	if (w->path != NULL && w->path[0] != '/')
		diag_add(d, DIAG_ERROR, c->path, sc->line, sc->col, "e.g. path: /hooks/generic",
		    "webhook path '%s' must start with '/'", w->path);
	if (secret != NULL) {
		struct ack_err err;
		if (sig_key_parse(&w->key, secret, &err) != 0)
			diag_add(d, DIAG_ERROR, c->path, sc->line, sc->col,
			    "generate one with: echo whsec_$(head -c 32 /dev/urandom | base64)",
			    "source '%s': %s", sc->name, err.msg);
		else
			w->has_secret = 1;
		/* wipe the copy: only the decoded key stays in memory */
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	if (d->errors != errors) {
		source_webhook_ops.free(&w->base);
		return ACK_EINVAL;
	}
	*out = &w->base;
	return 0;
}

static int
webhook_start(struct source *s, struct ack_err *err)
{
	struct webhook *w = (struct webhook *)s;
	struct http_listener_conf lc;

	if (!w->has_secret) {
		if (w->secret_env_name != NULL)
			source_set_state(s, 0, "off: %s is unset", w->secret_env_name);
		else
			source_set_state(s, 0, "off: no secret_env or secret_file configured");
		if (w->secret_env_name != NULL)
			log_warn("webhook", "off", "source=%s reason=%s hint=%s", log_q(s->name),
			    log_q("secret environment variable is unset"),
			    log_q("set it to whsec_<base64 key> to turn this source on"));
		else
			log_warn("webhook", "off", "source=%s reason=%s", log_q(s->name),
			    log_q("no secret_env or secret_file configured"));
		s->active = 0;
		return 0;
	}
	memset(&lc, 0, sizeof(lc));
	lc.name = s->name;
	lc.host = w->host;
	lc.port = w->port;
	lc.body_limit = w->body_limit;
	lc.headers = wanted_headers;
	lc.handler = handle;
	lc.arg = w;
	if (http_listen(s->env->http, &lc, err) != 0)
		return err->code;
	if (w->reply_url == NULL)
		log_warn("webhook", "no_reply_url", "source=%s hint=%s", log_q(s->name),
		    log_q("replies cannot be delivered and will be handed off; set reply_url or reply_url_env"));
	log_info("webhook", "listening", "source=%s addr=%s:%d path=%s", log_q(s->name), w->host,
	    w->port, log_q(w->path));
	source_set_state(s, 0, "listening on %s:%d%s%s", w->host, w->port, w->path,
	    w->reply_url == NULL ? " (no reply_url: replies are handed off)" : "");
	s->active = 1;
	return 0;
}

static void
webhook_stop(struct source *s)
{
	((struct webhook *)s)->stopped = 1;
}

static void
webhook_free(struct source *s)
{
	struct webhook *w = (struct webhook *)s;

	if (w == NULL)
		return;
	source_free_common(s);
	free(w->host);
	free(w->path);
	free(w->secret_env_name);
	free(w->reply_url);
	memset(&w->key, 0, sizeof(w->key));
	free(w);
}

static void
send_done(void *arg, const struct httpc_result *res)
{
	struct source_send *c = arg;
	struct send_outcome o;

	sender_classify_http(res, store_now_ms(), &o);
	source_send_finish(c, &o);
}

static int
webhook_send(struct source *s, const struct reply *r, struct ack_err *err)
{
	struct webhook *w = (struct webhook *)s;
	struct httpc_header h[5];
	struct source_send *c;
	char ts[24], sig[SIG_LEN];
	json_t *o;
	char *body;
	int rc;

	if (w->reply_url == NULL) {
		struct send_outcome out = { SEND_FAIL, -1, 0, "no reply_url configured" };
		source_reply_done(s, r, &out);
		return 0;
	}
	o = json_pack("{s:s,s:s,s:s?,s:s?,s:{s:s,s:s}}", "in_reply_to", r->platform_id,
	    "text", r->text, "intent", r->intent, "ticket", r->ticket,
	    "author", "id", r->author_id, "handle", r->author_handle);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	c = body ? source_send_new(s, r) : NULL;
	if (c == NULL) {
		free(body);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (sig_sign(&w->key, r->idem_key, ts, body, strlen(body), sig) != 0) {
		free(body);
		source_send_done(c);
		return ack_fail(err, ACK_EIO, "cannot sign the reply (OpenSSL failed)");
	}
	h[0] = (struct httpc_header){ "Content-Type", "application/json" };
	h[1] = (struct httpc_header){ "webhook-id", r->idem_key };
	h[2] = (struct httpc_header){ "webhook-timestamp", ts };
	h[3] = (struct httpc_header){ "webhook-signature", sig };
	h[4] = (struct httpc_header){ "Idempotency-Key", r->idem_key };
	rc = httpc_post(s->env->httpc, w->reply_url, h, 5, body, strlen(body), w->timeout_ms,
	    send_done, c, err);
	free(body);
	if (rc != 0)
		source_send_done(c);
	return rc;
}

const struct source_ops source_webhook_ops = {
	.type = "webhook",
	.default_max_length = 1000,
	.configure = webhook_configure,
	.start = webhook_start,
	.stop = webhook_stop,
	.free = webhook_free,
	.send = webhook_send,
	.notice = NULL,
};
