/* app.c - the daemon: start-up order, the durable intake (group commit, then acknowledge),
 * processing, the sender, the handoff log, the admin listener, signals, reload, drain. */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff.h"
#include "http.h"
#include "httpc.h"
#include "intents.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "store.h"

#define PROCESS_BATCH 256
#define LOG_BATCH_MS 20	/* one handoff-log fsync per this, not one per mention */
#define MAINT_MS 200	/* store maintenance at most this often */
#define SEND_MAX_IN_FLIGHT 64

struct intake_item {
	struct mention m;
	app_intake_fn *cb;
	void *arg;
	int result;
	struct intake_item *next;
};

struct in_flight {
	int64_t row;
	int attempts;
	int64_t mention_row;
	int64_t received_ms;
	char *source;
	char *text;
};

/* A finished delivery waiting for the next group commit. */
struct done_item {
	struct in_flight f;	/* moved out of the in-flight table */
	struct send_outcome o;
	struct done_item *next;
};

struct app {
	uv_loop_t loop;
	char *config_path;
	struct config *cfg;
	struct intents *intents;
	struct store *store;
	struct http_server *http;
	struct httpc *httpc;
	struct handoff_log *hlog;
	struct source **src;
	size_t nsrc;

	uv_check_t check;	/* after each poll: commit the intake batch, then work */
	uv_idle_t idle;		/* keeps poll from blocking while work is pending */
	uv_timer_t work_timer;	/* retries of processing/logging after a store error */
	uv_timer_t log_timer;	/* handoff log lines go out in batches, every LOG_BATCH_MS */
	uv_timer_t maint_timer;	/* store maintenance (checkpoints) in a worker thread */
	uv_work_t maint_work;
	int maint_busy, maint_dirty;
	struct ack_err maint_err;
	uv_timer_t send_timer;	/* next due reply */
	uv_timer_t drain_timer;
	uv_signal_t sig_term, sig_int, sig_hup;

	struct intake_item *in_head, **in_tail;
	struct intake_item *ack_head;	/* committed, answered once synced */
	int unsynced;		/* committed since the last store sync */
	int sync_due;		/* sync in the next iteration (replies leave first) */
	int log_due;		/* the log timer fired: write the handoff log */
	struct in_flight *fl;
	size_t nfl, capfl;
	struct done_item *done_head, **done_tail;

	int need_process, need_send, need_log, log_recover;
	int draining, closed;
	int exit_code;
	int64_t started_ms;
};

uv_loop_t *app_loop(struct app *a) { return &a->loop; }
struct http_server *app_http(struct app *a) { return a->http; }
struct httpc *app_httpc(struct app *a) { return a->httpc; }
const struct config *app_config(struct app *a) { return a->cfg; }
struct store *app_store(struct app *a) { return a->store; }

static void idle_cb(uv_idle_t *h) { (void)h; }

static void
wake(struct app *a)
{
	if (!a->closed)
		uv_idle_start(&a->idle, idle_cb);
}

static struct source *
find_source(struct app *a, const char *name)
{
	for (size_t i = 0; i < a->nsrc; i++)
		if (strcmp(a->src[i]->name, name) == 0)
			return a->src[i];
	return NULL;
}

int
app_intake(struct app *a, struct mention *m, app_intake_fn *cb, void *arg)
{
	struct intake_item *it;

	if (a->draining)
		return ACK_ETEMP;
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return ACK_ENOMEM;
	it->m = *m;
	memset(m, 0, sizeof(*m));
	it->cb = cb;
	it->arg = arg;
	*a->in_tail = it;
	a->in_tail = &it->next;
	wake(a);
	return 0;
}

/* Cursors compare as the store compares them: length, then text. */
static int
cursor_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* 1 if a later mention of the batch moves the same source's cursor at least as far: the
 * cursor only moves forward, so one write per source and batch is enough. */
static int
later_cursor(const struct intake_item *it)
{
	for (const struct intake_item *n = it->next; n != NULL; n = n->next)
		if (n->m.cursor != NULL && strcmp(n->m.source, it->m.source) == 0 &&
		    cursor_cmp(n->m.cursor, it->m.cursor) >= 0)
			return 1;
	return 0;
}

/* Group commit: every mention that arrived during this loop iteration in one transaction.
 * The sources hear the outcome in ack_intake, once the store has synced. */
