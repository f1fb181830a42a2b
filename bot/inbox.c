/* inbox.c - the group commit of intake: a queue per loop iteration, one transaction, a
 * sync generation per batch, acknowledgements once the syncer covered it; fences. */
#include "inbox.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "store.h"
#include "syncer.h"

#define BUSY_BUDGET_MS 2000	/* a batch waits this long for another process's lock */
#define BUSY_RETRY_MS 20
#define BATCH_MAX 4096		/* past this many queued, commit without waiting for the sync */

struct item {
	struct mention m;	/* m.platform_id NULL: a cursor-only item */
	int flags;
	inbox_done_fn *cb;
	void *arg;
	int result;
	uint64_t gen;		/* the sync that makes it durable */
	struct item *next;
};

struct fence {
	char *source;
	struct fence *next;
};

struct inbox {
	uv_loop_t *loop;
	struct store *st;
	struct syncer *sy;
	int slot;
	void (*wake)(void *);
	void *wake_arg;
	struct item *q_head, **q_tail;	/* for the next batch */
	size_t nq;
	uint64_t last_gen;	/* the sync generation of the newest committed batch */
	struct item *w_head, **w_tail;	/* committed, waiting for their sync */
	struct fence *fences;
	int refusing;
	int64_t busy_since_ms;	/* the queued batch first found the store locked */
	uv_timer_t retry;	/* a batch held back by a busy store */
	int closed;
};

static void
retry_cb(uv_timer_t *t)
{
	struct inbox *ib = t->data;

	ib->wake(ib->wake_arg);
}

int
inbox_open(struct inbox **out, uv_loop_t *loop, struct store *st, struct syncer *sy,
    int sync_slot, void (*wake)(void *), void *wake_arg, struct ack_err *err)
{
	struct inbox *ib = calloc(1, sizeof(*ib));

	*out = NULL;
	if (ib == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	ib->loop = loop;
	ib->st = st;
	ib->sy = sy;
	ib->slot = sync_slot;
	ib->wake = wake;
	ib->wake_arg = wake_arg;
	ib->q_tail = &ib->q_head;
	ib->w_tail = &ib->w_head;
	uv_timer_init(loop, &ib->retry);
	ib->retry.data = ib;
	*out = ib;
	return 0;
}

static int
fenced(const struct inbox *ib, const char *source)
{
	for (const struct fence *f = ib->fences; f != NULL; f = f->next)
		if (strcmp(f->source, source) == 0)
			return 1;
	return 0;
}

static void
fence(struct inbox *ib, const char *source)
{
	struct fence *f;

	if (fenced(ib, source) || (f = calloc(1, sizeof(*f))) == NULL)
		return;
	if ((f->source = strdup(source)) == NULL) {
		free(f);
		return;
	}
	f->next = ib->fences;
	ib->fences = f;
	log_warn("inbox", "fenced", "source=%s", log_q(source));
}

void
inbox_unfence(struct inbox *ib, const char *source)
{
	for (struct fence **p = &ib->fences; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->source, source) == 0) {
			struct fence *f = *p;
			*p = f->next;
			free(f->source);
			free(f);
			return;
		}
}

static void
finish(struct item *it)
{
	if (it->cb != NULL)
		it->cb(it->arg, it->result, it->m.platform_id ? &it->m : NULL);
	mention_clear(&it->m);
	free(it);
}

static int
put(struct inbox *ib, struct item *it)
{
	if (ib->refusing || ib->closed || fenced(ib, it->m.source)) {
		free(it);
		return ACK_ETEMP;
	}
	*ib->q_tail = it;
	ib->q_tail = &it->next;
	ib->nq++;
	ib->wake(ib->wake_arg);
	return 0;
}

int
inbox_put_mention(struct inbox *ib, struct mention *m, int flags, inbox_done_fn *cb, void *arg)
{
	struct item *it;
	int rc;

	if (ib->refusing || ib->closed || fenced(ib, m->source))
		return ACK_ETEMP;
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return ACK_ENOMEM;
	it->m = *m;
	it->flags = flags;
	it->cb = cb;
	it->arg = arg;
	if ((rc = put(ib, it)) == 0)
		memset(m, 0, sizeof(*m));
	return rc;
}

int
inbox_put_cursor(struct inbox *ib, const char *source, const char *cursor, int flags,
    inbox_done_fn *cb, void *arg)
{
	struct item *it = calloc(1, sizeof(*it));

	if (it == NULL)
		return ACK_ENOMEM;
	it->m.source = strdup(source);
	it->m.cursor = strdup(cursor);
	if (it->m.source == NULL || it->m.cursor == NULL) {
		mention_clear(&it->m);
		free(it);
		return ACK_ENOMEM;
	}
	it->flags = flags;
	it->cb = cb;
	it->arg = arg;
	if (ib->refusing || ib->closed || fenced(ib, source)) {
		mention_clear(&it->m);
		free(it);
		return ACK_ETEMP;
	}
	return put(ib, it);
}

int
inbox_cursor_get(struct inbox *ib, const char *source, char **value, struct ack_err *err)
{
	return ib->st->ops->cursor_get(ib->st, source, value, err);
}

/* Cursors compare as the store compares them: length, then text. */
static int
cursor_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* The cursor only moves forward, and the batch is one transaction: one write per source,
 * its furthest cursor, after the batch's mentions. A handful of stream sources at most. */
#define CURSOR_SOURCES 16

