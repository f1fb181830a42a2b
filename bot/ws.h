/* ws.h - a websocket client on the daemon's libwebsockets context (and so on its loop):
 * connect, extra handshake headers (kept out of the URL), whole text messages, pings with
 * a hang-up when the peer goes silent. One connection per struct ws_conn; the owner
 * reconnects after on_close. */
#ifndef ACKBOT_WS_H
#define ACKBOT_WS_H

#include <stddef.h>

#include "err.h"

struct http_server;
struct ws_conn;

struct ws_conf {
	const char *url;		/* ws://host[:port]/path?query or wss://... */
	const char *auth;		/* Authorization header value, or NULL */
	int ping_s;			/* ping after this much silence; hang up after 2x + 5 s */
	size_t max_message;		/* larger messages close the connection */
	void (*on_open)(void *arg);
	void (*on_message)(void *arg, const char *data, size_t len);
	/* The connection ended (or never opened): status is the HTTP status of a refused
	 * upgrade, the close code, or 0; why is a short text for logs. Called once; the
	 * connection is freed right after, so the owner forgets its pointer here. */
	void (*on_close)(void *arg, int status, const char *why);
	void *arg;
};

/* Starts connecting; the callbacks run on the loop. An error here (nothing started, no
 * callback will run) is ACK_ETEMP: try again later. */
int  ws_connect(struct ws_conn **out, struct http_server *srv, const struct ws_conf *c,
    struct ack_err *err);
/* Drops the connection; no callback runs after this. NULL-safe. */
void ws_close(struct ws_conn *c);

#endif