static void
flush_intake(struct app *a)
{
	struct intake_item *list = a->in_head, *it, **tail;
	struct ack_err err;
	int rc;

	if (list == NULL)
		return;
	a->in_head = NULL;
	a->in_tail = &a->in_head;
	ack_err_clear(&err);
	rc = a->store->ops->begin(a->store, &err);
	for (it = list; rc == 0 && it != NULL; it = it->next) {
		int dup = 0;
		rc = a->store->ops->mention_put(a->store, &it->m, &dup, &err);
		it->result = dup ? INTAKE_DUPLICATE : INTAKE_ACCEPTED;
		if (rc == 0 && it->m.cursor != NULL && !later_cursor(it))
			rc = a->store->ops->cursor_set(a->store, it->m.source, it->m.cursor, &err);
	}
	if (rc == 0)
		rc = a->store->ops->commit(a->store, &err);
	for (it = list; it != NULL; it = it->next) {
		if (rc != 0)
			it->result = INTAKE_FAILED;
		else if (it->result == INTAKE_ACCEPTED)
			a->need_process = 1;
	}
	if (rc != 0) {
		a->store->ops->rollback(a->store);
		log_error("inbox", "commit_failed", "error=%s", log_q(err.msg));
	} else {
		a->unsynced = 1;
	}
	for (tail = &a->ack_head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = list;
}

/* One fsync for everything committed in this loop iteration, then the sources hear about
 * their mentions: nothing is acknowledged before it is durable. */
static void
ack_intake(struct app *a)
{
	struct intake_item *list = a->ack_head, *it;
	struct ack_err err;
	int synced = 1;

	if (a->unsynced) {
		a->maint_dirty = 1;
		ack_err_clear(&err);
		if (a->store->ops->sync(a->store, &err) != 0) {
			log_error("inbox", "sync_failed", "error=%s", log_q(err.msg));
			synced = 0;	/* maybe not on disk: the platforms send them again */
		}
		a->unsynced = 0;
	}
	a->ack_head = NULL;
	while (list != NULL) {
		it = list;
		list = it->next;
		if (!synced)
			it->result = INTAKE_FAILED;
		if (it->result == INTAKE_ACCEPTED)
			metrics_inc(M_MENTIONS_RECEIVED, it->m.source);
		else if (it->result == INTAKE_DUPLICATE)
			metrics_inc(M_MENTIONS_DUPLICATE, it->m.source);
		if (it->cb != NULL)
			it->cb(it->arg, it->result, &it->m);
		mention_clear(&it->m);
		free(it);
	}
}

static void
work_timer_cb(uv_timer_t *t)
{
	struct app *a = t->data;

	a->need_process = a->need_log = 1;
	wake(a);
}

/* After a store or disk error: try again in a second, without spinning. */
static void
retry_later(struct app *a)
{
	if (!uv_is_active((uv_handle_t *)&a->work_timer))
		uv_timer_start(&a->work_timer, work_timer_cb, 1000, 0);
}

static void
notice(struct app *a, const struct mention *m, const struct pipeline_result *res)
{
	struct source *s = find_source(a, m->source);
	struct source_notice n;

	log_info("pipeline", "decided", "source=%s mention=%s intent=%s action=%s reason=%s ticket=%s",
	    log_q(m->source), log_q(m->platform_id), res->intent ? res->intent : "-",
	    res->action, res->reason, res->ticket[0] ? res->ticket : "-");
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

static size_t
max_len_for(struct app *a, const char *source)
{
	struct source *s = find_source(a, source);

	return s ? s->max_length : 500;
}

/* The last resort for a mention the pipeline could not handle: a person looks at it. */
static int
fail_to_person(struct app *a, struct mention *m, const char *why)
{
	struct store *st = a->store;
	struct handoff h;
	struct decision_rec d;
	struct ack_err err;
	int rc;

	memset(&h, 0, sizeof(h));
	memset(&d, 0, sizeof(d));
	h.mention_row = m->row;
	h.reason = (char *)"processing_failed";
	h.queue = (char *)"support";
	h.priority = HANDOFF_HIGH;
	h.created_ms = store_now_ms();
	d.action = "handoff";
	d.reason = "processing_failed";
	rc = st->ops->begin(st, &err);
	if (rc == 0)
		rc = st->ops->handoff_put(st, &h, &err);
	if (rc == 0)
		rc = st->ops->mention_finish(st, m->row, &d, &err);
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0)
		st->ops->rollback(st);
	log_error("pipeline", "processing_failed", "source=%s mention=%s error=%s handed_off=%d",
	    log_q(m->source), log_q(m->platform_id), log_q(why), rc == 0);
	h.reason = h.queue = NULL;
	handoff_clear(&h);
	return rc;
}

static void
process_pending(struct app *a)
{
	struct store *st = a->store;
	struct mention *v = NULL;
	struct pipeline_result *res = NULL;
	struct ack_err err;
	size_t n = 0;
	int rc;

	a->need_process = 0;
	a->unsynced = 1;	/* decisions and handoffs: durable before their log lines and sends */
	for (;;) {
		ack_err_clear(&err);
		if ((rc = st->ops->begin(st, &err)) != 0)
			goto retry;
		if ((rc = st->ops->mention_pending(st, PROCESS_BATCH, &v, &n, &err)) != 0)
			goto rollback;
		if (n == 0) {
			st->ops->rollback(st);
			free(v);
			return;
		}
		res = calloc(n, sizeof(*res));
		if (res == NULL) {
			rc = ACK_ENOMEM;
			goto rollback;
		}
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = pipeline_apply(a->cfg, a->intents, st, &v[i],
			    max_len_for(a, v[i].source), &res[i], &err);
		if (rc == 0)
			rc = st->ops->commit(st, &err);
		if (rc != 0) {
			st->ops->rollback(st);
			if (rc == ACK_EIO || rc == ACK_ETEMP || rc == ACK_ENOMEM)
				goto retry_free;
			/* one mention the pipeline cannot handle must not hold up the rest */
			for (size_t i = 0; i < n; i++) {
				ack_err_clear(&err);
				rc = st->ops->begin(st, &err);
				if (rc == 0)
					rc = pipeline_apply(a->cfg, a->intents, st, &v[i],
					    max_len_for(a, v[i].source), &res[i], &err);
				if (rc == 0)
					rc = st->ops->commit(st, &err);
				if (rc == 0) {
					notice(a, &v[i], &res[i]);
					continue;
				}
				st->ops->rollback(st);
				if (rc == ACK_EIO || rc == ACK_ETEMP || rc == ACK_ENOMEM ||
				    fail_to_person(a, &v[i], err.msg) != 0)
					goto retry_free;
			}
		} else {
			for (size_t i = 0; i < n; i++)
				notice(a, &v[i], &res[i]);
		}
		free(res);
		res = NULL;
		mention_free_array(v, n);
		v = NULL;
		a->need_log = 1;
		a->need_send = 1;
		if (n < PROCESS_BATCH)
			return;
	}
rollback:
	st->ops->rollback(st);
retry_free:
	free(res);
	mention_free_array(v, n);
retry:
	log_error("pipeline", "store_error", "error=%s retry_ms=1000", log_q(err.msg));
	retry_later(a);
}

static void
flush_log(struct app *a)
{
	struct ack_err err;
	size_t n = 0;

	a->need_log = 0;
	ack_err_clear(&err);
	if (handoff_log_flush(a->hlog, a->store, a->log_recover, &n, &err) != 0) {
		log_error("handoff", "log_failed", "error=%s retry_ms=1000", log_q(err.msg));
		a->log_recover = 1;	/* a line may be half written: check before rewriting */
		retry_later(a);
		return;
	}
	a->log_recover = 0;
}

/* ---- sender ---- */

static int64_t
backoff_ms(const struct config *c, int attempts)
{
	int64_t d = c->backoff_min_ms;

	for (int i = 1; i < attempts && d < c->backoff_max_ms; i++)
		d *= 2;
	if (d > c->backoff_max_ms)
		d = c->backoff_max_ms;
	/* "equal jitter": half fixed, half random, so retries of many replies spread out */
	return d / 2 + (d > 1 ? (int64_t)(random() % (d / 2 + 1)) : 0);
}

static void send_due(struct app *a);

static void
send_timer_cb(uv_timer_t *t)
{
	struct app *a = t->data;

	a->need_send = 1;
	wake(a);
}

static void
schedule_send(struct app *a)
{
	struct ack_err err;
	int64_t next = 0, now = store_now_ms(), delay;

	if (a->store->ops->reply_next_due(a->store, &next, &err) != 0 || next == 0) {
		uv_timer_stop(&a->send_timer);
		return;
	}
	delay = next - now;
	if (delay < 0)
		delay = 0;
	if (delay > 60000)
		delay = 60000;
	uv_timer_start(&a->send_timer, send_timer_cb, (uint64_t)delay + 1, 0);
}

static struct in_flight *
fl_add(struct app *a, const struct reply *r)
{
	struct in_flight *f;

	if (a->nfl == a->capfl) {
		size_t cap = a->capfl ? a->capfl * 2 : 16;
		struct in_flight *n = realloc(a->fl, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		a->fl = n;
		a->capfl = cap;
	}
	f = &a->fl[a->nfl];
	memset(f, 0, sizeof(*f));
	f->row = r->row;
	f->attempts = r->attempts;
	f->mention_row = r->mention_row;
	f->received_ms = r->mention_received_ms;
	f->source = strdup(r->source);
	f->text = strdup(r->text);
	if (f->source == NULL || f->text == NULL) {
		free(f->source);
		free(f->text);
		return NULL;
	}
	a->nfl++;
	return f;
}

static void
send_due(struct app *a)
{
	struct store *st = a->store;
	struct reply *v = NULL;
	size_t n = 0;
	struct ack_err err;
	int64_t now = store_now_ms();
	int rc;

	a->need_send = 0;
	if (a->nfl >= SEND_MAX_IN_FLIGHT)
		return;
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	if (rc == 0)
		rc = st->ops->reply_due(st, now, a->cfg->send_timeout_ms + 5000,
		    SEND_MAX_IN_FLIGHT - a->nfl, &v, &n, &err);
	/* replies for a source that is not running wait; they are not attempts */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct source *s = find_source(a, v[i].source);
		if (v[i].priority >= HANDOFF_LOW && a->cfg->stale_low_ms > 0 &&
		    now - v[i].mention_received_ms > a->cfg->stale_low_ms) {
			/* a thank-you hours late helps nobody; its mention stays recorded, and
			 * a handoff, if the intent asked for one, already exists */
			rc = st->ops->reply_update(st, v[i].row, REPLY_DROPPED, v[i].attempts, 0,
			    "too old to send", &err);
			log_info("sender", "dropped_stale", "source=%s reply=%lld age_ms=%lld",
			    log_q(v[i].source), (long long)v[i].row,
			    (long long)(now - v[i].mention_received_ms));
			v[i].row = 0;
			continue;
		}
		if (s == NULL || !s->active) {
			rc = st->ops->reply_update(st, v[i].row, REPLY_PENDING, v[i].attempts,
			    now + 60000, "source not running", &err);
			v[i].row = 0;
		}
	}
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		st->ops->rollback(st);
		reply_free_array(v, n);
		log_error("sender", "store_error", "error=%s", log_q(err.msg));
		uv_timer_start(&a->send_timer, send_timer_cb, 1000, 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct source *s;
		if (v[i].row == 0)
			continue;
		s = find_source(a, v[i].source);
		if (fl_add(a, &v[i]) == NULL) {
			log_error("sender", "oom", "reply=%lld", (long long)v[i].row);
			continue;	/* the lease runs out and it is tried again */
		}
		ack_err_clear(&err);
		if (s->ops->send(s, &v[i], &err) != 0) {
			struct send_outcome o = { SEND_RETRY, -1, "" };
			snprintf(o.error, sizeof(o.error), "%s", err.msg);
			app_reply_done(a, v[i].row, &o);
		}
	}
	reply_free_array(v, n);
	schedule_send(a);
}

static int
hand_off_failed_reply(struct app *a, const struct in_flight *f, const char *why,
    struct ack_err *err)
{
	struct store *st = a->store;
	struct handoff h;
	int rc;

	memset(&h, 0, sizeof(h));
	rc = st->ops->handoff_by_mention(st, f->mention_row, &h, err);
	if (rc == 0) {		/* a person already has this mention */
		handoff_clear(&h);
		return 0;
	}
	if (rc != ACK_ENOENT)
		return rc;
	memset(&h, 0, sizeof(h));
	h.mention_row = f->mention_row;
	h.reason = (char *)"delivery_failed";
	h.queue = (char *)"support";
	h.priority = HANDOFF_HIGH;
	h.reply = f->text;
	h.created_ms = store_now_ms();
	rc = st->ops->handoff_put(st, &h, err);
	if (rc == 0) {
		metrics_inc(M_HANDOFFS_CREATED, "support");
		log_warn("sender", "handed_off", "reply=%lld ticket=%s error=%s",
		    (long long)f->row, h.ticket, log_q(why));
	}
	free(h.ticket);
	return rc;
}

void
app_reply_done(struct app *a, int64_t row, const struct send_outcome *o)
{
	struct done_item *d;
	size_t i;

	for (i = 0; i < a->nfl; i++)
		if (a->fl[i].row == row)
			break;
	if (i == a->nfl)
		return;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		/* not recorded: the lease runs out and the reply goes again with the same key */
		free(a->fl[i].source);
		free(a->fl[i].text);
		a->fl[i] = a->fl[--a->nfl];
		return;
	}
	d->f = a->fl[i];
	a->fl[i] = a->fl[--a->nfl];
	d->o = *o;
	*a->done_tail = d;
	a->done_tail = &d->next;
	wake(a);
}

