/* console.c - a console on stdin, like Hubot's shell adapter and Errbot's text mode: each
 * line is a mention from a local user; replies and tickets are printed.
 *
 * On a terminal, with ackbot in the foreground, it is a REPL: line editing and history
 * (libedit, unbuffered, driven from the loop: a poll on the terminal, a key at a time), lines of
 * any length, commands that are not mentions (/help, /quit, /tickets, /as, /lang), output
 * printed above the prompt without breaking it, the log moved to a file, colour unless
 * NO_COLOR. Otherwise (enabled: true on a pipe or file) it reads lines; blank lines and
 * terminal control sequences are ignored either way. End of input closes the console
 * only; the daemon keeps serving its other sources. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <histedit.h>
#include <langinfo.h>
#include <locale.h>
#include <utf8proc.h>

#include "config.h"
#include "inbox.h"
#include "log.h"
#include "source.h"
#include "text.h"

#define CONSOLE_LINE_MAX (1 << 20)	/* a piped line longer than this is refused */
#define HISTORY_MAX 1000

enum mode { M_OFF, M_LINES, M_FILE, M_EDIT };

struct console {
	struct source base;
	char *user;		/* the local user's handle (console.user) */
	char *as;		/* /as NAME: the author of the next mentions */
	char *lang;		/* /lang LL: their language, NULL to detect it */
	char *config_path;	/* for /tickets */
	char *log_path;		/* where the log went while the REPL runs */
	char *history;		/* history file */
	int force;		/* enabled: true (not auto) */
	enum mode mode;
	int color;
	union {
		uv_pipe_t pipe;	/* M_LINES from a pipe or file */
		uv_tty_t tty;	/* M_LINES from a terminal whose output is not one */
		uv_poll_t poll;	/* M_EDIT: the terminal, opened again (its own O_NONBLOCK) */
	} in;
	int tty_fd;		/* M_EDIT */
	FILE *tty_in;
	EditLine *el;
	History *hist;
	int failures;		/* el_wgets errors in a row */
	uv_signal_t winch;	/* the terminal's size changed */
	int winch_live;
	int open;
	int handle_live;	/* uv handles initialised and not yet closed (in, winch) */
	int free_on_close;	/* console_free came first: the close callback frees */
	int lister_live;	/* a /tickets child is running */
	uv_process_t lister;
	uv_fs_t freq;		/* M_FILE: stdin is a file or /dev/null (no poll): read off the loop */
	int file_busy;		/* ... a read is in flight */
	char fbuf[65536];
	char *line;		/* M_LINES, M_FILE: the line being read */
	size_t len, cap;
	int overlong;
	unsigned long seq;
	long long boot;
};

static const char *
paint(const struct console *c, const char *what)
{
	if (!c->color)
		return "";
	if (strcmp(what, "reply") == 0)
		return "\033[32m";
	if (strcmp(what, "ticket") == 0)
		return "\033[33m";
	if (strcmp(what, "error") == 0)
		return "\033[31m";
	if (strcmp(what, "dim") == 0)
		return "\033[2m";
	return "\033[0m";
}

/* Prints above the prompt: the line being edited is wiped, the text printed, and prompt
 * and line drawn again below it. */
static void __attribute__((format(printf, 2, 3)))
say(struct console *c, const char *fmt, ...)
{
	va_list ap;

	if (c->mode == M_EDIT && c->open)
		fputs("\r\033[K", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (c->mode == M_EDIT && c->open && c->lister_live == 0)
		el_set(c->el, EL_REFRESH);
}

static void
intake_done(void *arg, int result, const struct mention *m)
{
	struct console *c = arg;

	if (result == INBOX_FAILED)
		say(c, "%s! could not store that mention (see the log); please type it again%s\n",
		    paint(c, "error"), paint(c, "off"));
}

/* Terminal control sequences (ESC [ ... final, ESC O x, ESC x) and other control
 * characters out of s, in place; tabs become spaces. */
static size_t
strip_controls(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0x1b) {
			if (i + 1 < n && s[i + 1] == '[') {
				i += 2;
				while (i < n && !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
					i++;
			} else if (i + 1 < n) {
				i += (s[i + 1] == 'O' && i + 2 < n) ? 2 : 1;
			}
			continue;
		}
		if (ch == '\t')
			ch = ' ';
		else if (ch < 0x20 || ch == 0x7f)
			continue;
		s[o++] = (char)ch;
	}
	s[o] = '\0';
	return o;
}

