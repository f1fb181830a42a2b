/* daemon.c - the daemon's life: start-up order (data directory lock, store, syncer, inbox,
 * outbox, sender, handoff log, sources, admin), the loop's work point that moves the
 * pipeline along (inbox -> pipeline -> sender -> handoff log), signals, reload, drain and
 * shutdown. Every stage lives in its own file; this one only wires and orders them. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "handoff_log.h"
#include "http.h"
#include "httpc.h"
#include "inbox.h"
#include "intents.h"
#include "log.h"
#include "train.h"
#include "metrics.h"
#include "outbox.h"
#include "pipeline.h"
#include "sender.h"
#include "source.h"
#include "status.h"
#include "store.h"
#include "syncer.h"

#define MAINT_MS 200		/* store maintenance (checkpoints) at most this often */
#define RETRY_MS 1000		/* processing or logging after a store error */
#define CLOSE_ANSWERS_MS 1000	/* at exit, answers still being written get this long */
#define LOG_BATCH_MS 20
#define STATUS_MS 500		/* the status file is rewritten at most this often */		/* handoff log lines go out in batches, one fsync per batch */

struct daemon {
	uv_loop_t loop;
	const char *config_path;
	const struct daemon_opts *opts;
	struct config *cfg;
	struct intents *intents;
	struct store *store;
	struct syncer *syncer;
	int store_slot;
	uint64_t store_synced;	/* the newest store sync generation that finished well */
	uint64_t log_after;	/* handoffs committed: the log waits for this generation */
	struct inbox *inbox;
	struct outbox *outbox;
	struct sender *sender;
	struct handoff_log *hlog;
	struct http_server *http;
	struct httpc *httpc;
	struct admin admin;
	struct source_env env;
	struct source **src;
	size_t nsrc;
	int lock_fd[2];		/* data_dir's lock, and the store's directory's when apart */

	uv_check_t check;	/* after each poll: the work point */
	uv_idle_t idle;		/* keeps poll from blocking while work is pending */
	uv_timer_t retry_timer;	/* processing / logging after a store error */
	uv_timer_t log_timer;	/* the next handoff log batch */
	uv_timer_t maint_timer;
	uv_work_t maint_work;
	int maint_busy;
	struct ack_err maint_err;
	uv_timer_t drain_timer;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t status_timer;
	struct status *status;	/* data_dir/ackbot.status, for `ackbot status` and `reload` */
	char boot_id[17];	/* this run, in the pid file and the status file */
	struct config *boot_cfg;	/* as started: what a reload cannot change is compared to it */

	int need_process, need_log, log_due, retry_wait;
	int draining, closed;
	int exit_code;
};

static void idle_cb(uv_idle_t *h) { (void)h; }

static void
wake(void *arg)
{
	struct daemon *d = arg;

	if (!d->closed)
		uv_idle_start(&d->idle, idle_cb);
}

static struct source *
find_source(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nsrc; i++)
		if (strcmp(d->src[i]->name, name) == 0)
			return d->src[i];
	return NULL;
}

/* ---- hooks the stages call ---- */

static struct source *
sender_find(void *arg, const char *name, int *configured)
{
	struct daemon *d = arg;

	*configured = 0;
	for (size_t i = 0; i < d->cfg->nsources; i++)
		if (strcmp(d->cfg->sources[i].name, name) == 0)
			*configured = 1;
	return find_source(d, name);
}

/* Handoffs were committed: their log lines wait for a store sync that started after now.
 * No round is asked for here: the inbox's next one, or the log's own when its batch is
 * due (check_cb), covers them, so a handoff never costs an fsync of its own. */
static void
handed_off(void *arg)
{
	struct daemon *d = arg;

	d->log_after = syncer_next_gen(d->syncer, d->store_slot);
	d->need_log = 1;
}

static size_t
max_len_for(void *arg, const char *source)
{
	struct source *s = find_source(arg, source);

	return s ? s->max_length : 500;
}

