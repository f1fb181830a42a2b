/* cli_ctl.c - the running daemon from the command line: `ackbot status`, `ackbot reload`,
 * `ackbot stop`. The daemon is found through its data directory: the process holding the
 * lock on ackbot.pid, and what it writes to ackbot.status (status.h). */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "mention.h"
#include "status.h"
#include "store.h"

#define EXIT_NOT_RUNNING 3

struct daemon_view {
	struct config *cfg;	/* NULL with --data-dir */
	char data_dir[4096], db_path[4200], pidfile[4200];
	int64_t drain_ms;
	int held;		/* a process holds the data directory's lock: a daemon runs */
	long pid;		/* whom to signal: the lock holder, else the pid file's (0: ?) */
	json_t *st;		/* its status file, when it is this run's; may be NULL */
};

static const char hint_data_dir[] =
    "  hint: --data-dir DIR reaches the daemon running on DIR whatever the configuration "
    "says now\n";

static int
view_load(const char *config, const char *data_dir, struct daemon_view *v)
{
	struct diag d;

	memset(v, 0, sizeof(*v));
	v->drain_ms = 4000;
	if (data_dir != NULL) {
		snprintf(v->data_dir, sizeof(v->data_dir), "%s", data_dir);
		snprintf(v->db_path, sizeof(v->db_path), "%s/ackbot.db", data_dir);
	} else {
		diag_init(&d);
		v->cfg = config_load(config, &d);
		if (v->cfg == NULL) {
			diag_print(&d, stderr);
			diag_free(&d);
			fputs(hint_data_dir, stderr);
			return 1;
		}
		diag_free(&d);
		snprintf(v->data_dir, sizeof(v->data_dir), "%s", v->cfg->data_dir);
		snprintf(v->db_path, sizeof(v->db_path), "%s", v->cfg->db_path);
		v->drain_ms = v->cfg->drain_ms;
	}
	snprintf(v->pidfile, sizeof(v->pidfile), "%s/ackbot.pid", v->data_dir);
	return 0;
}

