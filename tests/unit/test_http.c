/* test_http.c - the HTTP listener's promise at shutdown: a request still held when the
 * server closes is answered 503 (the platform retries), not dropped with the connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "unit.h"

static struct http_req *held;

static void
hold_it(struct http_req *req, void *arg)
{
	(void)arg;
	http_req_hold(req);
	held = req;
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

TEST(held_request_gets_503_on_close)
{
	static const char *const no_headers[] = { NULL };
	static const char req[] = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
	struct http_server *s = NULL;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd pfd;
	uv_loop_t loop;
	char buf[512] = "";
	ssize_t n = 0;
	int port = free_port(), fd;

	uv_loop_init(&loop);
	CHECK_INT(http_open(&s, &loop, NULL), 0);
	struct http_listener_conf lc = { "t", "127.0.0.1", port, 4096, no_headers, hold_it, NULL };
	CHECK_INT(http_listen(s, &lc, NULL), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((uint16_t)port);
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_INT(write(fd, req, sizeof(req) - 1), (long long)(sizeof(req) - 1));
	for (int i = 0; i < 2000 && held == NULL; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	CHECK(held != NULL);
	http_close(s);		/* the daemon's last step: the request's owner never answered */
	for (int i = 0; i < 100; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) == 1)
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK(strncmp(buf, "HTTP/1.1 503", 12) == 0);
}

int
main(void)
{
	RUN(held_request_gets_503_on_close);
	UNIT_DONE("test_http");
}
