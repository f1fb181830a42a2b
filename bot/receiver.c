/* receiver.c - `ackbot receiver`: the other end of a webhook source's replies, for trying
 * ackbot out and for debugging an integration. It listens on one address, checks each
 * reply's Standard Webhooks signature with the source's secret, and prints it; a
 * redelivery (the same webhook-id) is answered 200 again and shown as such. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config.h"
#include "http.h"
#include "sig.h"

#define SEEN_MAX 4096		/* webhook-ids remembered for "again" */
#define TOLERANCE_S 300

struct receiver {
	struct sig_key key;
	const char *path;
	int json;
	char *seen[SEEN_MAX];
	size_t nseen, next;
	unsigned long received, rejected;
};

static const char *const wanted[] = { "webhook-id", "webhook-timestamp", "webhook-signature",
	"content-type", NULL };

static int
seen_before(struct receiver *r, const char *id)
{
	for (size_t i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], id) == 0)
			return 1;
	free(r->seen[r->next]);
	r->seen[r->next] = strdup(id);
	r->next = (r->next + 1) % SEEN_MAX;
	if (r->nseen < SEEN_MAX)
		r->nseen++;
	return 0;
}

static void
answer(struct http_req *req, int status, const char *msg)
{
	char body[300];
	json_t *o = json_pack("{s:s}", status < 300 ? "status" : "error", msg);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

	snprintf(body, sizeof(body), "%s\n", t ? t : "{}");
	free(t);
	json_decref(o);
	http_respond(req, status, "application/json", body, strlen(body));
}

/* What a terminal shows of s: control characters (C0, DEL and C1, which a terminal may
 * read as an escape) and broken UTF-8 become spaces or '?': a reply cannot move the cursor,
 * clear the screen or set the window title. */
static void
put_clean(const char *s, FILE *f)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0, k = 1;
		while (n > 1 && k < n && (p[k] & 0xc0) == 0x80)
			k++;
		if (n == 0 || k < n) {
			fputc('?', f);
			p++;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			fputc(' ', f);
			p++;
		} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			fputc(' ', f);
			p += 2;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

static void
handle(struct http_req *req, void *arg)
{
	struct receiver *r = arg;
	const char *id = http_req_header(req, "webhook-id");
	size_t len;
	const char *body = http_req_body(req, &len);
	json_error_t je;
	json_t *o;
	int rc, again;

	if (strcmp(http_req_path(req), r->path) != 0) {
		answer(req, 404, "not found: replies go to the configured path");
		return;
	}
	if (strcmp(http_req_method(req), "POST") != 0) {
		answer(req, 405, "POST replies here");
		return;
	}
	rc = sig_verify(&r->key, id, http_req_header(req, "webhook-timestamp"),
	    http_req_header(req, "webhook-signature"), body, len, (int64_t)time(NULL), TOLERANCE_S);
	if (rc != SIG_OK) {
		r->rejected++;
		fprintf(stderr, "rejected a delivery from %s: %s (is it signed with this secret?)\n",
		    http_req_peer(req), sig_strerror(rc));
		answer(req, 401, sig_strerror(rc));
		return;
	}
	if ((o = json_loadb(body, len, 0, &je)) == NULL || !json_is_object(o)) {
		json_decref(o);
		r->rejected++;
		fprintf(stderr, "rejected a delivery from %s: the body is not a JSON object\n",
		    http_req_peer(req));
		answer(req, 400, "the body is not a JSON object");
		return;
	}
	again = seen_before(r, id);
	r->received++;
	if (r->json) {
		fwrite(body, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		const char *intent = json_string_value(json_object_get(o, "intent"));
		const char *ticket = json_string_value(json_object_get(o, "ticket"));
		const char *to = json_string_value(json_object_get(o, "in_reply_to"));
		printf("%s[", again ? "(again, same webhook-id) " : "");
		put_clean(intent ? intent : "reply", stdout);
		printf("] ");
		put_clean(json_string_value(json_object_get(o, "text")), stdout);
		printf("\n    in reply to ");
		put_clean(to ? to : "?", stdout);
		if (ticket != NULL) {
			printf(", ticket ");
			put_clean(ticket, stdout);
		}
		printf(", webhook-id ");
		put_clean(id, stdout);
		printf("\n");
	}
	fflush(stdout);
	json_decref(o);
	answer(req, 200, again ? "already received" : "received");
}

static void
on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	uv_stop(s->loop);
}

