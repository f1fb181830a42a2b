/* http.c - HTTP listeners on libwebsockets (libuv event lib, foreign loop). One protocol
 * callback; bodies arrive in pieces and the handler runs at BODY_COMPLETION; answers are
 * written from HTTP_WRITEABLE, so a handler may answer later (after a store commit).
 *
 * A request has up to two references: its connection's (pss->req == r, r->wsi != NULL)
 * and its owner's (r->held, from http_req_hold to the owner's http_respond). It is freed
 * when both are gone. Every live request is on the server's list, so http_drain can answer
 * the held ones and http_close can free whatever is left. */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

struct listener {
	struct http_server *srv;
	struct http_listener_conf conf;
	char *name;
	size_t nheaders;
	struct lws_vhost *vh;
	struct listener *next;
};

struct http_server {
	uv_loop_t *loop;
	struct lws_context *ctx;
	struct listener *listeners;
	struct lws_protocols protocols[2];
	struct http_req *reqs;	/* every live request, newest first */
	int draining;		/* http_drain was called: holds are answered 503 at once */
};

struct http_req {
	struct listener *l;
	struct http_req *prev, *next;	/* on l->srv->reqs */
	struct lws *wsi;	/* NULL once the connection is gone or done with it */
	char method[8];
	char path[512];
	char **hdr;		/* values, parallel to l->conf.headers */
	size_t nhdr;
	char *body;
	size_t len, cap;
	int too_big;
	int held;		/* the owner still has it: its http_respond is due */
	int responded;		/* an answer is queued or written (the owner's or http_drain's) */
	int close_after;
	int status;
	char ctype[64];
	unsigned char *resp;	/* LWS_PRE bytes of headroom first */
	size_t resp_len;
	int64_t start_us;
	char peer[64];
};

struct pss {
	struct http_req *req;
};

int64_t
http_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
req_free(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->hdr != NULL)
		for (size_t i = 0; i < r->nhdr; i++)
			free(r->hdr[i]);
	free(r->hdr);
	free(r->body);
	free(r->resp);
	free(r);
}

static void
req_link(struct http_server *s, struct http_req *r)
{
	r->prev = NULL;
	r->next = s->reqs;
	if (s->reqs != NULL)
		s->reqs->prev = r;
	s->reqs = r;
}

static void
req_unlink(struct http_server *s, struct http_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (s->reqs == r)
		s->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* Frees r once neither its connection nor its owner refers to it. Returns 1 if freed. */
static int
req_release(struct http_req *r)
{
	if (r->wsi != NULL || r->held)
		return 0;
	req_unlink(r->l->srv, r);
	req_free(r);
	return 1;
}

/* The connection lets go of r (closed, protocol dropped, answer written, or shutdown). */
static void
req_detach(struct http_req *r)
{
	if (r->wsi != NULL) {
		struct pss *pss = lws_wsi_user(r->wsi);
		if (pss != NULL && pss->req == r)
			pss->req = NULL;
		r->wsi = NULL;
	}
}

/* Copies the answer and asks lws for a WRITEABLE callback. */
static void
queue_answer(struct http_req *r, int status, const char *content_type, const char *body,
    size_t len)
{
	r->responded = 1;
	if (r->wsi == NULL)	/* nobody to answer */
		return;
	r->status = status;
	snprintf(r->ctype, sizeof(r->ctype), "%s", content_type);
	free(r->resp);
	r->resp = malloc(LWS_PRE + len + 1);
	if (r->resp != NULL) {
		memcpy(r->resp + LWS_PRE, body, len);
		r->resp_len = len;
	} else {
		r->status = 500;
		r->resp_len = 0;
		r->close_after = 1;
	}
	lws_callback_on_writable(r->wsi);
}

#define DRAIN_BODY "{\"error\":\"shutting down, retry later\"}\n"

/* The server answers a held request itself; its owner's http_respond will only release it. */
static void
answer_draining(struct http_req *r)
{
	r->close_after = 1;	/* no keep-alive with a server that is going away */
	queue_answer(r, 503, "application/json", DRAIN_BODY, sizeof(DRAIN_BODY) - 1);
}

const char *http_req_method(const struct http_req *r) { return r->method; }
const char *http_req_path(const struct http_req *r) { return r->path; }
const char *http_req_listener(const struct http_req *r) { return r->l->name; }
const char *http_req_peer(const struct http_req *r) { return r->peer; }
int64_t http_req_start_us(const struct http_req *r) { return r->start_us; }

const char *
http_req_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->l->nheaders; i++)
		if (strcmp(r->l->conf.headers[i], name) == 0)
			return r->hdr[i];
	return NULL;
}