/* Group commit of finished deliveries: one transaction for every outcome that arrived
 * during this loop iteration. */
static void
flush_done(struct app *a)
{
	struct store *st = a->store;
	struct done_item *list = a->done_head, *d;
	struct ack_err err;
	int64_t now = store_now_ms();
	int rc;

	if (list == NULL)
		return;
	a->done_head = NULL;
	a->done_tail = &a->done_head;
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	for (d = list; rc == 0 && d != NULL; d = d->next) {
		struct in_flight *f = &d->f;
		f->attempts++;
		if (d->o.result == SEND_RETRY && f->attempts >= a->cfg->send_max_attempts)
			d->o.result = SEND_FAIL;
		if (d->o.result == SEND_OK) {
			rc = st->ops->reply_update(st, f->row, REPLY_SENT, f->attempts, 0, NULL, &err);
		} else if (d->o.result == SEND_RETRY) {
			int64_t delay = backoff_ms(a->cfg, f->attempts);
			if (d->o.retry_after_ms > delay)
				delay = d->o.retry_after_ms > a->cfg->backoff_max_ms * 4 ?
				    a->cfg->backoff_max_ms * 4 : d->o.retry_after_ms;
			d->o.retry_after_ms = delay;
			rc = st->ops->reply_update(st, f->row, REPLY_PENDING, f->attempts, now + delay,
			    d->o.error, &err);
		} else {
			rc = st->ops->reply_update(st, f->row, REPLY_FAILED, f->attempts, 0, d->o.error, &err);
			if (rc == 0)
				rc = hand_off_failed_reply(a, f, d->o.error, &err);
			a->unsynced = 1;	/* the handoff is durable before its log line */
		}
	}
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		st->ops->rollback(st);
		/* the leases run out and the replies go again with the same keys */
		log_error("sender", "store_error", "error=%s", log_q(err.msg));
	}
	while (list != NULL) {
		struct in_flight *f;
		d = list;
		list = d->next;
		f = &d->f;
		if (rc != 0) {
			/* nothing recorded */
		} else if (d->o.result == SEND_OK) {
			metrics_inc(M_REPLIES_SENT, f->source);
			metrics_observe(M_REPLY_LATENCY, (double)(now - f->received_ms) / 1000.0);
			log_debug("sender", "sent", "source=%s reply=%lld attempts=%d", log_q(f->source),
			    (long long)f->row, f->attempts);
		} else if (d->o.result == SEND_RETRY) {
			metrics_inc(M_REPLIES_RETRIED, f->source);
			log_warn("sender", "retry", "source=%s reply=%lld attempt=%d retry_ms=%lld error=%s",
			    log_q(f->source), (long long)f->row, f->attempts,
			    (long long)d->o.retry_after_ms, log_q(d->o.error));
		} else {
			metrics_inc(M_REPLIES_FAILED, f->source);
			log_warn("sender", "failed", "source=%s reply=%lld attempts=%d error=%s",
			    log_q(f->source), (long long)f->row, f->attempts, log_q(d->o.error));
			a->need_log = 1;
		}
		free(f->source);
		free(f->text);
		free(d);
	}
	a->need_send = 1;
}

