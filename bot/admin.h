/* admin.h - the admin listener: GET /healthz (503 while draining) and /metrics
 * (Prometheus text); the browser review page will live here. */
#ifndef ACKBOT_ADMIN_H
#define ACKBOT_ADMIN_H

#include <stdint.h>

#include "err.h"

struct http_server;
struct store;

struct admin {
	struct store *st;
	int64_t started_ms;
	int draining;		/* the daemon sets it: /healthz answers 503 */
};

int admin_listen(struct admin *a, struct http_server *http, const char *host, int port,
    struct ack_err *err);

#endif