static void
show_help(struct console *c)
{
	say(c, "Type a mention as @%s would, e.g. \"@brand thanks!\". Commands:\n"
	    "  /help          this list\n"
	    "  /as NAME       speak as another author (/as alone: back to @%s)\n"
	    "  /lang LL       say which language the mentions are in (/lang auto: detect it)\n"
	    "  /tickets       the open tickets from this console\n"
	    "  /quit          stop ackbot (as Ctrl-C); Ctrl-D closes the console only\n",
	    c->as ? c->as : c->user, c->user);
}

static void
lister_exited(uv_process_t *p, int64_t status, int sig)
{
	struct console *c = p->data;

	uv_close((uv_handle_t *)p, NULL);
	c->lister_live = 0;
	if (status != 0)
		say(c, "%s! listing the tickets failed (exit %lld)%s\n", paint(c, "error"),
		    (long long)status, paint(c, "off"));
	else if (c->mode == M_EDIT && c->open)
		el_set(c->el, EL_REFRESH);
}

/* `ackbot handoff list --source NAME` as a child: the store is read off the loop. */
static void
list_tickets(struct console *c)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *args[] = { exe, "handoff", "list", "-c", c->config_path, "--source", c->base.name,
		NULL };
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	int rc;

	if (c->lister_live)
		return;
	if (n <= 0) {
		say(c, "! cannot find the ackbot binary: run `ackbot handoff list --source %s`\n",
		    c->base.name);
		return;
	}
	exe[n] = '\0';
	memset(&o, 0, sizeof(o));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = STDOUT_FILENO;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = STDOUT_FILENO;
	o.file = exe;
	o.args = args;
	o.exit_cb = lister_exited;
	o.stdio = io;
	o.stdio_count = 3;
	if (c->mode == M_EDIT)
		fputs("\r\033[K", stdout);
	fflush(stdout);
	c->lister.data = c;
	if ((rc = uv_spawn(c->base.env->loop, &c->lister, &o)) != 0) {
		uv_close((uv_handle_t *)&c->lister, NULL);
		say(c, "! cannot list the tickets: %s\n", uv_strerror(rc));
		return;
	}
	c->lister_live = 1;
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

static void
command(struct console *c, char *line)
{
	char *arg = line + strcspn(line, " ");

	if (*arg != '\0')
		*arg++ = '\0';
	while (*arg == ' ')
		arg++;
	if (strcmp(line, "/help") == 0 || strcmp(line, "/?") == 0) {
		show_help(c);
	} else if (strcmp(line, "/quit") == 0 || strcmp(line, "/exit") == 0) {
		say(c, "(stopping ackbot)\n");
		kill(getpid(), SIGTERM);	/* the daemon's own drain */
	} else if (strcmp(line, "/tickets") == 0) {
		list_tickets(c);
	} else if (strcmp(line, "/as") == 0) {
		const char *name = arg[0] == '@' ? arg + 1 : arg;
		if (*name != '\0' && !valid_name(name)) {
			say(c, "! /as takes a handle: letters, digits, '_', '.', '-' (up to 64)\n");
			return;
		}
		free(c->as);
		c->as = *name ? strdup(name) : NULL;
		say(c, "(speaking as @%s)\n", c->as ? c->as : c->user);
	} else if (strcmp(line, "/lang") == 0) {
		if (*arg == '\0') {
			say(c, "(language: %s)\n", c->lang ? c->lang : "detected from the text");
		} else if (strcmp(arg, "auto") == 0) {
			free(c->lang);
			c->lang = NULL;
			say(c, "(language: detected from the text)\n");
		} else if (!text_lang_valid(arg)) {
			say(c, "! /lang takes a language code such as en, de, pt or pt-BR (or auto)\n");
		} else {
			free(c->lang);
			c->lang = strdup(arg);
			say(c, "(language: %s)\n", c->lang);
		}
	} else {
		say(c, "! unknown command %s: /help lists them (a mention starting with '/' needs "
		    "a space first)\n", line);
	}
}

/* Only the bot's handles and spaces: nothing to answer. */
static int
only_handles(const char *s)
{
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s != '@')
			return 0;
		s++;
		while (*s && *s != ' ')
			s++;
	}
	return 1;
}