static const char usage_receiver[] =
    "usage: ackbot receiver [--listen HOST:PORT] [--path PATH] [--secret-env NAME]\n"
    "                       [--secret-file FILE] [--json]\n"
    "Receives the replies a webhook source delivers (its reply_url), checks each one's\n"
    "Standard Webhooks signature and prints it: for trying ackbot out, or to see what your\n"
    "platform's side will get. A delivery with a bad or missing signature is answered 401\n"
    "and reported on stderr; one sent again (the same webhook-id) is answered 200 again.\n"
    "  --listen HOST:PORT  where to listen (default 127.0.0.1:9000)\n"
    "  --path PATH         the path replies are POSTed to (default /replies)\n"
    "  --secret-env NAME   the variable holding the secret (default ACKBOT_WEBHOOK_SECRET)\n"
    "  --secret-file FILE  or a file holding it\n"
    "  --json              print each reply's JSON body, one per line\n"
    "Ctrl-C stops it.\n";

static int
read_secret(const char *env, const char *file, char *out, size_t size)
{
	if (file != NULL) {
		FILE *f = fopen(file, "re");
		size_t n;
		if (f == NULL) {
			fprintf(stderr, "ackbot: cannot read --secret-file %s: %s\n", file, strerror(errno));
			return -1;
		}
		n = fread(out, 1, size - 1, f);
		fclose(f);
		out[n] = '\0';
		out[strcspn(out, "\r\n")] = '\0';
		return 0;
	}
	const char *v = getenv(env);
	if (v == NULL || *v == '\0') {
		fprintf(stderr, "ackbot: %s is unset: the receiver needs the webhook source's secret\n"
		    "  hint: export %s=whsec_... (the same value the daemon has), or --secret-file\n",
		    env, env);
		return -1;
	}
	snprintf(out, size, "%s", v);
	return 0;
}

int
cmd_receiver(int argc, char **argv)
{
	static const char *const flags[] = { "listen=", "path=", "secret-env=", "secret-file=",
		"json", NULL };
	const char *config, *vals[5];
	struct receiver *r;
	struct http_server *http = NULL;
	struct http_listener_conf lc;
	struct ack_err err;
	uv_loop_t loop;
	uv_signal_t sint, sterm;
	char secret[1024], *host = NULL;
	int first, rc, port;

	if ((rc = cli_parse_opts(argc, argv, usage_receiver, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_receiver, "unexpected argument '%s'", argv[first]);
	if (conf_parse_listen(vals[0] ? vals[0] : "127.0.0.1:9000", &host, &port) != 0)
		return cli_usage_error(usage_receiver, "invalid --listen '%s' (expected HOST:PORT)",
		    vals[0]);
	if (vals[1] != NULL && vals[1][0] != '/') {
		free(host);
		return cli_usage_error(usage_receiver, "invalid --path '%s' (it starts with /)", vals[1]);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free(host);
		return 1;
	}
	r->path = vals[1] ? vals[1] : "/replies";
	r->json = vals[4] != NULL;
	ack_err_clear(&err);
	rc = 1;
	if (read_secret(vals[2] ? vals[2] : "ACKBOT_WEBHOOK_SECRET", vals[3], secret,
	    sizeof(secret)) != 0)
		goto out;
	if (sig_key_parse(&r->key, secret, &err) != 0) {
		fprintf(stderr, "ackbot: the secret is not usable: %s\n  hint: it looks like "
		    "whsec_<base64 key>\n", err.msg);
		goto out;
	}
	memset(secret, 0, sizeof(secret));
	uv_loop_init(&loop);
	memset(&lc, 0, sizeof(lc));
	lc.name = "receiver";
	lc.host = host;
	lc.port = port;
	lc.body_limit = 1 << 20;
	lc.headers = wanted;
	lc.handler = handle;
	lc.arg = r;
	if (http_open(&http, &loop, &err) != 0 || http_listen(http, &lc, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		rc = 3;
	} else {
		uv_signal_init(&loop, &sint);
		uv_signal_init(&loop, &sterm);
		uv_signal_start(&sint, on_signal, SIGINT);
		uv_signal_start(&sterm, on_signal, SIGTERM);
		fprintf(stderr, "ackbot receiver: listening on http://%s:%d%s (Ctrl-C stops)\n", host,
		    port, r->path);
		uv_run(&loop, UV_RUN_DEFAULT);
		fprintf(stderr, "ackbot receiver: %lu received, %lu rejected\n", r->received,
		    r->rejected);
		uv_close((uv_handle_t *)&sint, NULL);
		uv_close((uv_handle_t *)&sterm, NULL);
		rc = 0;
	}
	http_close(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) == UV_EBUSY) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_loop_close(&loop);
	}
out:
	memset(&r->key, 0, sizeof(r->key));
	for (size_t i = 0; i < r->nseen; i++)
		free(r->seen[i]);
	free(r);
	free(host);
	return rc;
}
