/* mastodon.c - a Mastodon account as a source: verify the token, find the streaming
 * server, follow user:notification over a websocket (token in a header, never in the
 * URL), backfill over REST from the committed cursor after every (re)connect, and reply
 * with POST /api/v1/statuses carrying an Idempotency-Key. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "http.h"
#include "httpc.h"
#include "inbox.h"
#include "log.h"
#include "mastodon_parse.h"
#include "mastodon_text.h"
#include "sender.h"
#include "source.h"
#include "store.h"
#include "text.h"
#include "ws.h"

#define MASTODON_PAGE 80

struct mastodon {
	struct source base;
	char *base_url;		/* without a trailing '/' */
	char *auth;		/* "Bearer <token>": never logged */
	char *streaming;	/* streaming base, from the instance or the config */
	char *own_id;
	int reply_unlisted;	/* answer public mentions as unlisted */
	int skip_bots;
	int64_t max_age_ms;	/* first start: older mentions are not answered */
	size_t max_chars;	/* the instance's status limit, as Mastodon counts */
	size_t url_chars;	/* what one URL counts for (characters_reserved_per_url) */
	int ping_s;
	long timeout_ms;
	int verified_once;
	int tried_v1;
	int stopped;
	int attempts;		/* failures since the last good connection */
	int backfilling;	/* a backfill (or catch-up) is paging */
	int uncaught;		/* stream mentions since the last backfill ended */
	int arrived_during;	/* ... or while it was paging (maybe after its last page) */
	int catching_up;	/* the backfill paging is a catch-up, not after a reconnect */
	uv_timer_t *catchup;	/* the next catch-up; freed in its close callback */
	int first_start;	/* the page being committed is the very first one */
	int page_full;		/* ... and there may be more after it */
	char page_cursor[32];
	int connected;
	struct ws_conn *ws;
	uv_timer_t *timer;	/* reconnect / retry; freed in its close callback */
	unsigned gen;		/* the connection attempt: retry_later starts a new one */
	int store_attempts;	/* store failures since the last committed page */
	int store_wait;		/* a retry after a store failure is already set */
	struct mreq *reqs;	/* requests and page cursors out, for the callbacks */
};

/* What a request's callback gets: the source and the attempt it belongs to. An answer to
 * an attempt that was given up (retry_later) is dropped, so two backfills never mix. */
struct mreq {
	struct mastodon *m;
	unsigned gen;
	struct mreq *prev, *next;
};

static struct mreq *
req_new(struct mastodon *m)
{
	struct mreq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->m = m;
	r->gen = m->gen;
	r->next = m->reqs;
	if (m->reqs != NULL)
		m->reqs->prev = r;
	m->reqs = r;
	return r;
}

static void
req_free(struct mreq *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->m->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	free(r);
}

/* The source, or NULL when the request's attempt is over (or the source stopped). */
static struct mastodon *
req_take(void *arg)
{
	struct mreq *r = arg;
	struct mastodon *m = r->m;
	int current = r->gen == m->gen && !m->stopped;

	req_free(r);
	return current ? m : NULL;
}

static void start_verify(struct mastodon *m);

/* ---- helpers ---- */

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *
urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = malloc(strlen(s) * 3 + 1), *p = o;

	if (o == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return o;
}

static void
timer_cb(uv_timer_t *t)
{
	struct mastodon *m = t->data;

	m->store_wait = 0;
	if (!m->stopped)
		start_verify(m);
}

/* Something failed: start over from verify_credentials after a backoff with jitter
 * (1 s, 2 s, 4 s ... 60 s), so a broken server or network is never hammered. */
static void retry_in(struct mastodon *m, const char *why, int64_t d);

static void
retry_later(struct mastodon *m, const char *why)
{
	retry_in(m, why, sender_backoff_ms(1000, 60000, ++m->attempts));
}

/* Our store failed, not the platform: the wait stays short (a full disk that gets space
 * back, a lock that goes), 0.5 s doubling up to 5 s, and the platform's backoff is left
 * alone. One failure is reported once per item of the batch: a new attempt that is
 * already waiting is not pushed further. */