static void
submit(struct console *c, char *line, size_t n)
{
	struct mention m;
	char id[64];
	const char *who = c->as ? c->as : c->user;

	n = strip_controls(line, n);
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	while (*line == ' ') {
		line++;
		n--;
	}
	if (n == 0)
		return;
	if (c->mode == M_EDIT) {
		HistEvent ev;
		history(c->hist, &ev, H_ENTER, line);
	}
	if (line[0] == '/') {
		command(c, line);
		return;
	}
	if (only_handles(line)) {
		say(c, "(type a message after %s, e.g. \"%s thanks!\")\n", line, line);
		return;
	}
	memset(&m, 0, sizeof(m));
	snprintf(id, sizeof(id), "console-%lld-%lu", c->boot, ++c->seq);
	m.source = strdup(c->base.name);
	m.platform_id = strdup(id);
	m.text = text_nfc(line, n);
	m.author_id = strdup(who);
	m.author_handle = strdup(who);
	m.lang = c->lang ? strdup(c->lang) : NULL;
	m.received_ms = store_now_ms();
	if (m.source == NULL || m.platform_id == NULL || m.text == NULL || m.author_id == NULL ||
	    m.author_handle == NULL || (c->lang && m.lang == NULL) ||
	    source_intake(&c->base, &m, 0, intake_done, c) != 0) {
		say(c, "%s! cannot take mentions right now%s\n", paint(c, "error"), paint(c, "off"));
		mention_clear(&m);
	}
}

static void console_close(struct console *c);

/* ---- M_LINES: a pipe or file ---- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static int
line_push(struct console *c, char ch)
{
	if (c->len + 1 >= c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		char *p;
		if (cap > CONSOLE_LINE_MAX)
			return -1;
		if ((p = realloc(c->line, cap)) == NULL)
			return -1;
		c->line = p;
		c->cap = cap;
	}
	c->line[c->len++] = ch;
	return 0;
}

/* End of input (or an error): the last line without a newline counts. */
static void
input_ended(struct console *c, int why)
{
	if (c->len > 0 && !c->overlong) {
		c->line[c->len] = '\0';
		submit(c, c->line, c->len);
	}
	console_close(c);
	c->base.finished = 1;
	if (why == UV_EOF)
		printf("\n(end of input: the replies to these lines still print here)\n");
	else
		printf("\n(console closed: %s)\n", uv_strerror(why));
	fflush(stdout);
}

static void
feed(struct console *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && c->open; i++) {
		char ch = buf[i];
		if (ch == '\n') {
			if (c->overlong) {
				printf("! line longer than %d bytes ignored\n", CONSOLE_LINE_MAX - 1);
				fflush(stdout);
			} else if (c->len > 0) {
				c->line[c->len] = '\0';
				submit(c, c->line, c->len);
			}
			c->len = 0;
			c->overlong = 0;
			continue;
		}
		if (!c->overlong && line_push(c, ch) != 0)
			c->overlong = 1;
	}
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct console *c = s->data;

	if (nread < 0)
		input_ended(c, (int)nread);
	else
		feed(c, buf->base, (size_t)nread);
}

static void console_destroy(struct console *c);
static void file_read(struct console *c);

static void
on_file(uv_fs_t *req)
{
	struct console *c = req->data;
	ssize_t n = req->result;

	uv_fs_req_cleanup(req);
	c->file_busy = 0;
	if (!c->open) {
		if (c->free_on_close && c->handle_live == 0)
			console_destroy(c);
		return;
	}
	if (n > 0) {
		feed(c, c->fbuf, (size_t)n);
		if (c->open)
			file_read(c);
		return;
	}
	input_ended(c, n == 0 ? UV_EOF : (int)n);
}

static void
file_read(struct console *c)
{
	uv_buf_t b = uv_buf_init(c->fbuf, sizeof(c->fbuf));
	int rc;

	c->freq.data = c;
	if ((rc = uv_fs_read(c->base.env->loop, &c->freq, STDIN_FILENO, &b, 1, -1, on_file)) != 0) {
		input_ended(c, rc);
		return;
	}
	c->file_busy = 1;
}

/* ---- M_EDIT: libedit on the terminal ---- */

static char *
edit_prompt(EditLine *el)
{
	return (char *)"> ";
}

/* The finished line (wide, ending in '\n') as UTF-8, copied at once: libedit's buffers
 * move on its next call. */
