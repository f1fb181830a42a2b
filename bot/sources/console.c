/* console.c - a line-oriented console on stdin, like Hubot's shell adapter: each line is
 * a mention from a local user; replies and tickets are printed. End of input closes the
 * console only; the daemon keeps serving its other sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "inbox.h"
#include "log.h"
#include "source.h"
#include "text.h"

#define CONSOLE_LINE_MAX 8192

struct console {
	struct source base;
	char *user;		/* the local user's handle */
	int force;		/* enabled: true (not auto) */
	int is_tty;
	union {
		uv_tty_t tty;
		uv_pipe_t pipe;
	} in;
	int open;
	int handle_live;	/* the uv handle is initialised and not yet closed */
	int free_on_close;	/* console_free came first: the close callback frees */
	char line[CONSOLE_LINE_MAX];
	size_t len;
	int overlong;
	unsigned long seq;
	long long boot;
};

static void
prompt(struct console *c)
{
	if (c->is_tty) {
		fputs("> ", stdout);
		fflush(stdout);
	}
}

static void
intake_done(void *arg, int result, const struct mention *m)
{
	if (result == INBOX_FAILED) {
		printf("! could not store that mention (see the log); please type it again\n");
		fflush(stdout);
	}
}

static void
submit(struct console *c)
{
	struct mention m;
	char id[64];
	size_t n = c->len;

	while (n > 0 && (c->line[n - 1] == '\r' || c->line[n - 1] == ' ' || c->line[n - 1] == '\t'))
		n--;
	c->line[n] = '\0';
	if (n == 0) {
		prompt(c);
		return;
	}
	memset(&m, 0, sizeof(m));
	snprintf(id, sizeof(id), "console-%lld-%lu", c->boot, ++c->seq);
	m.source = strdup(c->base.name);
	m.platform_id = strdup(id);
	m.text = text_nfc(c->line, n);
	m.author_id = strdup(c->user);
	m.author_handle = strdup(c->user);
	m.received_ms = store_now_ms();
	if (m.source == NULL || m.platform_id == NULL || m.text == NULL || m.author_id == NULL ||
	    m.author_handle == NULL || source_intake(&c->base, &m, 0, intake_done, c) != 0) {
		printf("! cannot take mentions right now\n");
		fflush(stdout);
		mention_clear(&m);
	}
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[4096];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static void console_close(struct console *c);

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct console *c = s->data;

	if (nread < 0) {
		if (c->len > 0 && !c->overlong)
			submit(c);
		console_close(c);
		if (nread == UV_EOF) {
			printf("\n(console closed; ackbot keeps running its other sources until stopped)\n");
			fflush(stdout);
		}
		return;
	}
	for (ssize_t i = 0; i < nread; i++) {
		char ch = buf->base[i];
		if (ch == '\n') {
			if (c->overlong)
				printf("! line longer than %d bytes ignored\n", CONSOLE_LINE_MAX - 1);
			else
				submit(c);
			c->len = 0;
			c->overlong = 0;
			continue;
		}
		if (c->len + 1 >= sizeof(c->line)) {
			c->overlong = 1;
			continue;
		}
		c->line[c->len++] = ch;
	}
}

static void
console_destroy(struct console *c)
{
	source_free_common(&c->base);
	free(c->user);
	free(c);
}

/* The loop is done with the handle only now: the struct it lives in may go. */
static void
console_closed(uv_handle_t *h)
{
	struct console *c = h->data;

	c->handle_live = 0;
	if (c->free_on_close)
		console_destroy(c);
}

static void
console_close(struct console *c)
{
	if (!c->open)
		return;
	c->open = 0;
	c->base.active = 0;
	uv_read_stop((uv_stream_t *)&c->in);
	uv_close((uv_handle_t *)&c->in, console_closed);
}

static int
console_configure(struct source **out, const struct source_env *env, struct source_conf *sc,
    const struct config *cfg, struct diag *d)
{
	struct console *c;
	const char *user = getenv("USER");

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL || source_init_common(&c->base, &source_console_ops, env, sc) != 0) {
		free(c);
		return ACK_ENOMEM;
	}
	conf_src_str(sc, "user", user && *user ? user : "you", &c->user, cfg, d);
	conf_src_unused(sc, cfg, d);
	c->force = sc->enabled == CONF_ON;
	*out = &c->base;
	return 0;
}

static int
console_start(struct source *s, struct ack_err *err)
{
	struct console *c = (struct console *)s;
	uv_loop_t *loop = s->env->loop;
	int rc;

	c->is_tty = isatty(STDIN_FILENO);
	if (!c->is_tty && !c->force) {
		log_info("console", "off", "reason=%s", log_q("stdin is not a terminal (enabled: auto)"));
		return 0;
	}
	c->boot = (long long)store_now_ms();
	if (uv_guess_handle(STDIN_FILENO) == UV_TTY)
		rc = uv_tty_init(loop, &c->in.tty, STDIN_FILENO, 1);
	else
		rc = uv_pipe_init(loop, &c->in.pipe, 0);
	if (rc != 0)
		return ack_fail(err, ACK_EIO, "console: cannot read stdin: %s", uv_strerror(rc));
	c->in.pipe.data = c;
	c->in.tty.data = c;
	c->handle_live = 1;	/* from here on only console_close ends it */
	c->open = 1;
	if (uv_guess_handle(STDIN_FILENO) != UV_TTY)
		rc = uv_pipe_open(&c->in.pipe, STDIN_FILENO);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&c->in, on_alloc, on_read);
	if (rc != 0) {
		console_close(c);
		return ack_fail(err, ACK_EIO, "console: cannot read stdin: %s", uv_strerror(rc));
	}
	s->active = 1;
	if (c->is_tty) {
		printf("ackbot console: type a mention as @%s would (e.g. \"@brand thanks!\"); "
		    "Ctrl-D closes the console, Ctrl-C stops ackbot.\n", c->user);
		prompt(c);
	}
	return 0;
}

static void
console_stop(struct source *s)
{
	console_close((struct console *)s);
}

static void
console_free(struct source *s)
{
	struct console *c = (struct console *)s;

	if (c == NULL)
		return;
	console_close(c);
	if (c->handle_live)
		c->free_on_close = 1;	/* console_closed frees it on the loop's next run */
	else
		console_destroy(c);
}

static int
console_send(struct source *s, const struct reply *r, struct ack_err *err)
{
	struct send_outcome o = { SEND_OK, -1, 0, "" };

	printf("[%s] %s\n", r->intent ? r->intent : "reply", r->text);
	fflush(stdout);
	prompt((struct console *)s);
	source_reply_done(s, r, &o);
	return 0;
}

static void
console_notice(struct source *s, const struct source_notice *n)
{
	if (n->ticket != NULL)
		printf("  handoff: ticket %s in queue '%s' (%s) -- see `ackbot handoff list`\n",
		    n->ticket, n->queue ? n->queue : "support", n->priority ? n->priority : "normal");
	if (strcmp(n->action, "silent") == 0 || strcmp(n->action, "handoff") == 0)
		printf("  (no automatic reply: %s)\n", n->reason);
	if (strcmp(n->action, "reply") != 0 && strcmp(n->action, "reply+handoff") != 0)
		prompt((struct console *)s);
	fflush(stdout);
}

const struct source_ops source_console_ops = {
	.type = "console",
	.default_max_length = 500,
	.configure = console_configure,
	.start = console_start,
	.stop = console_stop,
	.free = console_free,
	.send = console_send,
	.notice = console_notice,
};
