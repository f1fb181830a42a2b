/* httpc.c - libcurl multi + libuv glue: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION). */
#include "httpc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTPC_MAX_BODY (16u << 20)	/* a page of 80 notifications is ~150 KB */

struct httpc {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	size_t in_flight;
	struct xfer *xfers;	/* every transfer in flight, for httpc_close */
};

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct httpc *h;
};

struct xfer {
	struct httpc *h;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	char *retry_after;
	char *ratelimit_reset;
	char *link;
	char errbuf[CURL_ERROR_SIZE];
	httpc_done_fn *done;
	void *arg;
	struct xfer *prev, *next;
};

static void
xfer_unlink(struct xfer *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else if (x->h->xfers == x)
		x->h->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void
xfer_free(struct xfer *x)
{
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x->resp);
	free(x->retry_after);
	free(x->ratelimit_reset);
	free(x->link);
	free(x);
}

static void
check_done(struct httpc *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct xfer *x = NULL;
		struct httpc_result r;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		memset(&r, 0, sizeof(r));
		r.curl_code = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r.status);
		r.body = x->resp ? x->resp : "";
		r.body_len = x->resp_len;
		r.retry_after = x->retry_after;
		r.ratelimit_reset = x->ratelimit_reset;
		r.link = x->link;
		r.error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(msg->data.result);
		curl_multi_remove_handle(h->multi, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		xfer_unlink(x);
		h->in_flight--;
		x->done(x->arg, &r);
		xfer_free(x);
	}
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct sock_ctx *s = p->data;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->h->multi, s->fd, flags, &running);
	check_done(s->h);
}

static void
on_timeout(uv_timer_t *t)
{
	struct httpc *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httpc *h = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timeout, (uint64_t)(timeout_ms == 0 ? 1 : timeout_ms), 0);
	return 0;
}

static void
sock_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
	struct httpc *h = userp;
	struct sock_ctx *s = socketp;
	int events = 0;

	if (action == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->fd = fd;
		s->h = h;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		curl_multi_assign(h->multi, fd, s);
	}
	if (action != CURL_POLL_OUT)
		events |= UV_READABLE;
	if (action != CURL_POLL_IN)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	if (x->resp_len + n + 1 > HTTPC_MAX_BODY)
		return 0;	/* a bigger answer fails the transfer (CURLE_WRITE_ERROR) */
	if (x->resp_len + n + 1 > x->resp_cap) {
		size_t cap = (x->resp_len + n + 1) * 2;
		char *r = realloc(x->resp, cap);
		if (r == NULL)
			return 0;
		x->resp = r;
		x->resp_cap = cap;
	}
	memcpy(x->resp + x->resp_len, ptr, n);
	x->resp_len += n;
	x->resp[x->resp_len] = '\0';
	return n;
}

/* Keeps the value of header `name` (lower case, with ':') when buf is that header. */
static void
keep_header(const char *buf, size_t n, const char *name, char **slot)
{
	size_t nl = strlen(name);
	const char *v;
	size_t len;

	if (n <= nl || strncasecmp(buf, name, nl) != 0)
		return;
	v = buf + nl;
	len = n - nl;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	free(*slot);
	*slot = strndup(v, len);
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nitems;

	keep_header(buf, n, "retry-after:", &x->retry_after);
	keep_header(buf, n, "x-ratelimit-reset:", &x->ratelimit_reset);
	keep_header(buf, n, "link:", &x->link);
	return n;
}

int
httpc_open(struct httpc **out, uv_loop_t *loop, struct ack_err *err)
{
	struct httpc *h;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ack_fail(err, ACK_EIO, "curl_global_init failed");
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	h->loop = loop;
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		free(h);
		return ack_fail(err, ACK_ENOMEM, "curl_multi_init failed");
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	*out = h;
	return 0;
}

static void
timer_closed(uv_handle_t *hd)
{
	free(hd->data);
}

void
httpc_close(struct httpc *h)
{
	if (h == NULL)
		return;
	while (h->xfers != NULL) {
		struct xfer *x = h->xfers;
		xfer_unlink(x);
		curl_multi_remove_handle(h->multi, x->easy);	/* closes its sockets via socket_cb */
		curl_easy_cleanup(x->easy);
		xfer_free(x);
	}
	curl_multi_cleanup(h->multi);
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, timer_closed);
	curl_global_cleanup();
}

size_t
httpc_in_flight(const struct httpc *h)
{
	return h->in_flight;
}

int
httpc_post(struct httpc *h, const char *url, const struct httpc_header *hdrs, size_t nhdrs,
    const char *body, size_t len, long timeout_ms, httpc_done_fn *done, void *arg,
    struct ack_err *err)
{
	return httpc_request(h, "POST", url, hdrs, nhdrs, body, len, timeout_ms, done, arg, err);
}

int
httpc_request(struct httpc *h, const char *method, const char *url,
    const struct httpc_header *hdrs, size_t nhdrs, const char *body, size_t len,
    long timeout_ms, httpc_done_fn *done, void *arg, struct ack_err *err)
{
	struct xfer *x;
	CURL *e;

	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	x->h = h;
	x->done = done;
	x->arg = arg;
	x->body = malloc(len + 1);
	if (x->body == NULL)
		goto oom;
	if (len > 0)
		memcpy(x->body, body, len);
	x->body[len] = '\0';
	for (size_t i = 0; i < nhdrs; i++) {
		char line[1024];
		struct curl_slist *l;
		snprintf(line, sizeof(line), "%s: %s", hdrs[i].name, hdrs[i].value);
		l = curl_slist_append(x->hdrs, line);
		if (l == NULL)
			goto oom;
		x->hdrs = l;
	}
	{
		struct curl_slist *l = curl_slist_append(x->hdrs, "Expect:");	/* no 100-continue wait */
		if (l == NULL)
			goto oom;
		x->hdrs = l;
	}
	e = curl_easy_init();
	if (e == NULL)
		goto oom;
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 8192L);	/* answers are small; 64 run at once */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ackbot/0.1");
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		xfer_free(x);
		return ack_fail(err, ACK_EIO, "curl_multi_add_handle failed");
	}
	h->in_flight++;
	x->next = h->xfers;
	if (h->xfers != NULL)
		h->xfers->prev = x;
	h->xfers = x;
	return 0;
oom:
	xfer_free(x);
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}