const char *
http_req_body(const struct http_req *r, size_t *len)
{
	*len = r->len;
	return r->body ? r->body : "";
}

void
http_req_hold(struct http_req *r)
{
	r->held = 1;
	if (r->l->srv->draining && !r->responded)
		answer_draining(r);
}

void
http_respond(struct http_req *r, int status, const char *content_type, const char *body,
    size_t len)
{
	int answered = r->responded;

	r->held = 0;		/* the owner is done with r */
	if (!answered)
		queue_answer(r, status, content_type, body, len);
	/* else: answered already (503 by http_drain): this answer is dropped, r released */
	req_release(r);		/* frees r if the client went away while we worked */
}

static int
copy_hdr(struct lws *wsi, const char *name, char **out)
{
	char lname[80];
	int n, len;

	*out = NULL;
	n = snprintf(lname, sizeof(lname), "%s:", name);
	if (n <= 0 || (size_t)n >= sizeof(lname))
		return 0;
	len = lws_hdr_custom_length(wsi, lname, n);
	if (len < 0)
		return 0;
	*out = malloc((size_t)len + 1);
	if (*out == NULL)
		return -1;
	if (lws_hdr_custom_copy(wsi, *out, len + 1, lname, n) < 0)
		(*out)[0] = '\0';
	return 0;
}

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
	{ WSI_TOKEN_GET_URI, "GET" },
	{ WSI_TOKEN_POST_URI, "POST" },
	{ WSI_TOKEN_PUT_URI, "PUT" },
	{ WSI_TOKEN_PATCH_URI, "PATCH" },
	{ WSI_TOKEN_DELETE_URI, "DELETE" },
	{ WSI_TOKEN_OPTIONS_URI, "OPTIONS" },
	{ WSI_TOKEN_HEAD_URI, "HEAD" },
};

static struct http_req *
req_new(struct lws *wsi, struct listener *l, const char *uri)
{
	struct http_req *r = calloc(1, sizeof(*r));
	char cl[32];

	if (r == NULL)
		return NULL;
	r->l = l;
	r->wsi = wsi;
	r->start_us = http_now_us();
	r->hdr = calloc(l->nheaders ? l->nheaders : 1, sizeof(char *));
	if (r->hdr == NULL) {
		free(r);
		return NULL;
	}
	r->nhdr = l->nheaders;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
			snprintf(r->method, sizeof(r->method), "%s", methods[i].name);
			break;
		}
	snprintf(r->path, sizeof(r->path), "%s", uri ? uri : "/");
	for (size_t i = 0; i < l->nheaders; i++)
		if (copy_hdr(wsi, l->conf.headers[i], &r->hdr[i]) != 0) {
			req_free(r);
			return NULL;
		}
	lws_get_peer_simple(wsi, r->peer, sizeof(r->peer));
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    strtoull(cl, NULL, 10) > l->conf.body_limit)
		r->too_big = 1;
	req_link(l->srv, r);
	return r;
}

static int
has_body(struct lws *wsi)
{
	char v[32];

	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		return strtoull(v, NULL, 10) > 0;
	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		return 1;
	return 0;
}

static void
respond_json_error(struct http_req *r, int status, const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"error\":\"%s\"}\n", msg);

	http_respond(r, status, "application/json", buf, (size_t)n);
}