static int
write_cursors(struct store *st, struct item *list, struct ack_err *err)
{
	struct item *best[CURSOR_SOURCES];
	size_t n = 0, i;
	int rc;

	for (struct item *it = list; it != NULL; it = it->next) {
		if (it->m.cursor == NULL)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(best[i]->m.source, it->m.source) == 0)
				break;
		if (i == n) {
			if (n == CURSOR_SOURCES) {	/* more stream sources than expected */
				if ((rc = st->ops->cursor_set(st, it->m.source, it->m.cursor, err)) != 0)
					return rc;
				continue;
			}
			best[n++] = it;
		} else if (cursor_cmp(it->m.cursor, best[i]->m.cursor) > 0) {
			best[i] = it;
		}
	}
	for (i = 0; i < n; i++)
		if ((rc = st->ops->cursor_set(st, best[i]->m.source, best[i]->m.cursor, err)) != 0)
			return rc;
	return 0;
}

int
inbox_flush(struct inbox *ib)
{
	struct store *st = ib->st;
	struct item *list = ib->q_head, *it, *next;
	struct ack_err err;
	int rc, fresh = 0;
	uint64_t gen;

	if (list == NULL)
		return 0;
	/* Group commit: what arrives while the store's log is being fsynced needs the next
	 * round anyway. Several mentions (a burst) wait in the queue and go in one transaction
	 * when the round is over; so does anything while an earlier batch already waits for
	 * that next round. A lone mention commits at once, so its reply leaves without
	 * waiting for an fsync. */
	if (ib->nq < BATCH_MAX && !ib->closed && syncer_slot_busy(ib->sy, ib->slot) &&
	    (ib->nq > 1 || ib->last_gen > syncer_started_gen(ib->sy, ib->slot)))
		return 0;
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	for (it = list; rc == 0 && it != NULL; it = it->next) {
		int dup = 0;
		if (it->m.platform_id != NULL)
			rc = st->ops->mention_put(st, &it->m, &dup, &err);
		it->result = dup ? INBOX_DUPLICATE : INBOX_ACCEPTED;
	}
	if (rc == 0)
		rc = write_cursors(st, list, &err);
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		int64_t now = store_now_ms();
		st->ops->rollback(st);
		if (rc == ACK_ETEMP && !ib->closed) {
			/* another process holds the lock: the batch stays queued, in order,
			 * and is tried again soon, for a bounded time */
			if (ib->busy_since_ms == 0)
				ib->busy_since_ms = now;
			if (now - ib->busy_since_ms < BUSY_BUDGET_MS) {
				uv_timer_start(&ib->retry, retry_cb, BUSY_RETRY_MS, 0);
				return ACK_ETEMP;
			}
		}
		ib->busy_since_ms = 0;
		ib->q_head = NULL;
		ib->q_tail = &ib->q_head;
		ib->nq = 0;
		for (it = list; it != NULL; it = it->next)
			fresh++;
		log_error("inbox", "commit_failed", "items=%d error=%s", fresh, log_q(err.msg));
		/* nothing of the batch is stored: fence the streams first (their next events
		 * must not move a cursor past these), then tell every source */
		for (it = list; it != NULL; it = it->next)
			if (it->flags & INBOX_FENCE)
				fence(ib, it->m.source);
		for (it = list; it != NULL; it = next) {
			next = it->next;
			it->result = INBOX_FAILED;
			finish(it);
		}
		return rc;
	}
	ib->busy_since_ms = 0;
	ib->q_head = NULL;
	ib->q_tail = &ib->q_head;
	ib->nq = 0;
	gen = ib->last_gen = syncer_request(ib->sy, ib->slot);
	for (it = list; it != NULL; it = next) {
		next = it->next;
		it->gen = gen;
		it->next = NULL;
		if (it->result == INBOX_ACCEPTED && it->m.platform_id != NULL)
			fresh++;
		*ib->w_tail = it;
		ib->w_tail = &it->next;
	}
	return fresh;
}

void
inbox_synced(struct inbox *ib, uint64_t gen, int rc)
{
	struct item *it;

	while ((it = ib->w_head) != NULL && it->gen <= gen) {
		ib->w_head = it->next;
		if (ib->w_head == NULL)
			ib->w_tail = &ib->w_head;
		if (rc != 0) {
			/* committed, maybe not on disk: the platform sends it again, and then it
			 * is a duplicate that is acknowledged */
			it->result = INBOX_FAILED;
			if (it->flags & INBOX_FENCE)
				fence(ib, it->m.source);
		} else if (it->m.platform_id != NULL) {
			metrics_inc(it->result == INBOX_ACCEPTED ? M_MENTIONS_RECEIVED :
			    M_MENTIONS_DUPLICATE, it->m.source);
		}
		finish(it);
	}
}

void
inbox_refuse(struct inbox *ib)
{
	ib->refusing = 1;
}

int
inbox_idle(const struct inbox *ib)
{
	return ib->q_head == NULL && ib->w_head == NULL;
}

static void
free_list(struct item *it)
{
	while (it != NULL) {
		struct item *next = it->next;
		it->result = INBOX_FAILED;
		finish(it);
		it = next;
	}
}

static void
inbox_closed(uv_handle_t *h)
{
	free(h->data);
}

void
inbox_close(struct inbox *ib)
{
	if (ib == NULL)
		return;
	ib->closed = 1;
	free_list(ib->q_head);
	free_list(ib->w_head);
	ib->q_head = ib->w_head = NULL;
	while (ib->fences != NULL) {
		struct fence *f = ib->fences;
		ib->fences = f->next;
		free(f->source);
		free(f);
	}
	uv_close((uv_handle_t *)&ib->retry, inbox_closed);
}