/* ---- the loop's work point ---- */

static void begin_close(struct app *a);

/* Store maintenance off the loop: SQLite's checkpoints fsync the database file, which
 * would otherwise stall whichever commit triggers them. */
static void
maint_work_cb(uv_work_t *w)
{
	struct app *a = w->data;

	ack_err_clear(&a->maint_err);
	a->store->ops->maintain(a->store, &a->maint_err);
}

static void
maint_after_cb(uv_work_t *w, int status)
{
	struct app *a = w->data;

	a->maint_busy = 0;
	if (status == 0 && a->maint_err.code != 0)
		log_error("store", "maintenance_failed", "error=%s", log_q(a->maint_err.msg));
}

static void
maint_timer_cb(uv_timer_t *t)
{
	struct app *a = t->data;

	if (a->maint_busy || !a->maint_dirty || a->closed)
		return;
	a->maint_dirty = 0;
	a->maint_work.data = a;
	if (uv_queue_work(&a->loop, &a->maint_work, maint_work_cb, maint_after_cb) == 0)
		a->maint_busy = 1;
}

static void
log_timer_cb(uv_timer_t *t)
{
	struct app *a = t->data;

	a->log_due = 1;
	wake(a);
}

static void
check_cb(uv_check_t *h)
{
	struct app *a = h->data;

	flush_intake(a);
	flush_done(a);
	if (a->need_process)
		process_pending(a);
	if (a->need_send && !a->closed)
		send_due(a);
	/* The fsync comes one iteration after the commits it covers, so that the replies just
	 * queued are on the wire first (curl writes them in the next timer phase): a reply
	 * never waits for the disk; acknowledgements and handoff log lines do. A reply sent
	 * before a power loss made its mention durable is sent again with the same
	 * idempotency key, which the platform answers with the first status. */
	if (a->sync_due) {
		a->sync_due = 0;
		ack_intake(a);	/* the iteration's one fsync, then the acknowledgements */
	}
	if (a->unsynced || a->ack_head != NULL)
		a->sync_due = 1;
	if (a->need_log && !a->log_due && !uv_is_active((uv_handle_t *)&a->log_timer))
		uv_timer_start(&a->log_timer, log_timer_cb, a->draining ? 0 : LOG_BATCH_MS, 0);
	if (a->log_due && !a->unsynced) {
		a->log_due = 0;
		flush_log(a);	/* handoff lines only for handoffs already durable */
	}
	if (a->in_head == NULL && a->done_head == NULL && a->ack_head == NULL && !a->sync_due &&
	    !a->need_send && !a->need_process && !a->log_due)
		uv_idle_stop(&a->idle);
	if (a->draining && !a->closed && a->in_head == NULL && a->ack_head == NULL && a->nfl == 0)
		begin_close(a);
}