static void
decided(void *arg, const struct mention *m, const struct pipeline_result *res)
{
	struct source *s = find_source(arg, m->source);
	struct source_notice n;

	log_info("pipeline", "decided", "source=%s mention=%s intent=%s action=%s reason=%s ticket=%s "
	    "lang=%s%s", log_q(m->source), log_q(m->platform_id), res->intent ? res->intent : "-",
	    res->action, res->reason, res->ticket[0] ? res->ticket : "-",
	    res->lang ? res->lang : "-", res->lang_detected ? " lang_detected=1" : "");
	if (res->guard.changed != NULL) {
		const struct guard_verdict *g = &res->guard;
		char sig[160] = "-";
		size_t o = 0;
		for (size_t i = 0; i < g->nsignals && o < sizeof(sig) - 1; i++)
			o += (size_t)snprintf(sig + o, sizeof(sig) - o, "%s%s", i ? "," : "",
			    g->signals[i]);
		log_info("guard", "veto", "source=%s mention=%s changed=%s class=%s score=%.3f "
		    "problem=%.3f spam=%.3f praise=%.3f safety=%.3f legal=%.3f signals=%s",
		    log_q(m->source), log_q(m->platform_id), g->changed,
		    g->scored ? guard_class_names[g->top] : "-", g->scored ? g->p[g->top] : 0,
		    g->problem, g->p[G_SPAM], g->p[G_PRAISE], g->p[G_SAFETY], g->p[G_LEGAL_PRIVACY], sig);
		metrics_inc(M_GUARD_VETOES, g->changed);
	}
	metrics_inc(M_MENTIONS_PROCESSED, res->intent ? res->intent : "(none)");
	if (res->ticket[0])
		metrics_inc(M_HANDOFFS_CREATED, res->queue);
	if (res->limit_hit) {
		metrics_inc(M_MATCH_LIMIT_HITS, NULL);
		log_warn("pipeline", "match_limit", "source=%s mention=%s ticket=%s",
		    log_q(m->source), log_q(m->platform_id), res->ticket);
	}
	if (s == NULL || s->ops->notice == NULL)
		return;
	memset(&n, 0, sizeof(n));
	n.platform_id = m->platform_id;
	n.intent = res->intent;
	n.action = res->action;
	n.reason = res->reason;
	n.ticket = res->ticket[0] ? res->ticket : NULL;
	n.queue = res->queue;
	n.priority = res->ticket[0] ? handoff_priority_name(res->priority) : NULL;
	s->ops->notice(s, &n);
}

static void daemon_stop(struct daemon *d);

static void
source_fail(void *arg, const char *source, const char *why)
{
	struct daemon *d = arg;

	log_error("main", "source_failed", "source=%s error=%s exit=3", log_q(source), log_q(why));
	d->exit_code = 3;
	daemon_stop(d);
}

static void retry_later(struct daemon *d);

/* The store's sync (the syncer's worker thread) finished a round. */
static void
store_synced(void *arg, uint64_t gen, int rc, const struct ack_err *err)
{
	struct daemon *d = arg;

	if (rc != 0)
		log_error("store", "sync_failed", "error=%s", log_q(err ? err->msg : "?"));
	else if (gen > d->store_synced)
		d->store_synced = gen;
	inbox_synced(d->inbox, gen, rc);
	if (rc != 0)
		retry_later(d);		/* the log's own round, if any, is asked for again later */
	wake(d);
}

static int
store_sync(void *arg, struct ack_err *err)
{
	struct store *st = arg;

	return st->ops->sync(st, err);
}

/* ---- the loop's work point ---- */

static void
retry_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;

	d->retry_wait = 0;
	wake(d);
}

static void
retry_later(struct daemon *d)
{
	d->retry_wait = 1;
	if (!uv_is_active((uv_handle_t *)&d->retry_timer))
		uv_timer_start(&d->retry_timer, retry_cb, RETRY_MS, 0);
}

static void
log_timer_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;

	d->log_due = 1;
	wake(d);
}

static void begin_close(struct daemon *d);

