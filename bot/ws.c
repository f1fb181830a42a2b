/* ws.c - websocket client connections over libwebsockets' client role. */
#include "ws.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct ws_conn {
	struct ws_conf conf;
	char *url, *auth, *host, *path;
	int port, tls;
	struct lws *wsi;
	lws_retry_bo_t retry;
	char *buf;
	size_t len, cap;
	int closed_by_owner;
	int notified;
	int status;
	int in_connect;		/* inside lws_client_connect_via_info: ws_connect frees */
	int gone;		/* lws is done with it */
};

static struct lws_vhost *client_vh;	/* one client vhost per process, on the shared context */

static void
conn_free(struct ws_conn *c)
{
	free(c->url);
	free(c->auth);
	free(c->buf);
	free(c);
}

static void
notify_close(struct ws_conn *c, int status, const char *why)
{
	if (c->notified || c->closed_by_owner)
		return;
	c->notified = 1;
	c->conf.on_close(c->conf.arg, status, why);
}

static int
callback_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct ws_conn *c = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (c != NULL && c->auth != NULL) {
			unsigned char **p = in, *end = (*p) + len;
			if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
			    (const unsigned char *)c->auth, (int)strlen(c->auth), p, end))
				return -1;
		}
		break;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (c != NULL)
			c->status = (int)lws_http_client_http_response(wsi);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c != NULL && !c->closed_by_owner)
			c->conf.on_open(c->conf.arg);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c == NULL || c->closed_by_owner)
			return -1;
		if (c->len + len + 1 > c->conf.max_message)
			return -1;
		if (c->len + len + 1 > c->cap) {
			size_t cap = (c->len + len + 1) * 2;
			char *b = realloc(c->buf, cap);
			if (b == NULL)
				return -1;
			c->buf = b;
			c->cap = cap;
		}
		memcpy(c->buf + c->len, in, len);
		c->len += len;
		c->buf[c->len] = '\0';
		if (lws_is_final_fragment(wsi)) {
			size_t n = c->len;
			c->len = 0;
			c->conf.on_message(c->conf.arg, c->buf, n);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c != NULL && len >= 2)
			c->status = (((unsigned char *)in)[0] << 8) | ((unsigned char *)in)[1];
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c == NULL)
			break;
		lws_set_opaque_user_data(wsi, NULL);
		c->wsi = NULL;
		c->gone = 1;
		if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR && c->status == 0)
			c->status = (int)lws_http_client_http_response(wsi);
		if (c->in_connect)
			break;		/* ws_connect reports it and frees */
		notify_close(c, c->status, reason == LWS_CALLBACK_CLIENT_CLOSED ? "closed" :
		    (in ? (const char *)in : "connection error"));
		conn_free(c);	/* after on_close the owner has forgotten it */
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols ws_protocols[] = {
	{ "ackbot-ws-client", callback_ws, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int
parse_url(struct ws_conn *c)
{
	char *u = c->url, *p, *slash, *colon;

	if (strncmp(u, "wss://", 6) == 0) {
		c->tls = 1;
		p = u + 6;
		c->port = 443;
	} else if (strncmp(u, "ws://", 5) == 0) {
		p = u + 5;
		c->port = 80;
	} else if (strncmp(u, "https://", 8) == 0) {
		c->tls = 1;
		p = u + 8;
		c->port = 443;
	} else if (strncmp(u, "http://", 7) == 0) {
		p = u + 7;
		c->port = 80;
	} else {
		return -1;
	}
	slash = strchr(p, '/');
	c->path = slash ? slash : (char *)"/";
	if (slash != NULL) {
		/* keep the path in the buffer: move it one byte right to end the host */
		memmove(slash + 1, slash, strlen(slash) + 1);
		*slash = '\0';
		c->path = slash + 1;
	}
	c->host = p;
	colon = strrchr(p, ':');
	if (colon != NULL && colon[1] != '\0' && strchr(colon, ']') == NULL) {
		*colon = '\0';
		c->port = atoi(colon + 1);
	}
	return *c->host ? 0 : -1;
}

int
ws_connect(struct ws_conn **out, struct http_server *srv, const struct ws_conf *conf,
    struct ack_err *err)
{
	struct lws_client_connect_info i;
	struct ws_conn *c;
	size_t ul;

	*out = NULL;
	if (client_vh == NULL) {
		struct lws_context_creation_info vi;
		memset(&vi, 0, sizeof(vi));
		vi.port = CONTEXT_PORT_NO_LISTEN;
		vi.protocols = ws_protocols;
		vi.vhost_name = "ackbot-ws-client";
		vi.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		client_vh = lws_create_vhost(http_lws_context(srv), &vi);
		if (client_vh == NULL)
			return ack_fail(err, ACK_EIO, "cannot create the websocket client vhost");
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	c->conf = *conf;
	ul = strlen(conf->url);
	c->url = malloc(ul + 2);
	c->auth = conf->auth ? strdup(conf->auth) : NULL;
	if (c->url == NULL || (conf->auth && c->auth == NULL)) {
		conn_free(c);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	memcpy(c->url, conf->url, ul + 1);
	if (parse_url(c) != 0) {
		conn_free(c);
		return ack_fail(err, ACK_EINVAL, "not a websocket URL: %s", conf->url);
	}
	if (c->conf.max_message == 0)
		c->conf.max_message = 1 << 20;
	if (conf->ping_s > 0) {
		c->retry.secs_since_valid_ping = (uint16_t)conf->ping_s;
		c->retry.secs_since_valid_hangup = (uint16_t)(conf->ping_s * 2 + 5);
	}
	memset(&i, 0, sizeof(i));
	i.context = http_lws_context(srv);
	i.vhost = client_vh;
	i.address = c->host;
	i.port = c->port;
	i.path = c->path;
	i.host = c->host;
	i.origin = c->host;
	i.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
	i.local_protocol_name = "ackbot-ws-client";
	i.opaque_user_data = c;
	i.retry_and_idle_policy = conf->ping_s > 0 ? &c->retry : NULL;
	i.pwsi = &c->wsi;
	c->in_connect = 1;
	if (lws_client_connect_via_info(&i) == NULL || c->gone) {
		c->in_connect = 0;
		conn_free(c);
		return ack_fail(err, ACK_ETEMP, "cannot connect to %s", conf->url);
	}
	c->in_connect = 0;
	*out = c;
	return 0;
}

void
ws_close(struct ws_conn *c)
{
	if (c == NULL)
		return;
	c->closed_by_owner = 1;
	if (c->wsi == NULL) {
		conn_free(c);
		return;
	}
	/* lws calls back CLIENT_CLOSED (or CONNECTION_ERROR), which frees it */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}