/* The pid file's pid and boot id ("PID\nboot=HEX\n"). */
static void
read_pidfile(const char *path, long *pid, char *boot, size_t bootlen)
{
	char buf[128] = "", *b;
	FILE *f = fopen(path, "re");
	size_t n;

	*pid = 0;
	boot[0] = '\0';
	if (f == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	*pid = strtol(buf, NULL, 10);
	if ((b = strstr(buf, "boot=")) != NULL) {
		b += 5;
		snprintf(boot, bootlen, "%.*s", (int)strcspn(b, "\n"), b);
	}
}

/* Who runs now, and what it says; 0, or -1 when the lock table cannot be read. */
static int
view_refresh(struct daemon_view *v)
{
	char boot[40];
	long lock_pid, file_pid;
	const char *sb;

	json_decref(v->st);
	v->st = NULL;
	v->pid = 0;
	if ((v->held = status_lock_holder(v->pidfile, &lock_pid)) < 0) {
		fprintf(stderr, "ackbot: cannot tell whether a daemon runs on %s: %s\n", v->data_dir,
		    strerror(errno));
		return -1;
	}
	if (!v->held)
		return 0;
	read_pidfile(v->pidfile, &file_pid, boot, sizeof(boot));
	v->pid = lock_pid > 0 ? lock_pid : file_pid;
	/* only this run's file: one left by a run killed with -9 may carry the same pid */
	if ((v->st = status_read(v->data_dir)) != NULL &&
	    ((sb = json_string_value(json_object_get(v->st, "boot"))) == NULL || boot[0] == '\0' ||
	    strcmp(sb, boot) != 0)) {
		json_decref(v->st);
		v->st = NULL;
	}
	return 0;
}

static void
view_free(struct daemon_view *v)
{
	json_decref(v->st);
	config_free(v->cfg);
}

static const char *
state_of(const struct daemon_view *v)
{
	const char *s = v->st ? json_string_value(json_object_get(v->st, "state")) : NULL;

	return !v->held ? "stopped" : s ? s : "starting";
}

static void
fmt_age(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, size, "%lldh %lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else
		snprintf(buf, size, "%lldd %lldh", (long long)(s / 86400), (long long)(s / 3600 % 24));
}

static void
fmt_clock(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The store's side: what waits. -1 when there is no store yet. */
struct backlog {
	int64_t mentions;	/* stored, not decided yet (up to 1000 counted) */
	int64_t replies;	/* pending: waiting, in flight or backing off */
	int64_t due_ms;		/* the next attempt of one no lease holds; 0: none */
	int64_t open;		/* open tickets */
};

static int
backlog_read(const char *db_path, struct backlog *b, char *why, size_t whylen)
{
	struct store *st = NULL;
	struct ack_err err;
	struct mention *m = NULL;
	size_t n = 0;
	int rc;

	memset(b, 0, sizeof(*b));
	if (access(db_path, F_OK) != 0) {
		snprintf(why, whylen, "no store yet");
		return -1;
	}
	ack_err_clear(&err);
	if (store_open(&st, db_path, 1, &err) != 0) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	rc = st->ops->mention_pending(st, 1000, &m, &n, &err);
	if (rc == 0) {
		b->mentions = (int64_t)n;
		for (size_t i = 0; i < n; i++)
			mention_clear(&m[i]);
		free(m);
		rc = st->ops->reply_counts(st, &b->replies, &err);
	}
	if (rc == 0)
		rc = st->ops->reply_next_due(st, store_now_ms(), &b->due_ms, &err);
	if (rc == 0)
		rc = st->ops->handoff_count(st, HANDOFF_OPEN, &b->open, &err);
	store_close(st);
	if (rc != 0) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Nothing left to do now: every stored mention decided, no reply due or in flight (a
 * reply waiting for a later attempt, after a failure, does not count). */
static int
caught_up(const struct backlog *b, int64_t now)
{
	return b->mentions == 0 && (b->replies == 0 || b->due_ms > now);
}

/* A source that is on but not taking mentions yet (a stream still connecting). */
static const char *
source_connecting(const struct daemon_view *v)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(v->st, "sources"), i, s)
		if (json_is_true(json_object_get(s, "connecting")))
			return json_string_value(json_object_get(s, "name"));
	return NULL;
}

static void
print_reload(json_t *r, FILE *f)
{
	char at[40];
	json_t *e, *x;
	size_t i;

	fmt_clock(json_integer_value(json_object_get(r, "at")), at, sizeof(at));
	fprintf(f, "last reload: %s, %s%s%s\n", at, json_is_true(json_object_get(r, "ok")) ? "ok" :
	    "failed", json_string_length(json_object_get(r, "summary")) ? ": " : "",
	    json_string_value(json_object_get(r, "summary")));
	json_array_foreach(json_object_get(r, "errors"), i, e) {
		fprintf(f, "  %s:%d:%d: %s: %s\n", json_string_value(json_object_get(e, "file")),
		    (int)json_integer_value(json_object_get(e, "line")),
		    (int)json_integer_value(json_object_get(e, "col")),
		    json_string_value(json_object_get(e, "severity")),
		    json_string_value(json_object_get(e, "msg")));
		if (json_is_string(json_object_get(e, "hint")))
			fprintf(f, "    hint: %s\n", json_string_value(json_object_get(e, "hint")));
	}
	if (json_array_size(json_object_get(r, "restart")) > 0) {
		fprintf(f, "  needs a restart to take effect (ackbot stop, then ackbot run):\n");
		json_array_foreach(json_object_get(r, "restart"), i, x)
			fprintf(f, "    %s\n", json_string_value(x));
	}
}

static void
status_text(const struct daemon_view *v, const struct backlog *b, int have_b, const char *why)
{
	json_t *src, *s;
	size_t i;
	char age[40];
	int64_t now = store_now_ms();

	if (v->held) {
		int64_t started = v->st ? json_integer_value(json_object_get(v->st, "started_at")) : 0;
		char pid[32] = "unknown (another pid namespace)";
		if (v->pid > 0)
			snprintf(pid, sizeof(pid), "%ld", v->pid);
		fmt_age(started ? now - started : 0, age, sizeof(age));
		printf("ackbot is %s: pid %s%s%s, data_dir %s\n", state_of(v), pid,
		    started ? ", up " : "", started ? age : "", v->data_dir);
	} else
		printf("ackbot is not running on data_dir %s\n", v->data_dir);
	if (have_b) {
		printf("  mentions waiting for a decision: %lld\n", (long long)b->mentions);
		printf("  replies pending: %lld", (long long)b->replies);
		if (b->replies > 0 && b->due_ms > now) {
			fmt_age(b->due_ms - now, age, sizeof(age));
			printf(" (next attempt in %s)", age);
		}
		printf("\n  tickets open: %lld (ackbot handoff list)\n", (long long)b->open);
	} else
		printf("  store: %s\n", why);
	if (v->st == NULL)
		return;
	src = json_object_get(v->st, "sources");
	printf("  sources:\n");
	json_array_foreach(src, i, s)
		printf("    %-12s %-9s %s\n", json_string_value(json_object_get(s, "name")),
		    json_string_value(json_object_get(s, "type")),
		    json_string_value(json_object_get(s, "state")));
	if (json_is_string(json_object_get(v->st, "last_error")))
		printf("  last error: %s\n", json_string_value(json_object_get(v->st, "last_error")));
	else
		printf("  last error: none\n");
	if (json_is_object(json_object_get(v->st, "reload"))) {
		printf("  ");
		print_reload(json_object_get(v->st, "reload"), stdout);
	}
}

static void
status_json(const struct daemon_view *v, const struct backlog *b, int have_b, const char *why)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:s?}", "state", state_of(v), "pid", (json_int_t)v->pid,
	    "data_dir", v->data_dir, "config", v->cfg ? v->cfg->path : NULL);
	char *t;

	if (have_b)
		json_object_set_new(o, "store", json_pack("{s:I,s:I,s:I,s:I}", "mentions_waiting",
		    (json_int_t)b->mentions, "replies_pending", (json_int_t)b->replies,
		    "next_attempt_at", (json_int_t)b->due_ms, "tickets_open", (json_int_t)b->open));
	else
		json_object_set_new(o, "store_error", json_string(why));
	if (v->st != NULL) {
		const char *keys[] = { "started_at", "boot", "version", "sources", "last_error",
			"reload", NULL };
		for (int i = 0; keys[i]; i++)
			json_object_set(o, keys[i], json_object_get(v->st, keys[i]));
	}
	t = json_dumps(o, JSON_INDENT(2));
	if (t != NULL)
		puts(t);
	free(t);
	json_decref(o);
}

