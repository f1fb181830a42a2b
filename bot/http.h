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
/* Shutdown, step 1: every request held and not answered yet is answered now with 503
 * {"error":"shutting down, retry later"} (application/json, Connection: close), and from
 * now on a request is answered so the moment it is held (http_req_hold). Its owner still
 * calls http_respond() once, as always: that answer is dropped and the call only releases
 * the request. New requests still reach their handlers (which answer 503 themselves).
 * NULL-safe, may be called more than once. */
void http_drain(struct http_server *s);
/* Requests with an answer still to wait for or to write: held and not answered, or
 * answered and not yet handed to the socket. Shutdown, step 2: run the loop until this is
 * 0 (with a time bound), then http_close(). NULL-safe. */
int  http_pending(const struct http_server *s);
/* Shutdown, step 3: destroys the lws context; requests still held are answered 503 and
 * freed first (http_drain(), then answers not yet written are written at once, best
 * effort: without the loop to wait for the socket, what it does not take is lost). Every
 * request is freed, including held ones whose owner has not called http_respond(): after
 * http_close no http_req_* function or http_respond() may be called on any request. */
void http_close(struct http_server *s);	/* NULL-safe */

const char *http_req_method(const struct http_req *r);	/* "GET", "POST", ... */
const char *http_req_path(const struct http_req *r);	/* without the query string */
/* Value of a header named in the listener's list, or NULL if absent. Borrowed. */
const char *http_req_header(const struct http_req *r, const char *name);
const char *http_req_body(const struct http_req *r, size_t *len);	/* NUL-terminated */
const char *http_req_listener(const struct http_req *r);
const char *http_req_peer(const struct http_req *r);	/* peer address, for logs */
int64_t     http_req_start_us(const struct http_req *r);	/* monotonic, headers received */

/* The handler keeps req past its return; it must call http_respond() later (exactly once,
 * before http_close). After http_drain() the server answers it 503 at once; the owner's
 * http_respond() is still due and only releases it. */
void http_req_hold(struct http_req *r);
/* Sends the answer (copied) and releases req: the caller must not touch req afterwards.
 * If the client went away meanwhile, or the request was answered already (503 by
 * http_drain), the answer is dropped and req just released: one answer is written per
 * request, never two. Call it once per request: a held request stays valid until then,
 * an unheld one only until the handler returns. */
void http_respond(struct http_req *r, int status, const char *content_type, const char *body,
    size_t len);

int64_t http_now_us(void);	/* CLOCK_MONOTONIC in microseconds */

/* The libwebsockets context, for websocket clients (ws.c) on the same loop. */
struct lws_context *http_lws_context(struct http_server *s);

#endif