static void
retry_store(struct mastodon *m, const char *why)
{
	if (m->store_wait)
		return;
	m->store_wait = 1;
	retry_in(m, why, sender_backoff_ms(500, 5000, ++m->store_attempts));
}

static void
retry_in(struct mastodon *m, const char *why, int64_t d)
{
	m->gen++;		/* answers to this attempt's requests are dropped */
	m->connected = 0;
	if (m->ws != NULL) {
		ws_close(m->ws);
		m->ws = NULL;
	}
	if (m->stopped)
		return;
	log_warn("mastodon", "retry", "source=%s why=%s retry_ms=%lld", log_q(m->base.name),
	    log_q(why), (long long)d);
	source_set_state(&m->base, 1, "reconnecting in %llds: %.150s", (long long)(d + 999) / 1000, why);
	uv_timer_start(m->timer, timer_cb, (uint64_t)d, 0);
}

static int
get(struct mastodon *m, const char *path, httpc_done_fn *done)
{
	struct httpc_header h[1] = { { "Authorization", m->auth } };
	struct ack_err err;
	struct mreq *r = req_new(m);
	char url[2048];

	if (r == NULL) {
		retry_later(m, "out of memory");
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s", m->base_url, path);
	if (httpc_request(m->base.env->httpc, "GET", url, h, 1, NULL, 0, m->timeout_ms, done, r,
	    &err) != 0) {
		req_free(r);
		retry_later(m, err.msg);
		return -1;
	}
	return 0;
}

/* ---- notifications -> mentions ---- */

/* Every item this source puts into the inbox fences it on failure: nothing later of ours
 * commits (and moves the cursor) until the backfill after the reconnect starts again
 * from the committed cursor, before the mention that failed. */
static void
intake_done(void *arg, int result, const struct mention *mn)
{
	struct mastodon *m = arg;

	if (result == INBOX_FAILED && !m->stopped)
		retry_store(m, "store commit failed; backfill will fetch it again");
	(void)mn;
}

/* Takes one Notification; 0 if handled (or not a mention), -1 on a malformed one, -2 when
 * the inbox took nothing (it is fenced after a failure, or draining): the backfill after
 * the reconnect fetches it. A notification from the stream never moves the cursor: the
 * stream does not keep id order (two notifications created at once arrive either way
 * round), so a later id committed first would let a restart resume after an earlier one
 * still in flight. The cursor moves only with REST pages, which are complete and in id
 * order; a catch-up pages from it every so often while the stream runs. */
static int
take_notification(struct mastodon *m, json_t *n, int64_t not_before_ms, int from_stream)
{
	json_t *st;
	const char *type = jstr(n, "type"), *nid = jstr(n, "id");
	struct mastodon_who who = { m->base.name, m->own_id, m->skip_bots };
	struct mention mn;

	if (type == NULL || nid == NULL)
		return -1;
	if (strcmp(type, "mention") != 0)
		return 0;
	st = json_object_get(n, "status");
	if (!json_is_object(st))
		return -1;
	if (not_before_ms > 0 && text_iso8601_ms(jstr(st, "created_at")) < not_before_ms) {
		log_info("mastodon", "too_old", "source=%s status=%s", log_q(m->base.name),
		    log_q(jstr(st, "id")));
		return 0;
	}
	if (mastodon_notification_mention(n, &who, &mn) < 0)
		return -1;
	if (from_stream) {
		free(mn.cursor);
		mn.cursor = NULL;
	}
	if (source_intake(&m->base, &mn, INBOX_FENCE, intake_done, m) != 0) {
		mention_clear(&mn);
		return -2;
	}
	return 0;
}

/* ---- backfill: GET /api/v1/notifications from the cursor, page by page ---- */

static void backfill_done(void *arg, const struct httpc_result *r);
static void start_backfill(struct mastodon *m, int reconnect);

#define CATCHUP_AFTER    20		/* stream mentions before a catch-up */
#define CATCHUP_EVERY_MS 30000			/* ... or this long after the first */

static void
catchup_cb(uv_timer_t *t)
{
	struct mastodon *m = t->data;

	if (!m->stopped && m->connected && !m->backfilling)
		start_backfill(m, 0);
}

static void
backfill_ended(struct mastodon *m)
{
	if (m->catching_up)
		log_debug("mastodon", "caught_up", "source=%s cursor=%s", log_q(m->base.name),
		    m->page_cursor);
	else
		log_info("mastodon", "backfilled", "source=%s", log_q(m->base.name));
	m->catching_up = 0;
	m->backfilling = 0;
	m->uncaught = 0;
	if (m->catchup == NULL)
		return;
	uv_timer_stop(m->catchup);
	if (m->arrived_during) {	/* they may be newer than its last page */
		m->arrived_during = 0;
		m->uncaught = 1;
		uv_timer_start(m->catchup, catchup_cb, CATCHUP_EVERY_MS, 0);
	}
}

/* A mention came on the stream: a catch-up will move the cursor past it (and fetch any
 * the stream dropped), soon, or at once when they pile up. */
static void
stream_taken(struct mastodon *m)
{
	if (m->catchup == NULL)
		return;
	if (m->backfilling) {
		m->arrived_during = 1;
		return;
	}
	if (++m->uncaught >= CATCHUP_AFTER)
		start_backfill(m, 0);
	else if (m->uncaught == 1)
		uv_timer_start(m->catchup, catchup_cb, CATCHUP_EVERY_MS, 0);
}

static void
backfill_from(struct mastodon *m, const char *cursor)
{
	char path[256];

	if (cursor != NULL)
		snprintf(path, sizeof(path), "/api/v1/notifications?types[]=mention&min_id=%s&limit=%d",
		    cursor, MASTODON_PAGE);
	else
		snprintf(path, sizeof(path), "/api/v1/notifications?types[]=mention&limit=%d",
		    MASTODON_PAGE);
	get(m, path, backfill_done);
}

/* The page's resume point is committed (after its mentions, in order): only now is the
 * next page asked for, so the cursor never runs ahead of what is stored. */
static void
page_done(void *arg, int result, const struct mention *mn)
{
	struct mastodon *m = req_take(arg);

	(void)mn;
	if (m == NULL)
		return;
	if (result == INBOX_FAILED) {
		retry_store(m, "store commit failed; backfill will fetch it again");
		return;
	}
	m->store_attempts = 0;
	if (m->first_start) {
		log_info("mastodon", "first_start", "source=%s cursor=%s", log_q(m->base.name),
		    m->page_cursor);
		m->first_start = 0;
		backfill_ended(m);
	} else if (m->page_full) {
		backfill_from(m, m->page_cursor);	/* more after this page */
	} else {
		backfill_ended(m);
	}
}

static void
backfill_done(void *arg, const struct httpc_result *r)
{
	struct mastodon *m = req_take(arg);
	struct ack_err err;
	json_t *page;
	char *cursor = NULL, newest[32] = "";
	struct mreq *pr;
	size_t n;
	int first = 0;

	if (m == NULL)
		return;
	if (r->curl_code != 0 || r->status != 200) {
		retry_later(m, r->curl_code ? r->error : "backfill answered an error");
		return;
	}
	page = mastodon_json(r->body, r->body_len);
	if (!json_is_array(page)) {
		json_decref(page);
		retry_later(m, "backfill answer is not a list");
		return;
	}
	if (inbox_cursor_get(m->base.env->inbox, m->base.name, &cursor, &err) != 0) {
		json_decref(page);
		retry_store(m, err.msg);
		return;
	}
	first = cursor == NULL;
	free(cursor);
	n = json_array_size(page);
	/* the page is newest first: take it oldest first */
	for (size_t i = n; i-- > 0;) {
		json_t *no = json_array_get(page, i);
		const char *id = jstr(no, "id");
		int rc;
		if (id == NULL)
			continue;
		rc = take_notification(m, no, first ? store_now_ms() - m->max_age_ms : 0, 0);
		if (rc == -2) {
			json_decref(page);
			retry_store(m, "the inbox is not taking mentions; backfill will fetch them again");
			return;
		}
		if (rc != 0)
			log_warn("mastodon", "bad_notification", "source=%s id=%s", log_q(m->base.name),
			    log_q(id));
		if (strlen(id) < sizeof(newest) && (newest[0] == '\0' || strlen(id) > strlen(newest) ||
		    (strlen(id) == strlen(newest) && strcmp(id, newest) > 0)))
			snprintf(newest, sizeof(newest), "%s", id);
	}
	json_decref(page);
	if (!first && newest[0] == '\0') {
		backfill_ended(m);	/* nothing after the cursor */
		return;
	}
	/* the very first start: history older than max_age is skipped, and the cursor starts
	 * at the newest notification, answered or not */
	m->first_start = first;
	m->page_full = n >= MASTODON_PAGE;
	snprintf(m->page_cursor, sizeof(m->page_cursor), "%s", newest[0] ? newest : "0");
	if ((pr = req_new(m)) == NULL) {
		retry_later(m, "out of memory");
		return;
	}
	if (inbox_put_cursor(m->base.env->inbox, m->base.name, m->page_cursor, INBOX_FENCE,
	    page_done, pr) != 0) {
		req_free(pr);
		retry_store(m, "the inbox is not taking the cursor; backfill will fetch again");
	}
}

/* reconnect: after a (re)connection, when our items may commit again: the backfill starts
 * at the committed cursor, before anything that failed. Else a catch-up. */
static void
start_backfill(struct mastodon *m, int reconnect)
{
	struct ack_err err;
	char *cursor = NULL;

	if (reconnect)
		inbox_unfence(m->base.env->inbox, m->base.name);
	m->catching_up = !reconnect;
	if (inbox_cursor_get(m->base.env->inbox, m->base.name, &cursor, &err) != 0) {
		retry_store(m, err.msg);
		return;
	}
	m->backfilling = 1;
	backfill_from(m, cursor);
	free(cursor);
}

/* ---- the stream ---- */

static void
on_open(void *arg)
{
	struct mastodon *m = arg;

	m->connected = 1;
	m->attempts = 0;
	log_info("mastodon", "streaming", "source=%s", log_q(m->base.name));
	source_set_state(&m->base, 0, "streaming");
	/* events sent while we were away are never resent on the stream: fetch them; the
	 * store's uniqueness makes the overlap with the stream harmless */
	start_backfill(m, 1);
}

static void
on_message(void *arg, const char *data, size_t len)
{
	struct mastodon *m = arg;
	json_t *env = NULL, *payload = NULL;
	const char *error = NULL;

	switch (mastodon_stream_message(data, len, &env, &payload, &error)) {
	case STREAM_NOTIFICATION:
		switch (take_notification(m, payload, 0, 1)) {
		case 0:
			stream_taken(m);
			break;
		case -2:	/* fenced: reconnect, and the backfill fetches it */
			if (!m->stopped)
				retry_store(m, "the inbox is not taking mentions; backfill will fetch them again");
			break;
		default:
			log_warn("mastodon", "bad_notification", "source=%s", log_q(m->base.name));
		}
		break;
	case STREAM_ERROR:
		log_warn("mastodon", "stream_error", "source=%s error=%s", log_q(m->base.name),
		    log_q(error));
		break;
	case STREAM_BAD:
		log_warn("mastodon", "bad_notification", "source=%s", log_q(m->base.name));
		break;
	default:
		break;
	}
	json_decref(payload);
	json_decref(env);
}

static void
on_close(void *arg, int status, const char *why)
{
	struct mastodon *m = arg;
	char msg[160];

	m->ws = NULL;
	snprintf(msg, sizeof(msg), "stream closed (%d %s)", status, why ? why : "");
	if (status == 401)
		log_error("mastodon", "stream_unauthorized", "source=%s", log_q(m->base.name));
	retry_later(m, msg);
}

static void
connect_stream(struct mastodon *m)
{
	struct ws_conf wc;
	struct ack_err err;
	char url[2048];

	snprintf(url, sizeof(url), "%s/api/v1/streaming?stream=user:notification", m->streaming);
	memset(&wc, 0, sizeof(wc));
	wc.url = url;
	wc.auth = m->auth;
	wc.ping_s = m->ping_s;
	wc.max_message = 4 << 20;
	wc.on_open = on_open;
	wc.on_message = on_message;
	wc.on_close = on_close;
	wc.arg = m;
	if (ws_connect(&m->ws, m->base.env->http, &wc, &err) != 0)
		retry_later(m, err.msg);
}

/* ---- start-up: who am I, where is the stream ---- */

static void
instance_done(void *arg, const struct httpc_result *r)
{
	struct mastodon *m = req_take(arg);
	json_t *o;
	const char *s = NULL;
	json_int_t maxc = 0;

	if (m == NULL)
		return;
	if (r->curl_code == 0 && r->status == 404 && !m->tried_v1) {
		m->tried_v1 = 1;	/* an older server: /api/v1/instance */
		get(m, "/api/v1/instance", instance_done);
		return;
	}
	if (r->curl_code != 0 || r->status != 200) {
		retry_later(m, r->curl_code ? r->error : "instance answered an error");
		return;
	}
	o = mastodon_json(r->body, r->body_len);
	if (o != NULL) {
		json_t *conf = json_object_get(o, "configuration");
		s = jstr(json_object_get(conf, "urls"), "streaming");
		if (s == NULL)	/* v1 */
			s = jstr(json_object_get(o, "urls"), "streaming_api");
		maxc = json_integer_value(json_object_get(json_object_get(conf, "statuses"),
		    "max_characters"));
		if (json_integer_value(json_object_get(json_object_get(conf, "statuses"),
		    "characters_reserved_per_url")) > 0)
			m->url_chars = (size_t)json_integer_value(json_object_get(json_object_get(conf,
			    "statuses"), "characters_reserved_per_url"));
	}
	if (s != NULL && m->streaming == NULL)
		m->streaming = strdup(s);
	if (m->streaming == NULL)
		m->streaming = strdup(m->base_url);
	if (maxc > 0)
		m->max_chars = (size_t)maxc;
	if (m->max_chars < m->base.max_length)
		m->base.max_length = m->max_chars;
	json_decref(o);
	if (m->streaming == NULL) {
		retry_later(m, "out of memory");
		return;
	}
	connect_stream(m);
}

static void
verify_done(void *arg, const struct httpc_result *r)
{
	struct mastodon *m = req_take(arg);
	json_t *o;
	const char *id;

	if (m == NULL)
		return;
	if (r->curl_code == 0 && r->status == 401) {
		if (!m->verified_once) {
			m->base.env->fail(m->base.env->arg, m->base.name,
			    "the access token was rejected (401): check token_env / token_file");
			return;
		}
		log_error("mastodon", "unauthorized", "source=%s", log_q(m->base.name));
	}
	if (r->curl_code != 0 || r->status != 200) {
		retry_later(m, r->curl_code ? r->error : "verify_credentials answered an error");
		return;
	}
	o = mastodon_json(r->body, r->body_len);
	id = o ? jstr(o, "id") : NULL;
	if (id == NULL) {
		json_decref(o);
		retry_later(m, "verify_credentials answer has no id");
		return;
	}
	free(m->own_id);
	m->own_id = strdup(id);
	m->tried_v1 = 0;
	log_info("mastodon", "verified", "source=%s account=%s", log_q(m->base.name),
	    log_q(jstr(o, "acct")));
	json_decref(o);
	m->verified_once = 1;
	get(m, "/api/v2/instance", instance_done);
}

static void
start_verify(struct mastodon *m)
{
	get(m, "/api/v1/accounts/verify_credentials", verify_done);
}

/* ---- replies ---- */

static void
send_done(void *arg, const struct httpc_result *r)
{
	struct source_send *c = arg;
	struct send_outcome o;

	sender_classify_http(r, store_now_ms(), &o);
	source_send_finish(c, &o);
}

static const char *
narrowest(const char *mention_vis, int unlisted)
{
	static const char *const order[] = { "direct", "private", "unlisted", "public" };

	for (int i = 0; i < 4; i++)
		if (mention_vis != NULL && strcmp(mention_vis, order[i]) == 0)
			return i == 3 && unlisted ? "unlisted" : order[i];
	return "direct";	/* unknown: the safest */
}

static int
mastodon_send(struct source *s, const struct reply *r, struct ack_err *err)
{
	struct mastodon *m = (struct mastodon *)s;
	json_t *ex = r->extra ? json_loads(r->extra, 0, NULL) : NULL;
	const char *acct = ex ? jstr(ex, "acct") : NULL, *cw = ex ? jstr(ex, "spoiler_text") : NULL;
	const char *lang = ex ? jstr(ex, "language") : NULL;
	struct httpc_header h[3];
	struct source_send *c = NULL;
	char *text = NULL, *e_text = NULL, *e_cw = NULL, *e_id = NULL, *e_lang = NULL, *body = NULL;
	char url[2048], mention[300];
	size_t n;
	int rc;

	if (acct == NULL)
		acct = r->author_handle;
	/* the reply must start by mentioning the author, or they are not notified */
	snprintf(mention, sizeof(mention), "@%s ", acct);
	if (strncmp(r->text, mention, strlen(mention)) == 0 ||
	    (strncmp(r->text, mention, strlen(mention) - 1) == 0 && r->text[strlen(mention) - 1] == '\0'))
		text = strdup(r->text);
	else if (asprintf(&text, "%s%s", mention, r->text) < 0)
		text = NULL;
	/* the limit as the server counts it (URLs weigh url_chars, remote mentions their
	 * local part); the template was cut in graphemes, the "@acct " prefix may push it over */
	while (text != NULL && mastodon_status_length(text, m->url_chars) > m->max_chars) {
		size_t over = mastodon_status_length(text, m->url_chars) - m->max_chars;
		size_t g = text_graphemes(text);
		if (g <= over + 2)
			break;
		text_truncate(text, g - over - 1, "…");
	}
	/* every field is encoded: none of them can add a field of its own (&visibility=) */
	e_text = text ? urlencode(text) : NULL;
	e_cw = urlencode(cw ? cw : "");
	e_id = urlencode(r->platform_id);
	e_lang = urlencode(lang ? lang : "");
	n = e_text && e_cw && e_id && e_lang ?
	    strlen(e_text) + strlen(e_cw) + strlen(e_id) + strlen(e_lang) + 128 : 0;
	body = n ? malloc(n) : NULL;
	if (body == NULL || (c = source_send_new(s, r)) == NULL) {
		rc = ack_fail(err, ACK_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(body, n, "status=%s&in_reply_to_id=%s&visibility=%s%s%s%s%s", e_text, e_id,
	    narrowest(ex ? jstr(ex, "visibility") : NULL, m->reply_unlisted),
	    *e_cw ? "&spoiler_text=" : "", e_cw, *e_lang ? "&language=" : "", e_lang);
	snprintf(url, sizeof(url), "%s/api/v1/statuses", m->base_url);
	h[0] = (struct httpc_header){ "Authorization", m->auth };
	h[1] = (struct httpc_header){ "Idempotency-Key", r->idem_key };
	h[2] = (struct httpc_header){ "Content-Type", "application/x-www-form-urlencoded" };
	rc = httpc_request(s->env->httpc, "POST", url, h, 3, body, strlen(body), m->timeout_ms,
	    send_done, c, err);
	if (rc != 0)
		source_send_done(c);
out:
	free(text);
	free(e_text);
	free(e_cw);
	free(e_id);
	free(e_lang);
	free(body);
	json_decref(ex);
	return rc;
}

/* ---- lifecycle ---- */

static void
timer_closed(uv_handle_t *h)
{
	free(h);
}

static void mastodon_free(struct source *s);

static int
mastodon_configure(struct source **out, const struct source_env *env, struct source_conf *sc,
    const struct config *c, struct diag *d)
{
	struct mastodon *m;
	char *token = NULL, *vis = NULL;
	int64_t age = 0, ping = 0, timeout = 0;
	size_t errors = d->errors;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL || source_init_common(&m->base, &source_mastodon_ops, env, sc) != 0) {
		free(m);
		return ACK_ENOMEM;
	}
	conf_src_str_env(sc, "base_url", NULL, &m->base_url, c, d);
	conf_src_secret(sc, "token", &token, c, d);
	conf_src_str_env(sc, "streaming_url", NULL, &m->streaming, c, d);
	conf_src_str(sc, "reply_public", "public", &vis, c, d);
	conf_src_bool(sc, "skip_bots", 1, &m->skip_bots, c, d);
	conf_src_duration_ms(sc, "max_age", 3600000, &age, c, d);
	conf_src_duration_ms(sc, "ping", 30000, &ping, c, d);
	conf_src_duration_ms(sc, "timeout", c->send_timeout_ms, &timeout, c, d);
	conf_src_unused(sc, c, d);
	m->max_age_ms = age;
	m->ping_s = (int)(ping / 1000 > 0 ? ping / 1000 : 1);
	m->timeout_ms = (long)timeout;
	m->max_chars = 500;
	m->url_chars = 23;
	if (vis != NULL && strcmp(vis, "public") != 0 && strcmp(vis, "unlisted") != 0)
		diag_add(d, DIAG_ERROR, c->path, sc->line, sc->col, "reply_public: public or unlisted",
		    "invalid value '%s' for 'reply_public' (expected public or unlisted)", vis);
	m->reply_unlisted = vis != NULL && strcmp(vis, "unlisted") == 0;
	free(vis);
	if (m->base_url != NULL) {
		size_t n = strlen(m->base_url);
		while (n > 0 && m->base_url[n - 1] == '/')
			m->base_url[--n] = '\0';
		if (strncmp(m->base_url, "http://", 7) != 0 && strncmp(m->base_url, "https://", 8) != 0)
			diag_add(d, DIAG_ERROR, c->path, sc->line, sc->col, "e.g. https://mastodon.example",
			    "mastodon base_url '%s' must start with http:// or https://", m->base_url);
	}
	if (token != NULL) {
		if (asprintf(&m->auth, "Bearer %s", token) < 0)
			m->auth = NULL;
		memset(token, 0, strlen(token));
		free(token);
	}
	if (d->errors != errors) {
		mastodon_free(&m->base);
		return ACK_EINVAL;
	}
	*out = &m->base;
	return 0;
}

static int
mastodon_start(struct source *s, struct ack_err *err)
{
	struct mastodon *m = (struct mastodon *)s;

	if (m->base_url == NULL || m->auth == NULL) {
		source_set_state(s, 0, "off: %s", m->base_url == NULL ? "no base_url" : "no token");
		log_warn("mastodon", "off", "source=%s reason=%s", log_q(s->name),
		    log_q(m->base_url == NULL ? "no base_url (set the variable named by base_url_env)" :
		    "no token (set the variable named by token_env)"));
		return 0;
	}
	m->timer = malloc(sizeof(*m->timer));
	if (m->timer == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	uv_timer_init(s->env->loop, m->timer);
	m->timer->data = m;
	if ((m->catchup = malloc(sizeof(*m->catchup))) == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	uv_timer_init(s->env->loop, m->catchup);
	m->catchup->data = m;
	s->active = 1;
	source_set_state(s, 1, "connecting");
	start_verify(m);
	return 0;
}

static void
mastodon_stop(struct source *s)
{
	struct mastodon *m = (struct mastodon *)s;

	m->stopped = 1;
	if (m->ws != NULL) {
		ws_close(m->ws);
		m->ws = NULL;
	}
	if (m->timer != NULL)
		uv_timer_stop(m->timer);
	if (m->catchup != NULL)
		uv_timer_stop(m->catchup);
}

static void
mastodon_free(struct source *s)
{
	struct mastodon *m = (struct mastodon *)s;

	if (m == NULL)
		return;
	mastodon_stop(s);
	while (m->reqs != NULL)	/* their transfers were stopped without a callback */
		req_free(m->reqs);
	if (m->timer != NULL)
		uv_close((uv_handle_t *)m->timer, timer_closed);
	if (m->catchup != NULL)
		uv_close((uv_handle_t *)m->catchup, timer_closed);
	source_free_common(s);
	free(m->base_url);
	if (m->auth != NULL)
		memset(m->auth, 0, strlen(m->auth));
	free(m->auth);
	free(m->streaming);
	free(m->own_id);
	free(m);
}

const struct source_ops source_mastodon_ops = {
	.type = "mastodon",
	.default_max_length = 500,
	.configure = mastodon_configure,
	.start = mastodon_start,
	.stop = mastodon_stop,
	.free = mastodon_free,
	.send = mastodon_send,
	.notice = NULL,
};