static char *
wide_line(const wchar_t *w, int count)
{
	char *out = malloc((size_t)count * 4 + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	for (int i = 0; i < count; i++) {
		utf8proc_int32_t cp = (utf8proc_int32_t)w[i];
		if (cp == '\n' || cp == '\r')
			continue;
		if (!utf8proc_codepoint_valid(cp))
			cp = 0xfffd;
		n += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + n);
	}
	out[n] = '\0';
	return out;
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct console *c = h->data;
	const wchar_t *w;
	int count = 0;

	if (status < 0 || (events & UV_DISCONNECT)) {
		console_close(c);
		return;
	}
	errno = 0;
	w = el_wgets(c->el, &count);	/* unbuffered: returns after every key */
	if (w == NULL && count < 0) {
		/* an editing error (history walked past its end) is -1 too: only a failing
		 * terminal, or one that keeps failing, closes the console */
		if (errno == EIO || errno == EBADF || errno == ENXIO || ++c->failures > 64)
			console_close(c);
		return;
	}
	c->failures = 0;
	if (w == NULL || count <= 0)
		return;	/* an empty line being edited (history walked past its end) */
	if (count == 1 && w[0] == 4) {	/* Ctrl-D on an empty line */
		fputs("\n", stdout);
		console_close(c);
		return;
	}
	if (w[count - 1] != '\n' && w[count - 1] != '\r')
		return;	/* still editing */
	char *line = wide_line(w, count);
	/* the line is done: libedit starts afresh (an empty line, the prompt) before any output */
	el_set(c->el, EL_UNBUFFERED, 0);
	el_set(c->el, EL_UNBUFFERED, 1);
	if (line == NULL) {
		say(c, "! out of memory\n");
		return;
	}
	submit(c, line, strlen(line));
	free(line);
}

static void
on_winch(uv_signal_t *h, int sig)
{
	struct console *c = h->data;

	if (c->open && c->el != NULL)
		el_resize(c->el);
}

/* libedit reads UTF-8 only in a UTF-8 locale; ackbot speaks nothing else. */
static void
utf8_ctype(void)
{
	const char *cs;

	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	if (cs == NULL || (strcmp(cs, "UTF-8") != 0 && strcmp(cs, "utf8") != 0))
		setlocale(LC_CTYPE, "C.UTF-8");
}