static void
check_cb(uv_check_t *h)
{
	struct daemon *d = h->data;
	struct pipeline_hooks ph = { max_len_for, decided, d };
	struct ack_err err;
	int more = 0, rc;

	syncer_pause(d->syncer, 1);	/* one fsync round for this iteration's commits */
	if (inbox_flush(d->inbox) > 0)
		d->need_process = 1;
	if (d->need_process && !d->retry_wait) {
		size_t handoffs = 0;
		ack_err_clear(&err);
		rc = pipeline_process(d->cfg, d->intents, d->store, &ph, &handoffs, &err);
		if (handoffs > 0)
			handed_off(d);
		if (rc < 0) {
			log_error("pipeline", "store_error", "error=%s retry_ms=%d", log_q(err.msg),
			    RETRY_MS);
			retry_later(d);
		} else {
			d->need_process = rc == 1;
			more |= rc == 1;
		}
		sender_kick(d->sender);
	}
	more |= sender_work(d->sender);
	/* handoff lines in batches, and only for handoffs the store has made durable */
	if (d->need_log && !d->log_due && !uv_is_active((uv_handle_t *)&d->log_timer))
		uv_timer_start(&d->log_timer, log_timer_cb, d->draining ? 0 : LOG_BATCH_MS, 0);
	if (d->log_due && !d->retry_wait && d->store_synced < d->log_after &&
	    !syncer_slot_busy(d->syncer, d->store_slot))
		syncer_request(d->syncer, d->store_slot);	/* nobody else asked: the log does */
	if (d->log_due && !d->retry_wait && d->store_synced >= d->log_after) {
		ack_err_clear(&err);
		rc = handoff_log_flush(d->hlog, &err);
		if (rc < 0) {
			log_error("handoff", "log_failed", "error=%s retry_ms=%d", log_q(err.msg),
			    RETRY_MS);
			retry_later(d);
		} else if (rc == 1) {
			more = 1;
		} else if (handoff_log_idle(d->hlog)) {
			d->need_log = d->log_due = 0;
		}
	}
	syncer_pause(d->syncer, 0);
	if (!more)
		uv_idle_stop(&d->idle);
	if (d->draining && !d->closed && inbox_idle(d->inbox) && sender_in_flight(d->sender) == 0 &&
	    !d->need_process && (!d->need_log || d->retry_wait) && handoff_log_idle(d->hlog))
		begin_close(d);
}

/* Store maintenance off the loop: SQLite's checkpoints fsync the database file. */
static void
maint_work_cb(uv_work_t *w)
{
	struct daemon *d = w->data;

	ack_err_clear(&d->maint_err);
	d->store->ops->maintain(d->store, &d->maint_err);
}

static void
maint_after_cb(uv_work_t *w, int status)
{
	struct daemon *d = w->data;

	d->maint_busy = 0;
	if (status == 0 && d->maint_err.code != 0)
		log_error("store", "maintenance_failed", "error=%s", log_q(d->maint_err.msg));
}

static void
maint_timer_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (d->maint_busy || d->closed)
		return;
	d->maint_work.data = d;
	if (uv_queue_work(&d->loop, &d->maint_work, maint_work_cb, maint_after_cb) == 0)
		d->maint_busy = 1;
}

/* ---- signals, reload, drain ---- */

/* The second opinion for in, before the loop runs (training, when the model file is
 * missing, takes a few seconds once). A model file that cannot be read is an error; no
 * model and no corpus to train one from leaves the patterns and signals alone. */
static int
load_guard(const struct config *c, struct intents *in, struct store *st)
{
	struct ack_err err;
	int trained = 0;
	int64_t t0 = store_now_ms();

	ack_err_clear(&err);
	if (train_ensure(c, in, st, 1, &trained, &err) != 0) {
		if (err.code == ACK_ENOENT) {
			log_warn("guard", "off", "reason=%s hint=%s", log_q(err.msg),
			    log_q("set guard.corpus, or run `ackbot model train`"));
			return 0;
		}
		log_error("guard", "model_failed", "model=%s error=%s", log_q(c->guard_model),
		    log_q(err.msg));
		return -1;
	}
	if (in->guard != NULL)
		log_info("guard", trained ? "model_trained" : "model_loaded",
		    "model=%s version=%s examples=%zu ms=%lld", log_q(c->guard_model),
		    guard_model_version(in->guard), guard_model_trained_on(in->guard),
		    (long long)(store_now_ms() - t0));
	return 0;
}

/* The command line's level wins over the configuration's, at start and after a reload. */
static void
set_log_level(struct daemon *d, const struct config *c)
{
	log_set_level(d->opts->log_level ? d->opts->log_level : c->log_level);
}