static const char usage_status[] =
    "usage: ackbot status [-c FILE | --data-dir DIR] [--json] [--wait] [--timeout DURATION]\n"
    "Is a daemon running on this configuration's data directory (its pid, how long), what\n"
    "waits in its store (mentions not decided yet, replies pending, open tickets), each\n"
    "source's state, the last error and the last reload. Safe at any time.\n"
    "  --json            one JSON object\n"
    "  --wait            first wait until a daemon runs and has caught up: every source\n"
    "                    that is on connected, every mention decided, no reply due or in\n"
    "                    flight (for scripts)\n"
    "  --timeout D       how long --wait waits (default 30s)\n"
    "  --data-dir DIR    the daemon running on DIR, whatever the configuration says\n"
    "Exit 0 when a daemon runs (with --wait: and caught up), 1 when --wait timed out,\n"
    "3 when no daemon runs.\n";

int
cmd_status(int argc, char **argv)
{
	static const char *const flags[] = { "json", "wait", "timeout=", "data-dir=", NULL };
	const char *config, *vals[4];
	struct daemon_view v;
	struct backlog b;
	char why[300] = "";
	int first, rc, have_b, timed_out = 0;
	int64_t timeout = 30000, end;

	if ((rc = cli_parse_opts(argc, argv, usage_status, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_status, "unexpected argument '%s'", argv[first]);
	if (vals[2] != NULL && conf_parse_duration_ms(vals[2], &timeout) != 0)
		return cli_usage_error(usage_status, "invalid --timeout '%s' (a duration: 10s, 2m)",
		    vals[2]);
	if (view_load(config, vals[3], &v) != 0)
		return 1;
	end = store_now_ms() + timeout;
	for (;;) {
		if (view_refresh(&v) != 0) {
			view_free(&v);
			return 1;
		}
		have_b = backlog_read(v.db_path, &b, why, sizeof(why)) == 0;
		if (!vals[1])
			break;
		if (v.held && strcmp(state_of(&v), "running") == 0 && have_b &&
		    source_connecting(&v) == NULL && caught_up(&b, store_now_ms()))
			break;
		if (store_now_ms() >= end) {
			timed_out = 1;
			break;
		}
		usleep(100 * 1000);
	}
	if (vals[0])
		status_json(&v, &b, have_b, why);
	else
		status_text(&v, &b, have_b, why);
	if (timed_out)
		fprintf(stderr, "ackbot: --wait timed out after %s: %s%s\n", vals[2] ? vals[2] : "30s",
		    !v.held ? "no daemon runs (ackbot run)" : strcmp(state_of(&v), "running") != 0 ?
		    "the daemon has not finished starting" : source_connecting(&v) ?
		    "a source is still connecting: " : "it has not caught up yet",
		    v.held && v.st && source_connecting(&v) ? source_connecting(&v) : "");
	rc = !v.held ? EXIT_NOT_RUNNING : timed_out ? 1 : 0;
	view_free(&v);
	return rc;
}

/* ---- reload ---- */

static const char usage_reload[] =
    "usage: ackbot reload [-c FILE | --data-dir DIR] [--timeout DURATION]\n"
    "Tells the daemon running on this configuration's data directory to reload its\n"
    "configuration and intents (SIGHUP) and reports the outcome: ok, or the errors with\n"
    "file:line:column and hints (the daemon then keeps the set it had), and the settings\n"
    "that take effect only after a restart (listeners, data_dir). Exit 0 when reloaded,\n"
    "1 when the new set has errors or no answer came within the timeout (default 15s),\n"
    "3 when no daemon runs.\n";

static json_int_t
reload_seq(const struct daemon_view *v)
{
	json_t *r = v->st ? json_object_get(v->st, "reload") : NULL;

	return json_is_object(r) ? json_integer_value(json_object_get(r, "seq")) : 0;
}

static int
signal_daemon(const struct daemon_view *v, int sig)
{
	if (v->pid <= 0) {
		fprintf(stderr, "ackbot: a daemon runs on %s but its pid is unknown here (another pid "
		    "namespace?)\n  hint: signal it from where it runs\n", v->data_dir);
		return -1;
	}
	if (kill((pid_t)v->pid, sig) == 0)
		return 0;
	fprintf(stderr, "ackbot: cannot signal pid %ld: %s\n  hint: %s\n", v->pid, strerror(errno),
	    errno == EPERM ? "run this as the user the daemon runs as (or root)" :
	    "is the daemon still running? (ackbot status)");
	return -1;
}

int
cmd_reload(int argc, char **argv)
{
	static const char *const flags[] = { "timeout=", "data-dir=", NULL };
	const char *config, *vals[2];
	struct daemon_view v;
	json_int_t seq;
	long pid;
	int64_t timeout = 15000, end;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_reload, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_reload, "unexpected argument '%s'", argv[first]);
	if (vals[0] != NULL && conf_parse_duration_ms(vals[0], &timeout) != 0)
		return cli_usage_error(usage_reload, "invalid --timeout '%s'", vals[0]);
	if (view_load(config, vals[1], &v) != 0) {
		fprintf(stderr, "ackbot: not reloaded: fix the configuration first (the daemon keeps "
		    "the one it has)\n");
		return 1;
	}
	if (view_refresh(&v) != 0) {
		view_free(&v);
		return 1;
	}
	if (!v.held) {
		fprintf(stderr, "ackbot: no daemon runs on data_dir %s: nothing to reload\n"
		    "  hint: start it with ackbot run -c %s%s\n", v.data_dir, config,
		    vals[1] ? "" : " (or, if it runs on another data_dir, reach it with --data-dir)");
		view_free(&v);
		return EXIT_NOT_RUNNING;
	}
	pid = v.pid;
	/* a starting daemon handles the signal once it is up (it blocks it until then) */
	seq = reload_seq(&v);
	if (signal_daemon(&v, SIGHUP) != 0) {
		view_free(&v);
		return 1;
	}
	end = store_now_ms() + timeout;
	while (store_now_ms() < end) {
		usleep(50 * 1000);
		if (view_refresh(&v) != 0)
			break;
		if (reload_seq(&v) > seq) {
			json_t *r = json_object_get(v.st, "reload");
			int ok = json_is_true(json_object_get(r, "ok"));
			json_t *e;
			size_t i;
			if (ok) {
				printf("reloaded (pid %ld): %s\n", v.pid,
				    json_string_value(json_object_get(r, "summary")));
				if (json_array_size(json_object_get(r, "restart")) > 0) {
					printf("these settings take effect only after a restart (ackbot stop, "
					    "then ackbot run):\n");
					json_array_foreach(json_object_get(r, "restart"), i, e)
						printf("  %s\n", json_string_value(e));
				}
			} else {
				json_array_foreach(json_object_get(r, "errors"), i, e) {
					fprintf(stderr, "%s:%d:%d: %s: %s\n",
					    json_string_value(json_object_get(e, "file")),
					    (int)json_integer_value(json_object_get(e, "line")),
					    (int)json_integer_value(json_object_get(e, "col")),
					    json_string_value(json_object_get(e, "severity")),
					    json_string_value(json_object_get(e, "msg")));
					if (json_is_string(json_object_get(e, "hint")))
						fprintf(stderr, "  hint: %s\n",
						    json_string_value(json_object_get(e, "hint")));
				}
				fprintf(stderr, "ackbot: not reloaded (pid %ld): %s\n", v.pid,
				    json_string_value(json_object_get(r, "summary")));
			}
			view_free(&v);
			return ok ? 0 : 1;
		}
		if (!v.held || (v.pid > 0 && v.pid != pid)) {
			fprintf(stderr, "ackbot: the daemon (pid %ld) exited before answering\n"
			    "  hint: see its log\n", pid);
			view_free(&v);
			return 1;
		}
	}
	fprintf(stderr, "ackbot: no answer from the daemon (pid %ld) within %lld ms\n"
	    "  hint: see its log; ackbot status shows its state\n", pid, (long long)timeout);
	view_free(&v);
	return 1;
}

/* ---- stop ---- */

static const char usage_stop[] =
    "usage: ackbot stop [-c FILE | --data-dir DIR] [--timeout DURATION]\n"
    "Stops the daemon running on this configuration's data directory (SIGTERM: it drains,\n"
    "replies in flight finish) and waits until it has exited (default: the drain time\n"
    "plus 10s). Exit 0 once it is stopped or when none was running, 1 when it is still\n"
    "running after the timeout.\n";

/* pid is a process that has not exited (a zombie has: only its parent has not looked). */
static int
alive(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (comm) S ...": the state after the last ')' */
	if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
		return 0;
	return p[2] != 'Z' && p[2] != 'X';
}

int
cmd_stop(int argc, char **argv)
{
	static const char *const flags[] = { "timeout=", "data-dir=", NULL };
	const char *config, *vals[2];
	struct daemon_view v;
	int64_t timeout, end;
	long pid;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_stop, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_stop, "unexpected argument '%s'", argv[first]);
	if (view_load(config, vals[1], &v) != 0)
		return 1;
	timeout = v.drain_ms + 10000;
	if (vals[0] != NULL && conf_parse_duration_ms(vals[0], &timeout) != 0) {
		view_free(&v);
		return cli_usage_error(usage_stop, "invalid --timeout '%s'", vals[0]);
	}
	if (view_refresh(&v) != 0) {
		view_free(&v);
		return 1;
	}
	if (!v.held) {
		printf("ackbot is not running on data_dir %s\n", v.data_dir);
		view_free(&v);
		return 0;
	}
	pid = v.pid;
	if (signal_daemon(&v, SIGTERM) != 0) {
		view_free(&v);
		return 1;
	}
	end = store_now_ms() + timeout;
	while (store_now_ms() < end) {
		if (view_refresh(&v) != 0)
			break;
		if (!v.held || (v.pid > 0 && v.pid != pid)) {	/* gone (maybe restarted since) */
			/* the lock goes a moment before the process: wait for that too */
			while (alive(pid) && store_now_ms() < end)
				usleep(20 * 1000);
			printf("stopped (pid %ld)\n", pid);
			view_free(&v);
			return 0;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "ackbot: pid %ld is still running after %lld ms\n  hint: see its log; "
	    "kill -9 is safe (nothing is lost) but a reply in flight may then be sent again "
	    "with the same idempotency key\n", pid, (long long)timeout);
	view_free(&v);
	return 1;
}