static int
edit_start(struct console *c, uv_loop_t *loop, struct ack_err *err)
{
	const char *tty = ttyname(STDIN_FILENO);
	HistEvent ev;
	int rc;

	/* a description of its own: the poll's O_NONBLOCK must not reach stdout's */
	if (tty == NULL || (c->tty_fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    (c->tty_in = fdopen(c->tty_fd, "r")) == NULL) {
		if (c->tty_fd >= 0)
			close(c->tty_fd);
		c->tty_fd = -1;
		return ack_fail(err, ACK_EIO, "console: cannot open the terminal: %s",
		    strerror(errno));
	}
	utf8_ctype();
	if ((c->el = el_init("ackbot", c->tty_in, stdout, stderr)) == NULL ||
	    (c->hist = history_init()) == NULL) {
		fclose(c->tty_in);
		c->tty_in = NULL;
		return ack_fail(err, ACK_ENOMEM, "console: cannot start line editing");
	}
	history(c->hist, &ev, H_SETSIZE, HISTORY_MAX);
	history(c->hist, &ev, H_SETUNIQUE, 1);
	if (c->history != NULL)
		history(c->hist, &ev, H_LOAD, c->history);
	el_set(c->el, EL_EDITOR, "emacs");
	el_set(c->el, EL_SIGNAL, 0);	/* Ctrl-C stays the daemon's */
	el_set(c->el, EL_HIST, history, c->hist);
	el_set(c->el, EL_PROMPT, edit_prompt);
	el_source(c->el, NULL);		/* ~/.editrc, as every libedit program */
	if ((rc = uv_poll_init(loop, &c->in.poll, c->tty_fd)) != 0) {
		fclose(c->tty_in);
		c->tty_in = NULL;
		return ack_fail(err, ACK_EIO, "console: cannot watch the terminal: %s",
		    uv_strerror(rc));
	}
	c->in.poll.data = c;
	c->handle_live = 1;
	c->open = 1;
	if (uv_signal_init(loop, &c->winch) == 0) {
		c->winch.data = c;
		c->winch_live = 1;
		c->handle_live++;
		uv_signal_start(&c->winch, on_winch, SIGWINCH);
	}
	el_set(c->el, EL_UNBUFFERED, 1);	/* raw mode, the prompt */
	if ((rc = uv_poll_start(&c->in.poll, UV_READABLE | UV_DISCONNECT, on_poll)) != 0) {
		console_close(c);
		return ack_fail(err, ACK_EIO, "console: cannot watch the terminal: %s",
		    uv_strerror(rc));
	}
	return 0;
}

/* ---- the source ---- */

static void
console_destroy(struct console *c)
{
	source_free_common(&c->base);
	free(c->user);
	free(c->as);
	free(c->lang);
	free(c->config_path);
	free(c->log_path);
	free(c->history);
	free(c->line);
	free(c);
}

/* The loop is done with the handle only now: the struct it lives in may go. */
static void
console_closed(uv_handle_t *h)
{
	struct console *c = h->data;

	if (--c->handle_live > 0)
		return;
	if (c->el != NULL) {
		el_end(c->el);
		c->el = NULL;
	}
	if (c->hist != NULL) {
		history_end(c->hist);
		c->hist = NULL;
	}
	if (c->tty_in != NULL) {
		fclose(c->tty_in);
		c->tty_in = NULL;
		c->tty_fd = -1;
	}
	if (c->free_on_close)
		console_destroy(c);
}

static void
console_close(struct console *c)
{
	if (!c->open)
		return;
	c->open = 0;	/* input only: replies still print until the source is stopped */
	source_set_state(&c->base, 0, "input ended; replies still print");
	if (c->mode == M_EDIT) {
		HistEvent ev;
		el_set(c->el, EL_UNBUFFERED, 0);	/* the terminal as it was */
		if (c->history != NULL)
			history(c->hist, &ev, H_SAVE, c->history);
		uv_poll_stop(&c->in.poll);
		if (c->winch_live) {
			c->winch_live = 0;
			uv_close((uv_handle_t *)&c->winch, console_closed);
		}
		if (c->log_path != NULL && log_file_path() != NULL &&
		    strcmp(log_file_path(), c->log_path) == 0)
			log_open_file(NULL);	/* the log comes back to the terminal */
		printf("(console closed; ackbot keeps running its other sources until stopped)\n");
	} else if (c->mode == M_FILE) {
		if (c->file_busy)
			uv_cancel((uv_req_t *)&c->freq);	/* its callback still runs */
		fflush(stdout);
		return;
	} else {
		uv_read_stop((uv_stream_t *)&c->in.pipe);	/* a tty handle is a stream too */
	}
	fflush(stdout);
	uv_close((uv_handle_t *)&c->in, console_closed);
}

static int
console_configure(struct source **out, const struct source_env *env, struct source_conf *sc,
    const struct config *cfg, struct diag *d)
{
	struct console *c;
	const char *user = getenv("USER");
	char path[4200];

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL || source_init_common(&c->base, &source_console_ops, env, sc) != 0) {
		free(c);
		return ACK_ENOMEM;
	}
	c->tty_fd = -1;
	conf_src_str(sc, "user", user && *user ? user : "you", &c->user, cfg, d);
	conf_src_unused(sc, cfg, d);
	c->force = sc->enabled == CONF_ON;
	c->config_path = strdup(cfg->path);
	snprintf(path, sizeof(path), "%s/console.log", cfg->data_dir);
	c->log_path = strdup(path);
	snprintf(path, sizeof(path), "%s/console_history", cfg->data_dir);
	c->history = strdup(path);
	*out = &c->base;
	if (c->config_path == NULL || c->log_path == NULL || c->history == NULL)
		return ACK_ENOMEM;
	return 0;
}

/* On a terminal only in the foreground: started with '&', ackbot must never read it (the
 * shell would stop the job) nor draw on it. */
/* stdin is a pipe or a regular file: `echo "@brand thanks" | ackbot run`, `< mentions.txt`.
 * /dev/null (a daemon's stdin) and sockets are not. */
static int
piped(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
}

static int
foreground_tty(void)
{
	pid_t fg;

	if (!isatty(STDIN_FILENO))
		return 0;
	fg = tcgetpgrp(STDIN_FILENO);
	return fg >= 0 && fg == getpgrp();
}

static void
banner(struct console *c)
{
	printf("%sackbot console%s: type a mention as @%s would (e.g. \"@brand thanks!\"); /help "
	    "lists the commands; Ctrl-D closes the console, Ctrl-C stops ackbot.\n",
	    paint(c, "dim"), paint(c, "off"), c->user);
	if (log_file_path() != NULL)
		printf("(the log goes to %s)\n", log_file_path());
	fflush(stdout);
}