static void
reload(struct daemon *d)
{
	struct diag dg;
	struct config *nc, *old;
	struct intents *ni = NULL;
	char **restart = NULL, summary[160];
	size_t nrestart;

	if (d->opts->log_file != NULL && log_open_file(d->opts->log_file) != 0)	/* rotation */
		log_error("main", "log_file", "path=%s error=%s kept=previous",
		    log_q(d->opts->log_file), log_q(strerror(errno)));
	diag_init(&dg);
	nc = config_load(d->config_path, &dg);
	if (nc != NULL && config_check_runnable(nc, &dg) > 0) {
		config_free(nc);
		nc = NULL;
	}
	if (nc != NULL)
		ni = intents_load(nc, &dg);
	if (nc == NULL || ni == NULL) {
		for (size_t i = 0; i < dg.n; i++)
			if (dg.items[i].severity == DIAG_ERROR)
				log_error("main", "reload_error", "at=%s:%d:%d msg=%s hint=%s",
				    dg.items[i].file, dg.items[i].line, dg.items[i].col,
				    log_q(dg.items[i].msg), log_q(dg.items[i].hint ? dg.items[i].hint : ""));
		log_error("main", "reload", "ok=0 errors=%zu kept=previous", dg.errors);
		status_reloaded(d->status, 0, "errors: the previous configuration stays in use", &dg,
		    NULL, 0);
		status_flush(d->status, d->src, d->nsrc, d->cfg, 1);
		intents_free(ni);
		config_free(nc);
		diag_free(&dg);
		return;
	}
	diag_free(&dg);
	/* the loop never trains: a model file gone missing keeps the model in use */
	if (nc->guard_on && d->intents->guard != NULL && access(nc->guard_model, F_OK) != 0) {
		log_warn("guard", "model_missing", "model=%s kept=%s", log_q(nc->guard_model),
		    guard_model_version(d->intents->guard));
		ni->guard = d->intents->guard;
		d->intents->guard = NULL;
	} else if (!nc->guard_on || access(nc->guard_model, F_OK) == 0) {
		if (load_guard(nc, ni, d->store) != 0) {
			log_error("main", "reload", "ok=0 errors=1 kept=previous");
			status_reloaded(d->status, 0, "the guard's model cannot be read (see the log): "
			    "the previous configuration stays in use", NULL, NULL, 0);
			status_flush(d->status, d->src, d->nsrc, d->cfg, 1);
			intents_free(ni);
			config_free(nc);
			return;
		}
	}
	/* sources keep their listeners: their keys take effect at the next start */
	old = d->cfg;
	nrestart = status_restart_needed(d->status, d->boot_cfg ? d->boot_cfg : old, nc, &restart);
	for (size_t i = 0; i < nrestart; i++)
		log_warn("main", "reload_needs_restart", "setting=%s", log_q(restart[i]));
	intents_free(d->intents);
	d->intents = ni;
	d->cfg = nc;
	sender_set_config(d->sender, nc);
	set_log_level(d, nc);
	if (d->boot_cfg == NULL)
		d->boot_cfg = old;	/* kept: what the sources and listeners run with */
	else
		config_free(old);
	log_info("main", "reload", "ok=1 intents=%zu model=%s needs_restart=%zu", d->intents->n,
	    d->intents->guard ? guard_model_version(d->intents->guard) : "-", nrestart);
	snprintf(summary, sizeof(summary), "%zu intents, model %s", d->intents->n,
	    d->intents->guard ? guard_model_version(d->intents->guard) : "off");
	status_reloaded(d->status, 1, summary, NULL, restart, nrestart);
	status_flush(d->status, d->src, d->nsrc, d->cfg, 1);
	for (size_t i = 0; i < nrestart; i++)
		free(restart[i]);
	free(restart);
}

static void
drain_timeout_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;

	log_warn("main", "drain_timeout", "in_flight=%zu", sender_in_flight(d->sender));
	begin_close(d);
}

static void
daemon_stop(struct daemon *d)
{
	if (d->draining)
		return;
	d->draining = 1;
	d->admin.draining = 1;
	status_set_state(d->status, "stopping");
	status_flush(d->status, d->src, d->nsrc, d->cfg, 1);
	log_info("main", "draining", "in_flight=%zu", sender_in_flight(d->sender));
	for (size_t i = 0; i < d->nsrc; i++)
		if (d->src[i]->ops->stop != NULL)
			d->src[i]->ops->stop(d->src[i]);
	inbox_refuse(d->inbox);
	sender_refuse(d->sender);	/* posts in flight finish; the rest waits for the next start */
	uv_timer_start(&d->drain_timer, drain_timeout_cb, (uint64_t)d->cfg->drain_ms, 0);
	wake(d);
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP)
		reload(d);
	else
		daemon_stop(d);
}

static void
begin_close(struct daemon *d)
{
	if (d->closed)
		return;
	d->closed = 1;
	sender_refuse(d->sender);
	sender_flush(d->sender);
	http_drain(d->http);	/* a request still held is answered 503: the platform retries */
	uv_stop(&d->loop);
}

/* ---- start-up and shutdown ---- */

