/* admin.c - /healthz and /metrics on the admin listener. */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "metrics.h"
#include "store.h"

static void
admin_handler(struct http_req *req, void *arg)
{
	struct admin *a = arg;
	const char *path = http_req_path(req);

	if (strcmp(http_req_method(req), "GET") != 0 && strcmp(http_req_method(req), "HEAD") != 0) {
		http_respond(req, 405, "text/plain", "method not allowed\n", 19);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (a->draining)
			http_respond(req, 503, "text/plain", "draining\n", 9);
		else
			http_respond(req, 200, "text/plain", "ok\n", 3);
	} else if (strcmp(path, "/metrics") == 0) {
		struct metrics_gauges g;
		struct ack_err err;
		char *body;

		memset(&g, 0, sizeof(g));
		a->st->ops->handoff_count(a->st, HANDOFF_OPEN, &g.handoffs_open, &err);
		a->st->ops->reply_counts(a->st, &g.replies_pending, &err);
		g.uptime_s = (store_now_ms() - a->started_ms) / 1000;
		body = metrics_render(&g);
		if (body == NULL) {
			http_respond(req, 500, "text/plain", "out of memory\n", 14);
			return;
		}
		http_respond(req, 200, "text/plain; version=0.0.4", body, strlen(body));
		free(body);
	} else {
		http_respond(req, 404, "text/plain", "not found\n", 10);
	}
}

int
admin_listen(struct admin *a, struct http_server *http, const char *host, int port,
    struct ack_err *err)
{
	static const char *const no_headers[] = { NULL };
	struct http_listener_conf lc = { "admin", host, port, 4096, no_headers, admin_handler, a };

	return http_listen(http, &lc, err);
}