/* ---- admin ---- */

static void
admin_handler(struct http_req *req, void *arg)
{
	struct app *a = arg;
	const char *path = http_req_path(req);

	if (strcmp(http_req_method(req), "GET") != 0 && strcmp(http_req_method(req), "HEAD") != 0) {
		http_respond(req, 405, "text/plain", "method not allowed\n", 19);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		if (a->draining)
			http_respond(req, 503, "text/plain", "draining\n", 9);
		else
			http_respond(req, 200, "text/plain", "ok\n", 3);
	} else if (strcmp(path, "/metrics") == 0) {
		struct metrics_gauges g;
		struct ack_err err;
		char *body;

		memset(&g, 0, sizeof(g));
		a->store->ops->handoff_count(a->store, HANDOFF_OPEN, &g.handoffs_open, &err);
		a->store->ops->reply_counts(a->store, &g.replies_pending, &err);
		g.uptime_s = (store_now_ms() - a->started_ms) / 1000;
		body = metrics_render(&g);
		if (body == NULL) {
			http_respond(req, 500, "text/plain", "out of memory\n", 14);
			return;
		}
		http_respond(req, 200, "text/plain; version=0.0.4", body, strlen(body));
		free(body);
	} else {
		http_respond(req, 404, "text/plain", "not found\n", 10);
	}
}