static void
dispatch(struct http_req *r)
{
	if (r->too_big) {
		metrics_inc(M_WEBHOOK_REJECTED, "413");
		log_warn("http", "rejected", "listener=%s status=413 reason=body_too_large peer=%s",
		    r->l->name, r->peer);
		r->close_after = 1;
		respond_json_error(r, 413, "body too large");
		return;
	}
	r->l->conf.handler(r, r->l->conf.arg);
}

static int
write_answer(struct lws *wsi, struct http_req *r)
{
	unsigned char hbuf[LWS_PRE + 1024], *start = hbuf + LWS_PRE, *p = start,
	    *end = hbuf + sizeof(hbuf) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned int)r->status, r->ctype,
	    (lws_filepos_t)r->resp_len, &p, end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
	    (const unsigned char *)"no-store", 8, &p, end))
		return -1;
	if (r->close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
	    (const unsigned char *)"close", 5, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (r->resp_len > 0 && r->resp != NULL &&
	    lws_write(wsi, r->resp + LWS_PRE, r->resp_len, LWS_WRITE_HTTP_FINAL) < (int)r->resp_len)
		return -1;
	return 0;
}

static int
callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = user;
	struct lws_vhost *vh = lws_get_vhost(wsi);
	struct listener *l = vh ? lws_vhost_user(vh) : NULL;
	struct http_req *r;

	if (pss == NULL && (reason == LWS_CALLBACK_HTTP || reason == LWS_CALLBACK_HTTP_BODY ||
	    reason == LWS_CALLBACK_HTTP_BODY_COMPLETION || reason == LWS_CALLBACK_HTTP_WRITEABLE))
		return -1;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (l == NULL)
			return -1;
		if (pss->req != NULL) {		/* a pipelined request before we answered */
			r = pss->req;
			req_detach(r);
			req_release(r);
		}
		r = req_new(wsi, l, in);
		if (r == NULL)
			return -1;
		pss->req = r;
		if (r->too_big || !has_body(wsi))
			dispatch(r);
		return 0;

	case LWS_CALLBACK_HTTP_BODY:
		r = pss->req;
		if (r == NULL)
			return -1;
		if (r->too_big)
			return 0;
		if (r->len + len > l->conf.body_limit) {
			r->too_big = 1;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			dispatch(r);	/* 413 now; the rest of the body is not read */
			return 0;
		}
		if (r->len + len + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			char *b;
			while (cap < r->len + len + 1)
				cap *= 2;
			b = realloc(r->body, cap);
			if (b == NULL)
				return -1;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, in, len);
		r->len += len;
		r->body[r->len] = '\0';
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		r = pss->req;
		if (r == NULL)
			return -1;
		if (!r->responded)
			dispatch(r);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE:
		r = pss->req;
		if (r == NULL || !r->responded)
			return 0;
		{
			int close_after = r->close_after;
			int rc = write_answer(wsi, r);
			req_detach(r);		/* written: the connection is done with r */
			free(r->resp);
			r->resp = NULL;
			r->resp_len = 0;
			req_release(r);		/* unless its owner still holds it (http_drain) */
			if (rc != 0 || close_after)
				return -1;
		}
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;

	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* Either can come first on a close; DROP_PROTOCOL also comes when lws rebinds
		 * the connection for its next request and frees pss: the request must not keep
		 * pointing at it. A request its owner holds stays until its http_respond. */
		if (pss != NULL && pss->req != NULL) {	/* NULL: closed before its headers were complete */
			r = pss->req;
			req_detach(r);
			req_release(r);
		}
		if (reason == LWS_CALLBACK_CLOSED_HTTP)
			return 0;
		break;

	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static void
lws_log_emit(int level, const char *line)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		log_error("lws", "lws_error", "msg=%s", log_q(buf));
	else
		log_warn("lws", "lws_warning", "msg=%s", log_q(buf));
}

