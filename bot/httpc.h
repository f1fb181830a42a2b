/* httpc.h - outbound HTTP on the event loop: libcurl's multi interface driven by libuv
 * (curl's docs/examples/multi-uv.c). Nothing here blocks the loop. */
#ifndef ACKBOT_HTTPC_H
#define ACKBOT_HTTPC_H

#include <stddef.h>
#include <uv.h>

#include "err.h"

struct httpc;

struct httpc_result {
	int         curl_code;	/* CURLE_OK when an HTTP answer arrived */
	long        status;	/* HTTP status, 0 if none */
	const char *body;	/* answer body (borrowed, NUL-terminated), may be "" */
	size_t      body_len;
	const char *retry_after;	/* Retry-After header value, or NULL */
	const char *ratelimit_reset;	/* X-RateLimit-Reset header value, or NULL */
	const char *link;		/* Link header value (pagination), or NULL */
	const char *error;	/* curl's error text when curl_code != 0 */
};

typedef void httpc_done_fn(void *arg, const struct httpc_result *res);

struct httpc_header {
	const char *name;
	const char *value;
};

int  httpc_open(struct httpc **out, uv_loop_t *loop, struct ack_err *err);
/* Stops every transfer (their callbacks are not called) and frees. NULL-safe. */
void httpc_close(struct httpc *h);

/* Starts a POST of body (copied) to url with the headers (copied); done is called once,
 * on the loop, when it ends. timeout_ms bounds the whole transfer. Returns 0 or an error
 * (done is then not called). */
int httpc_post(struct httpc *h, const char *url, const struct httpc_header *hdrs, size_t nhdrs,
    const char *body, size_t len, long timeout_ms, httpc_done_fn *done, void *arg,
    struct ack_err *err);

/* The same for any method ("GET", "POST", ...); body may be NULL for none. */
int httpc_request(struct httpc *h, const char *method, const char *url,
    const struct httpc_header *hdrs, size_t nhdrs, const char *body, size_t len,
    long timeout_ms, httpc_done_fn *done, void *arg, struct ack_err *err);

/* Number of transfers in flight. */
size_t httpc_in_flight(const struct httpc *h);

#endif