static int
mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* One daemon per data directory: an exclusive lock on DIR/ackbot.pid, held while it runs
 * (the kernel drops it when the process dies, kill -9 included). */
/* 16 hex digits from the kernel's random source (the time and pid when it fails). */
static void
boot_id(char out[17])
{
	unsigned char b[8];
	uint64_t v = 0;

	if (getrandom(b, sizeof(b), 0) == (ssize_t)sizeof(b))
		memcpy(&v, b, sizeof(v));
	else
		v = (uint64_t)store_now_ms() * 1000003u ^ (uint64_t)getpid();
	snprintf(out, 17, "%016llx", (unsigned long long)v);
}

static int
lock_dir(const char *dir, const char *boot, int *out)
{
	char path[4200], pid[64] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/ackbot.pid", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		char msg[4400];
		int e = errno;
		snprintf(msg, sizeof(msg), "cannot open the pid file %s: %s", path,
		    e == EACCES ? "permission denied" : strerror(e));
		log_error("main", "start_failed", "error=%s hint=%s", log_q(msg), log_q(e == EACCES ?
		    "run ackbot as the user that owns the data directory, or chown it to this one" :
		    "check data_dir (ackbot check)"));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char msg[512];
		if ((n = pread(fd, pid, sizeof(pid) - 1, 0)) > 0)
			pid[n] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(msg, sizeof(msg), "data directory %s is in use by another ackbot (pid %s)",
		    dir, pid[0] ? pid : "?");
		log_error("main", "start_failed", "error=%s", log_q(msg));
		close(fd);
		return -1;
	}
	/* the pid, and this run's id: `ackbot status` trusts the status file only when its
	 * boot id is this one (a pid may be reused, or be another namespace's) */
	n = snprintf(pid, sizeof(pid), "%d\nboot=%s\n", (int)getpid(), boot);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("main", "pid_file", "path=%s error=%s", log_q(path), log_q(strerror(errno)));
	*out = fd;
	return 0;
}

/* The data directory, and the store's own directory when db_path points elsewhere: two
 * daemons must never share a store, whatever their data_dir. */