int
http_open(struct http_server **out, uv_loop_t *loop, struct ack_err *err)
{
	struct lws_context_creation_info info;
	struct http_server *s;
	void *foreign[1] = { loop };

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	s->loop = loop;
	s->protocols[0].name = "http";
	s->protocols[0].callback = callback_http;
	s->protocols[0].per_session_data_size = sizeof(struct pss);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBUV |
	    LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = foreign;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = s->protocols;
	info.timeout_secs = 20;
	/* one read takes up to 64 KiB: a burst of stream frames or webhooks is one batch (one
	 * group commit) instead of a commit per 4 KiB */
	info.pt_serv_buf_size = 65536;
	s->ctx = lws_create_context(&info);
	if (s->ctx == NULL) {
		free(s);
		return ack_fail(err, ACK_EIO,
		    "cannot create the libwebsockets context (is libwebsockets-evlib-uv installed?)");
	}
	*out = s;
	return 0;
}

/* The process listening on TCP port (from /proc/net/tcp{,6} and the /proc/PID/fd links
 * this user may read): "pid 123, nginx" into out, or "" when it cannot be seen. */
static void
port_owner(int port, char *out, size_t size)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned long inode = 0;
	char line[512], want[16], link[64], path[600];

	out[0] = '\0';
	snprintf(want, sizeof(want), ":%04X", port);
	for (int t = 0; t < 2 && inode == 0; t++) {
		FILE *f = fopen(tables[t], "r");
		if (f == NULL)
			continue;
		while (inode == 0 && fgets(line, sizeof(line), f)) {
			char local[64], remote[64], st[8];
			unsigned long ino;
			if (sscanf(line, " %*d: %63s %63s %7s %*s %*s %*s %*s %*s %lu", local, remote, st,
			    &ino) == 4 && strcmp(st, "0A") == 0 && strlen(local) > 5 &&
			    strcmp(local + strlen(local) - 5, want) == 0)
				inode = ino;
		}
		fclose(f);
	}
	if (inode == 0)
		return;
	snprintf(link, sizeof(link), "socket:[%lu]", inode);
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	while (proc != NULL && out[0] == '\0' && (pe = readdir(proc)) != NULL) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.255s/fd", pe->d_name);
		DIR *fds = opendir(path);
		struct dirent *fe;
		while (fds != NULL && out[0] == '\0' && (fe = readdir(fds)) != NULL) {
			char target[64];
			snprintf(path, sizeof(path), "/proc/%.255s/fd/%.255s", pe->d_name, fe->d_name);
			ssize_t n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, link) == 0) {
				char comm[64] = "?";
				snprintf(path, sizeof(path), "/proc/%.255s/comm", pe->d_name);
				FILE *cf = fopen(path, "r");
				if (cf != NULL) {
					if (fgets(comm, sizeof(comm), cf) != NULL)
						comm[strcspn(comm, "\n")] = '\0';
					fclose(cf);
				}
				snprintf(out, size, "pid %.20s, %.60s", pe->d_name, comm);
			}
		}
		if (fds != NULL)
			closedir(fds);
	}
	if (proc != NULL)
		closedir(proc);
}

/* Binds host:port as the listener would, to say in words why it cannot (before
 * libwebsockets tries and logs its own "ERROR on binding"): 0 when it can. */
static int
probe_bind(const struct http_listener_conf *c, struct ack_err *err)
{
	struct addrinfo hints, *ai = NULL;
	char port[16], owner[128];
	int fd, e = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = c->host && strchr(c->host, ':') ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", c->port);
	if ((e = getaddrinfo(c->host, port, &hints, &ai)) != 0)
		return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s: %s (hint: use an "
		    "address of this machine, e.g. 127.0.0.1)", c->host ? c->host : "*", c->port,
		    c->name, gai_strerror(e));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
			e = errno;
		close(fd);
	}
	freeaddrinfo(ai);
	if (fd < 0 || e == 0)
		return 0;
	if (e == EADDRINUSE) {
		port_owner(c->port, owner, sizeof(owner));
		return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s: the address is in use "
		    "by another process (%s) (hint: stop it, or give %s another port)",
		    c->host ? c->host : "*", c->port, c->name, owner[0] ? owner : "not one this "
		    "user can see", c->name);
	}
	if (e == EACCES)
		return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s: permission denied "
		    "(hint: ports below 1024 need root or CAP_NET_BIND_SERVICE; use a port above 1023 "
		    "behind a proxy)", c->host ? c->host : "*", c->port, c->name);
	if (e == EADDRNOTAVAIL)
		return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s: %s is not an address "
		    "of this machine (hint: 127.0.0.1, or 0.0.0.0 for every interface)",
		    c->host ? c->host : "*", c->port, c->name, c->host ? c->host : "*");
	return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s: %s", c->host ? c->host : "*",
	    c->port, c->name, strerror(e));
}