static int
console_start(struct source *s, struct ack_err *err)
{
	struct console *c = (struct console *)s;
	uv_loop_t *loop = s->env->loop;
	int tty = isatty(STDIN_FILENO), rc;
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (tty && !foreground_tty()) {
		source_set_state(s, 0, "off: ackbot runs in the background");
		if (c->force)
			log_warn("console", "off", "reason=%s", log_q("ackbot runs in the background: "
			    "the console needs the foreground (started with '&'?)"));
		else
			log_info("console", "off", "reason=%s", log_q("ackbot runs in the background "
			    "(enabled: auto); the console needs the foreground"));
		return 0;
	}
	if (!tty && !c->force && !piped()) {
		source_set_state(s, 0, "off: stdin is not a terminal, a pipe or a file");
		log_info("console", "off", "reason=%s", log_q("stdin is not a terminal, a pipe or a "
		    "file (enabled: auto)"));
		return 0;
	}
	c->boot = (long long)store_now_ms();
	/* a job sent to the background later gets EIO from the terminal, not a stop */
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	if (tty && isatty(STDOUT_FILENO)) {
		c->mode = M_EDIT;
		c->color = (nc == NULL || *nc == '\0') && (term == NULL || strcmp(term, "dumb") != 0);
		/* log lines would break the prompt: to a file, unless one was given */
		if (log_file_path() == NULL && isatty(STDERR_FILENO) &&
		    log_open_file(c->log_path) != 0)
			log_warn("console", "log_file", "path=%s error=%s", log_q(c->log_path),
			    log_q(strerror(errno)));
		if ((rc = edit_start(c, loop, err)) != 0)
			return rc;
		s->active = 1;
		source_set_state(s, 0, "reading the terminal");
		fputs("\r\033[K", stdout);
		banner(c);
		el_set(c->el, EL_REFRESH);
		return 0;
	}
	if (!tty && uv_guess_handle(STDIN_FILENO) == UV_FILE) {	/* a file, /dev/null */
		c->mode = M_FILE;
		c->open = 1;
		s->active = 1;
		source_set_state(s, 0, "reading stdin (a file)");
		file_read(c);
		return 0;
	}
	c->mode = M_LINES;
	if (tty)
		rc = uv_tty_init(loop, &c->in.tty, STDIN_FILENO, 1);
	else
		rc = uv_pipe_init(loop, &c->in.pipe, 0);
	if (rc != 0)
		return ack_fail(err, ACK_EIO, "console: cannot read stdin: %s", uv_strerror(rc));
	c->in.pipe.data = c;
	c->handle_live = 1;	/* from here on only console_close ends it */
	c->open = 1;
	if (!tty)
		rc = uv_pipe_open(&c->in.pipe, STDIN_FILENO);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&c->in.pipe, on_alloc, on_read);
	if (rc != 0) {
		console_close(c);
		return ack_fail(err, ACK_EIO, "console: cannot read stdin: %s", uv_strerror(rc));
	}
	s->active = 1;
	source_set_state(s, 0, "reading stdin");
	return 0;
}

static void
console_stop(struct source *s)
{
	s->active = 0;
	console_close((struct console *)s);
}

static void
console_free(struct source *s)
{
	struct console *c = (struct console *)s;

	if (c == NULL)
		return;
	c->base.active = 0;
	console_close(c);
	if (c->handle_live || c->file_busy)
		c->free_on_close = 1;	/* the last callback frees it */
	else
		console_destroy(c);
}

static int
console_send(struct source *s, const struct reply *r, struct ack_err *err)
{
	struct console *c = (struct console *)s;
	struct send_outcome o = { SEND_OK, -1, 0, "" };

	say(c, "%s[%s]%s %s\n", paint(c, "reply"), r->intent ? r->intent : "reply",
	    paint(c, "off"), r->text);
	source_reply_done(s, r, &o);
	return 0;
}

static void
console_notice(struct source *s, const struct source_notice *n)
{
	struct console *c = (struct console *)s;

	if (n->ticket != NULL)
		say(c, "  %shandoff: ticket %s in queue '%s' (%s)%s -- /tickets lists them\n",
		    paint(c, "ticket"), n->ticket, n->queue ? n->queue : "support",
		    n->priority ? n->priority : "normal", paint(c, "off"));
	if (strcmp(n->action, "silent") == 0 || strcmp(n->action, "handoff") == 0)
		say(c, "  (no automatic reply: %s)\n", n->reason);
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