static int
lock_data_dir(struct daemon *d)
{
	char dbdir[4096];
	const char *slash = strrchr(d->cfg->db_path, '/');
	struct stat a, b;

	if (lock_dir(d->cfg->data_dir, d->boot_id, &d->lock_fd[0]) != 0)
		return -1;
	snprintf(dbdir, sizeof(dbdir), "%.*s", slash ? (int)(slash - d->cfg->db_path) : 1,
	    slash ? d->cfg->db_path : ".");
	if (slash == d->cfg->db_path)
		snprintf(dbdir, sizeof(dbdir), "/");
	if (stat(dbdir, &a) == 0 && stat(d->cfg->data_dir, &b) == 0 &&
	    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		return lock_dir(dbdir, d->boot_id, &d->lock_fd[1]);
	return 0;
}

static int
start_sources(struct daemon *d, struct diag *dg)
{
	d->src = calloc(d->cfg->nsources ? d->cfg->nsources : 1, sizeof(*d->src));
	if (d->src == NULL)
		return -1;
	for (size_t i = 0; i < d->cfg->nsources; i++) {
		struct source_conf *sc = &d->cfg->sources[i];
		const struct source_ops *ops = source_find_type(sc->type);
		struct source *s = NULL;

		if (ops == NULL) {
			diag_add(dg, DIAG_ERROR, d->cfg->path, sc->line, sc->col, NULL,
			    "unknown source type '%s'", sc->type);
			continue;
		}
		if (sc->enabled == CONF_OFF)
			continue;
		if (ops->configure(&s, &d->env, sc, d->cfg, dg) != 0 || s == NULL)
			continue;
		d->src[d->nsrc++] = s;
	}
	return dg->errors ? -1 : 0;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
close_handle(void *h)
{
	uv_handle_t *hd = h;

	if (hd->loop != NULL && !uv_is_closing(hd))
		uv_close(hd, NULL);
}

static void
answers_timeout_cb(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* The last answers (503s of the drain) reach their sockets, for a bounded time. */
static void
write_last_answers(struct daemon *d)
{
	uv_timer_t t;
	int expired = 0;

	http_drain(d->http);
	if (http_pending(d->http) == 0)
		return;
	uv_timer_init(&d->loop, &t);
	t.data = &expired;
	uv_timer_start(&t, answers_timeout_cb, CLOSE_ANSWERS_MS, 0);
	while (!expired && http_pending(d->http) > 0)
		uv_run(&d->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&d->loop, UV_RUN_NOWAIT);
}

static int
open_stages(struct daemon *d, struct ack_err *err)
{
	struct sender_hooks sh = { sender_find, wake, handed_off, d };

	if (syncer_open(&d->syncer, &d->loop, err) != 0)
		return -1;
	if ((d->store_slot = syncer_add(d->syncer, store_sync, d->store, store_synced, d)) < 0)
		return ack_fail(err, ACK_EINVAL, "syncer: no slot for the store");
	if (inbox_open(&d->inbox, &d->loop, d->store, d->syncer, d->store_slot, wake, d, err) != 0 ||
	    sender_open(&d->sender, &d->loop, d->store, d->outbox, d->cfg, &sh, err) != 0 ||
	    handoff_log_open(&d->hlog, d->cfg->handoff_log, d->store, d->syncer, wake, d, err) != 0 ||
	    http_open(&d->http, &d->loop, err) != 0 || httpc_open(&d->httpc, &d->loop, err) != 0)
		return -1;
	d->env.loop = &d->loop;
	d->env.http = d->http;
	d->env.httpc = d->httpc;
	d->env.inbox = d->inbox;
	d->env.sender = d->sender;
	d->env.fail = source_fail;
	d->env.arg = d;
	return 0;
}

/* Every source is off or finished (the console's input ended) and nothing is left to do
 * now: nothing can arrive any more, so stop (`echo "@brand thanks" | ackbot run`). */
static void
maybe_finished(struct daemon *d)
{
	struct ack_err err;
	int64_t due = 0, now = store_now_ms();
	int finished = 0;

	if (d->draining || d->need_process || d->need_log || d->log_due ||
	    sender_in_flight(d->sender) > 0 || !inbox_idle(d->inbox))
		return;
	for (size_t i = 0; i < d->nsrc; i++) {
		if (d->src[i]->active && !d->src[i]->finished)
			return;
		finished |= d->src[i]->finished;
	}
	ack_err_clear(&err);
	if (!finished || d->store->ops->reply_next_due(d->store, now, &due, &err) != 0 ||
	    (due != 0 && due <= now + 1000))
		return;
	log_info("main", "input_ended", "reason=%s", log_q("no source takes mentions any more"));
	daemon_stop(d);
}

static void
status_timer_cb(uv_timer_t *t)
{
	struct daemon *d = t->data;

	status_flush(d->status, d->src, d->nsrc, d->cfg, 0);
	maybe_finished(d);
}

static void
init_handles(struct daemon *d)
{
	uv_check_init(&d->loop, &d->check);
	d->check.data = d;
	uv_check_start(&d->check, check_cb);
	uv_idle_init(&d->loop, &d->idle);
	d->idle.data = d;
	uv_timer_init(&d->loop, &d->retry_timer);
	d->retry_timer.data = d;
	uv_timer_init(&d->loop, &d->log_timer);
	d->log_timer.data = d;
	uv_timer_init(&d->loop, &d->maint_timer);
	d->maint_timer.data = d;
	uv_timer_start(&d->maint_timer, maint_timer_cb, MAINT_MS, MAINT_MS);
	uv_timer_init(&d->loop, &d->drain_timer);
	d->drain_timer.data = d;
	uv_timer_init(&d->loop, &d->status_timer);
	d->status_timer.data = d;
	uv_timer_start(&d->status_timer, status_timer_cb, STATUS_MS, STATUS_MS);
	uv_signal_init(&d->loop, &d->sig_term);
	uv_signal_init(&d->loop, &d->sig_int);
	uv_signal_init(&d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, signal_cb, SIGTERM);
	uv_signal_start(&d->sig_int, signal_cb, SIGINT);
	uv_signal_start(&d->sig_hup, signal_cb, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
}

static void
close_all(struct daemon *d)
{
	if (d->http != NULL)
		write_last_answers(d);
	inbox_close(d->inbox);		/* items still queued fail: their sources hear it */
	for (size_t i = 0; i < d->nsrc; i++)
		d->src[i]->ops->free(d->src[i]);
	free(d->src);
	d->src = NULL;
	d->nsrc = 0;
	sender_close(d->sender);
	close_handle(&d->check);
	close_handle(&d->idle);
	close_handle(&d->retry_timer);
	close_handle(&d->log_timer);
	close_handle(&d->maint_timer);
	close_handle(&d->drain_timer);
	close_handle(&d->status_timer);
	close_handle(&d->sig_term);
	close_handle(&d->sig_int);
	close_handle(&d->sig_hup);
	http_close(d->http);	/* lws closes its own handles on the next runs of the loop */
	httpc_close(d->httpc);
	syncer_close(d->syncer);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d->loop) == UV_EBUSY) {
		uv_walk(&d->loop, close_walk, NULL);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		uv_loop_close(&d->loop);
	}
	handoff_log_close(d->hlog);
}

/* Not one source on: the daemon would never receive a mention. Says why, per source. */
static int
no_source_on(struct daemon *d)
{
	char why[1500];
	size_t o = 0;

	for (size_t i = 0; i < d->nsrc; i++)
		if (d->src[i]->active)
			return 0;
	why[0] = '\0';
	for (size_t i = 0; i < d->nsrc && o < sizeof(why); i++)
		o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s (%s)", i ? "; " : "",
		    d->src[i]->name, d->src[i]->state[0] ? d->src[i]->state : "off");
	for (size_t i = 0; i < d->cfg->nsources && o < sizeof(why); i++)
		if (d->cfg->sources[i].enabled == CONF_OFF)
			o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s (enabled: false)",
			    o ? "; " : "", d->cfg->sources[i].name);
	log_error("main", "start_failed", "error=%s sources=%s hint=%s",
	    log_q("no source is on: ackbot would never receive a mention"), log_q(why),
	    log_q("give a source what it needs (the webhook its secret, Mastodon its URL and "
	    "token), or pipe mentions into the console: echo '@brand thanks' | ackbot run"));
	return -1;
}