/* ---- signals, reload, shutdown ---- */

static void
reload(struct app *a)
{
	struct diag d;
	struct config *nc;
	struct intents *ni = NULL;

	diag_init(&d);
	nc = config_load(a->config_path, &d);
	if (nc != NULL)
		ni = intents_load(nc, &d);
	if (nc == NULL || ni == NULL) {
		for (size_t i = 0; i < d.n; i++)
			log_error("main", "reload_error", "at=%s:%d:%d msg=%s", d.items[i].file,
			    d.items[i].line, d.items[i].col, log_q(d.items[i].msg));
		log_error("main", "reload", "ok=0 errors=%zu kept=previous", d.errors);
		config_free(nc);
		diag_free(&d);
		return;
	}
	diag_free(&d);
	/* sources keep their listeners: their keys take effect at the next start */
	{
		struct config *old = a->cfg;
		intents_free(a->intents);
		a->intents = ni;
		a->cfg = nc;
		log_set_level(nc->log_level);
		config_free(old);
	}
	log_info("main", "reload", "ok=1 intents=%zu", a->intents->n);
}

static void
drain_timeout_cb(uv_timer_t *t)
{
	struct app *a = t->data;

	log_warn("main", "drain_timeout", "in_flight=%zu", a->nfl);
	begin_close(a);
}

