/* http.h - the HTTP listeners (webhook sources, the admin endpoint): one libwebsockets
 * context on the libuv loop, one vhost per listener, one handler per listener. A handler
 * gets the whole request (headers it asked for, body up to its cap) and answers at once
 * or later (after a commit) with http_respond(). */
#ifndef ACKBOT_HTTP_H
#define ACKBOT_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "err.h"

struct http_server;
struct http_req;

/* Called once per request when the body is complete (or at once for bodiless methods).
 * The handler either calls http_respond() before returning, or http_req_hold() and
 * http_respond() later from the loop. */
typedef void http_handler_fn(struct http_req *req, void *arg);

struct http_listener_conf {
	const char *name;		/* vhost name, unique; also in logs */
	const char *host;		/* interface address: "127.0.0.1", "0.0.0.0", "::1" */
	int         port;
	size_t      body_limit;		/* bigger bodies get 413 without reaching the handler */
	const char *const *headers;	/* lower-case header names to keep (NULL-terminated) */
	http_handler_fn *handler;
	void       *arg;
};

int  http_open(struct http_server **out, uv_loop_t *loop, struct ack_err *err);
int  http_listen(struct http_server *s, const struct http_listener_conf *c, struct ack_err *err);
/* Destroys the lws context; requests still held are answered 503 and freed first. */
void http_close(struct http_server *s);	/* NULL-safe */

const char *http_req_method(const struct http_req *r);	/* "GET", "POST", ... */
const char *http_req_path(const struct http_req *r);	/* without the query string */
/* Value of a header named in the listener's list, or NULL if absent. Borrowed. */
const char *http_req_header(const struct http_req *r, const char *name);
const char *http_req_body(const struct http_req *r, size_t *len);	/* NUL-terminated */
const char *http_req_listener(const struct http_req *r);
const char *http_req_peer(const struct http_req *r);	/* peer address, for logs */
int64_t     http_req_start_us(const struct http_req *r);	/* monotonic, headers received */

/* The handler keeps req past its return; it must call http_respond() later. */
void http_req_hold(struct http_req *r);
/* Sends the answer (copied) and releases req. If the client went away meanwhile this
 * just frees req. Never call twice. */
void http_respond(struct http_req *r, int status, const char *content_type, const char *body,
    size_t len);

int64_t http_now_us(void);	/* CLOCK_MONOTONIC in microseconds */

/* The libwebsockets context, for websocket clients (ws.c) on the same loop. */
struct lws_context *http_lws_context(struct http_server *s);

#endif