/* On the loop: the stages, the sources, the admin listener, then the resume of whatever the
 * last run left (unfinished mentions, unlogged handoffs, pending replies). Returns 0, or -1
 * after logging why (the caller closes what was opened). */
static int
start_loop_side(struct daemon *d, struct diag *dg)
{
	struct ack_err err;

	ack_err_clear(&err);
	if (open_stages(d, &err) != 0) {
		log_error("main", "start_failed", "error=%s", log_q(err.msg));
		return -1;
	}
	if (start_sources(d, dg) != 0) {
		diag_print(dg, stderr);
		return -1;
	}
	for (size_t i = 0; i < d->nsrc; i++) {
		ack_err_clear(&err);
		if (d->src[i]->ops->start(d->src[i], &err) != 0) {
			log_error("main", "start_failed", "source=%s error=%s", log_q(d->src[i]->name),
			    log_q(err.msg));
			return -1;
		}
	}
	if (no_source_on(d) != 0)
		return -1;
	d->admin.st = d->store;
	if (d->cfg->admin_host != NULL &&
	    admin_listen(&d->admin, d->http, d->cfg->admin_host, d->cfg->admin_port, &err) != 0) {
		log_error("main", "start_failed", "error=%s", log_q(err.msg));
		return -1;
	}
	d->need_process = d->need_log = 1;
	sender_kick(d->sender);
	wake(d);
	return 0;
}

/* Opens the store and recovers the outbox (the leases of a dead past end before the
 * loop's short lock waits begin). Another process holding the store's lock (an operator's
 * sqlite3, a CLI command, a backup) holds the start up, not fails it: the daemon waits
 * up to START_LOCK_WAIT_MS, saying so once, and SIGTERM/SIGINT meanwhile stop it cleanly
 * (a SIGHUP stays pending for the handlers to come). 0, 1 when told to stop, -1 on error. */
#define START_LOCK_WAIT_MS 60000
static int
open_store_waiting(struct daemon *d, struct ack_err *err)
{
	int64_t start = store_now_ms();
	int said = 0;
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	for (;;) {
		ack_err_clear(err);
		if (store_open(&d->store, d->cfg->db_path, 0, err) == 0 &&
		    outbox_open(&d->outbox, d->store, NULL, err) == 0 &&
		    outbox_recover(d->outbox, err) == 0 &&
		    d->store->ops->defer_sync(d->store, 1, err) == 0)
			return 0;
		outbox_close(d->outbox);
		d->outbox = NULL;
		store_close(d->store);
		d->store = NULL;
		if (err->code != ACK_ETEMP || store_now_ms() - start >= START_LOCK_WAIT_MS)
			return -1;
		if (!said++)
			log_warn("main", "store_locked", "error=%s waiting=%ds hint=%s",
			    log_q(err->msg), START_LOCK_WAIT_MS / 1000,
			    log_q("another process holds the store's lock: the start goes on when it lets go"));
		struct timespec ts = { 0, 250 * 1000 * 1000 };
		if (sigtimedwait(&stop, NULL, &ts) > 0)
			return 1;
	}
}