void
app_stop(struct app *a)
{
	if (a->draining)
		return;
	a->draining = 1;
	log_info("main", "draining", "in_flight=%zu", a->nfl);
	for (size_t i = 0; i < a->nsrc; i++)
		if (a->src[i]->ops->stop != NULL)
			a->src[i]->ops->stop(a->src[i]);
	uv_timer_start(&a->drain_timer, drain_timeout_cb, (uint64_t)a->cfg->drain_ms, 0);
	wake(a);
}

void
app_fail(struct app *a, const char *source, const char *why)
{
	log_error("main", "source_failed", "source=%s error=%s exit=3", log_q(source), log_q(why));
	a->exit_code = 3;
	app_stop(a);
}

static void
signal_cb(uv_signal_t *s, int signum)
{
	struct app *a = s->data;

	if (signum == SIGHUP)
		reload(a);
	else
		app_stop(a);
}

static void
begin_close(struct app *a)
{
	if (a->closed)
		return;
	a->closed = 1;
	flush_intake(a);	/* answers still held get theirs (or 503) before the sockets go */
	flush_done(a);
	ack_intake(a);		/* after their fsync */
	if (a->need_log)
		flush_log(a);
	uv_stop(&a->loop);
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
close_own_handles(struct app *a)
{
	close_handle(&a->check);
	close_handle(&a->idle);
	close_handle(&a->work_timer);
	close_handle(&a->log_timer);
	close_handle(&a->maint_timer);
	close_handle(&a->send_timer);
	close_handle(&a->drain_timer);
	close_handle(&a->sig_term);
	close_handle(&a->sig_int);
	close_handle(&a->sig_hup);
}

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

static int
start_sources(struct app *a, struct diag *d)
{
	a->src = calloc(a->cfg->nsources ? a->cfg->nsources : 1, sizeof(*a->src));
	if (a->src == NULL)
		return -1;
	for (size_t i = 0; i < a->cfg->nsources; i++) {
		struct source_conf *sc = &a->cfg->sources[i];
		const struct source_ops *ops = source_find_type(sc->type);
		struct source *s = NULL;

		if (ops == NULL) {
			diag_add(d, DIAG_ERROR, a->cfg->path, sc->line, sc->col, NULL,
			    "unknown source type '%s'", sc->type);
			continue;
		}
		if (sc->enabled == CONF_OFF)
			continue;
		if (ops->configure(&s, a, sc, a->cfg, d) != 0 || s == NULL)
			continue;
		a->src[a->nsrc++] = s;
	}
	return d->errors ? -1 : 0;
}

int
app_run(const char *config_path)
{
	struct app app, *a = &app;
	struct diag d;
	struct ack_err err;
	int code = 3;

	memset(a, 0, sizeof(*a));
	a->in_tail = &a->in_head;
	a->done_tail = &a->done_head;
	a->config_path = (char *)config_path;
	a->started_ms = store_now_ms();
	srandom((unsigned)(a->started_ms ^ getpid()));
	diag_init(&d);
	ack_err_clear(&err);

	a->cfg = config_load(config_path, &d);
	if (a->cfg != NULL)
		a->intents = intents_load(a->cfg, &d);
	if (a->cfg == NULL || a->intents == NULL) {
		diag_print(&d, stderr);
		fprintf(stderr, "ackbot: not started: fix the errors above (ackbot check -c %s)\n",
		    config_path);
		diag_free(&d);
		config_free(a->cfg);
		return 1;
	}
	log_set_level(a->cfg->log_level);
	if (mkdir_p(a->cfg->data_dir) != 0) {
		log_error("main", "start_failed", "error=%s data_dir=%s", log_q(strerror(errno)),
		    log_q(a->cfg->data_dir));
		goto out_cfg;
	}
	if (store_open(&a->store, a->cfg->db_path, 0, &err) != 0 ||
	    a->store->ops->defer_sync(a->store, 1, &err) != 0 ||
	    a->store->ops->reply_release_leases(a->store, store_now_ms(), &err) != 0 ||
	    handoff_log_open(&a->hlog, a->cfg->handoff_log, &err) != 0) {
		log_error("main", "start_failed", "error=%s", log_q(err.msg));
		goto out_store;
	}
	/* the thread pool does store maintenance only: one thread (one malloc arena) is enough */
	setenv("UV_THREADPOOL_SIZE", "1", 0);
	uv_loop_init(&a->loop);
	if (http_open(&a->http, &a->loop, &err) != 0 || httpc_open(&a->httpc, &a->loop, &err) != 0) {
		log_error("main", "start_failed", "error=%s", log_q(err.msg));
		goto out_loop;
	}
	if (start_sources(a, &d) != 0) {
		diag_print(&d, stderr);
		goto out_loop;
	}
	for (size_t i = 0; i < a->nsrc; i++) {
		ack_err_clear(&err);
		if (a->src[i]->ops->start(a->src[i], &err) != 0) {
			log_error("main", "start_failed", "source=%s error=%s", log_q(a->src[i]->name),
			    log_q(err.msg));
			goto out_loop;
		}
	}
	if (a->cfg->admin_host != NULL) {
		static const char *const no_headers[] = { NULL };
		struct http_listener_conf lc = { "admin", a->cfg->admin_host, a->cfg->admin_port,
			4096, no_headers, admin_handler, a };
		if (http_listen(a->http, &lc, &err) != 0) {
			log_error("main", "start_failed", "error=%s", log_q(err.msg));
			goto out_loop;
		}
	}
	uv_check_init(&a->loop, &a->check);
	a->check.data = a;
	uv_check_start(&a->check, check_cb);
	uv_idle_init(&a->loop, &a->idle);
	a->idle.data = a;
	uv_timer_init(&a->loop, &a->work_timer);
	a->work_timer.data = a;
	uv_timer_init(&a->loop, &a->log_timer);
	a->log_timer.data = a;
	uv_timer_init(&a->loop, &a->maint_timer);
	a->maint_timer.data = a;
	uv_timer_start(&a->maint_timer, maint_timer_cb, MAINT_MS, MAINT_MS);
	uv_timer_init(&a->loop, &a->send_timer);
	a->send_timer.data = a;
	uv_timer_init(&a->loop, &a->drain_timer);
	a->drain_timer.data = a;
	uv_signal_init(&a->loop, &a->sig_term);
	uv_signal_init(&a->loop, &a->sig_int);
	uv_signal_init(&a->loop, &a->sig_hup);
	a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;
	uv_signal_start(&a->sig_term, signal_cb, SIGTERM);
	uv_signal_start(&a->sig_int, signal_cb, SIGINT);
	uv_signal_start(&a->sig_hup, signal_cb, SIGHUP);
	signal(SIGPIPE, SIG_IGN);

	/* resume: unfinished mentions, unlogged handoffs, pending replies */
	a->need_process = a->need_send = a->need_log = 1;
	a->log_recover = 1;
	wake(a);
	log_info("main", "ready", "pid=%d intents=%zu sources=%zu admin=%s:%d", (int)getpid(),
	    a->intents->n, a->nsrc, a->cfg->admin_host ? a->cfg->admin_host : "off",
	    a->cfg->admin_port);

	uv_run(&a->loop, UV_RUN_DEFAULT);
	code = a->exit_code;
	log_info("main", "stopping", "in_flight=%zu", a->nfl);

out_loop:
	for (size_t i = 0; i < a->nsrc; i++)
		a->src[i]->ops->free(a->src[i]);
	free(a->src);
	a->src = NULL;
	a->nsrc = 0;
	close_own_handles(a);
	http_close(a->http);	/* lws closes its own handles on the next runs of the loop */
	httpc_close(a->httpc);
	uv_run(&a->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&a->loop) == UV_EBUSY) {
		uv_walk(&a->loop, close_walk, NULL);
		uv_run(&a->loop, UV_RUN_DEFAULT);
		uv_loop_close(&a->loop);
	}
	for (size_t i = 0; i < a->nfl; i++) {
		free(a->fl[i].source);
		free(a->fl[i].text);
	}
	free(a->fl);
	while (a->done_head != NULL) {
		struct done_item *di = a->done_head;
		a->done_head = di->next;
		free(di->f.source);
		free(di->f.text);
		free(di);
	}
	while (a->in_head != NULL) {
		struct intake_item *it = a->in_head;
		a->in_head = it->next;
		mention_clear(&it->m);
		free(it);
	}
out_store:
	handoff_log_close(a->hlog);
	store_close(a->store);
out_cfg:
	intents_free(a->intents);
	config_free(a->cfg);
	diag_free(&d);
	if (code == 0)
		log_info("main", "stopped", NULL);
	return code;
}