int
http_listen(struct http_server *s, const struct http_listener_conf *c, struct ack_err *err)
{
	struct lws_context_creation_info info;
	struct listener *l;

	int rc;

	if ((rc = probe_bind(c, err)) != 0)
		return rc;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	l->srv = s;
	l->conf = *c;
	l->name = strdup(c->name);
	if (l->name == NULL) {
		free(l);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	l->conf.name = l->name;
	while (c->headers != NULL && c->headers[l->nheaders] != NULL)
		l->nheaders++;
	memset(&info, 0, sizeof(info));
	info.vhost_name = l->name;
	info.port = c->port;
	info.iface = c->host;
	info.protocols = s->protocols;
	info.user = l;
	info.options = LWS_SERVER_OPTION_LIBUV;
	/* An IPv4 address binds an IPv4 socket to exactly that address: with IPv6 on, lws
	 * would listen on every interface. */
	if (c->host != NULL && strchr(c->host, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.keepalive_timeout = 30;
	l->vh = lws_create_vhost(s->ctx, &info);
	if (l->vh == NULL) {
		free(l->name);
		free(l);
		return ack_fail(err, ACK_EIO, "cannot listen on %s:%d for %s (address in use?)",
		    c->host, c->port, c->name);
	}
	l->next = s->listeners;
	s->listeners = l;
	return 0;
}

struct lws_context *
http_lws_context(struct http_server *s)
{
	return s->ctx;
}

void
http_drain(struct http_server *s)
{
	size_t n = 0;

	if (s == NULL)
		return;
	s->draining = 1;
	for (struct http_req *r = s->reqs, *next; r != NULL; r = next) {
		next = r->next;
		if (r->held && !r->responded) {
			if (r->wsi != NULL)
				n++;
			answer_draining(r);
		}
	}
	if (n > 0)
		log_warn("http", "drain", "answered_503=%zu", n);
}

int
http_pending(const struct http_server *s)
{
	int n = 0;

	if (s == NULL)
		return 0;
	for (const struct http_req *r = s->reqs; r != NULL; r = r->next)
		if (r->wsi != NULL && (r->held || r->responded))
			n++;	/* an answer to wait for, or one queued and not yet written */
	return n;
}

void
http_close(struct http_server *s)
{
	size_t lost = 0;

	if (s == NULL)
		return;
	http_drain(s);
	/* Best effort for what the loop did not get to write: write it now, outside
	 * HTTP_WRITEABLE (what a full socket does not take is lost with the context). Then no
	 * connection refers to a request any more, whatever lws calls back during or after its
	 * destruction (CLOSED_HTTP, HTTP_DROP_PROTOCOL find pss->req NULL). */
	for (struct http_req *r = s->reqs; r != NULL; r = r->next) {
		if (r->wsi != NULL && r->responded && write_answer(r->wsi, r) != 0)
			lost++;
		req_detach(r);
	}
	if (lost > 0)
		log_warn("http", "answers_lost", "n=%zu", lost);
	lws_context_destroy(s->ctx);
	/* what is left: held requests whose owner never answered, requests mid-body */
	while (s->reqs != NULL) {
		struct http_req *r = s->reqs;
		req_unlink(s, r);
		req_free(r);
	}
	while (s->listeners != NULL) {
		struct listener *l = s->listeners;
		s->listeners = l->next;
		free(l->name);
		free(l);
	}
	free(s);
}