int
daemon_run(const struct daemon_opts *o)
{
	const char *config_path = o->config_path;
	struct daemon dm, *d = &dm;
	struct diag dg;
	struct ack_err err;
	int code = 3, rc;

	memset(d, 0, sizeof(*d));
	d->lock_fd[0] = d->lock_fd[1] = -1;
	boot_id(d->boot_id);
	/* a stop or reload that comes while starting waits for the handlers (uv_signal) */
	sigset_t ctl;
	sigemptyset(&ctl);
	sigaddset(&ctl, SIGHUP);
	sigaddset(&ctl, SIGTERM);
	sigaddset(&ctl, SIGINT);
	sigprocmask(SIG_BLOCK, &ctl, NULL);
	d->config_path = config_path;
	d->opts = o;
	d->admin.started_ms = store_now_ms();
	srandom((unsigned)(d->admin.started_ms ^ getpid()));
	diag_init(&dg);
	ack_err_clear(&err);

	d->cfg = config_load(config_path, &dg);
	if (d->cfg != NULL && config_check_runnable(d->cfg, &dg) > 0) {
		config_free(d->cfg);
		d->cfg = NULL;
	}
	if (d->cfg != NULL)
		d->intents = intents_load(d->cfg, &dg);
	if (d->cfg == NULL || d->intents == NULL) {
		diag_print(&dg, stderr);
		fprintf(stderr, "ackbot: not started: fix the errors above (ackbot check -c %s)\n",
		    config_path);
		diag_free(&dg);
		config_free(d->cfg);
		return 1;
	}
	set_log_level(d, d->cfg);
	if (mkdir_p(d->cfg->data_dir) != 0) {
		log_error("main", "start_failed", "error=%s data_dir=%s", log_q(strerror(errno)),
		    log_q(d->cfg->data_dir));
		goto out_cfg;
	}
	if (lock_data_dir(d) != 0)
		goto out_cfg;
	d->status = status_new(d->cfg, d->admin.started_ms, d->boot_id);	/* NULL: no file */
	status_flush(d->status, NULL, 0, d->cfg, 1);	/* "starting" */
	if ((rc = open_store_waiting(d, &err)) != 0) {
		if (rc > 0)	/* told to stop while waiting */
			code = 0;
		else
			log_error("main", "start_failed", "error=%s", log_q(err.msg));
		goto out_store;
	}
	if (load_guard(d->cfg, d->intents, d->store) != 0)
		goto out_store;
	/* the thread pool does store maintenance only: one thread (one malloc arena) is enough */
	setenv("UV_THREADPOOL_SIZE", "1", 0);
	/* each loop iteration frees what it allocated; with the syncer's thread in the
	 * process, giving the top of the heap back every time (brk) costs a TLB shootdown
	 * on the other CPU: keep up to 4 MiB of it */
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
	uv_loop_init(&d->loop);
	init_handles(d);
	sigprocmask(SIG_UNBLOCK, &ctl, NULL);	/* one that came meanwhile is handled now */
	if (start_loop_side(d, &dg) != 0)
		goto out_loop;
	log_info("main", "ready", "pid=%d intents=%zu sources=%zu admin=%s:%d", (int)getpid(),
	    d->intents->n, d->nsrc, d->cfg->admin_host ? d->cfg->admin_host : "off",
	    d->cfg->admin_port);
	status_set_state(d->status, "running");
	status_flush(d->status, d->src, d->nsrc, d->cfg, 1);

	uv_run(&d->loop, UV_RUN_DEFAULT);
	code = d->exit_code;
	log_info("main", "stopping", "in_flight=%zu", sender_in_flight(d->sender));

out_loop:
	close_all(d);
out_store:
	outbox_close(d->outbox);
	store_close(d->store);
	status_remove(d->status);	/* before the lock goes: a new daemon may write its own */
	status_free(d->status);
	for (int i = 0; i < 2; i++)
		if (d->lock_fd[i] >= 0)
			close(d->lock_fd[i]);
out_cfg:
	sigprocmask(SIG_UNBLOCK, &ctl, NULL);
	intents_free(d->intents);
	config_free(d->cfg);
	config_free(d->boot_cfg);
	diag_free(&dg);
	if (code == 0)
		log_info("main", "stopped", NULL);
	return code;
}
