/* store_wrap.c - one place between the pipeline and any store backend (OpenSMTPD's
 * queue_backend.c): with ACKBOT_STORE_TRACE=1 every call is logged (op, result, time);
 * in a torture build (-DACKBOT_TORTURE) ACKBOT_STORE_FAULT="N:busy|full|ioerr[:COUNT]"
 * makes the Nth call through the table, and the COUNT-1 after it, fail as SQLite's
 * SQLITE_BUSY, SQLITE_FULL or SQLITE_IOERR would. The wrappers below are one shape:
 * count, maybe fail, call the backend, maybe trace. Without either variable store_open
 * hands out the backend itself and this costs nothing. */
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct store_wrap {
	struct store base;
	struct store *in;
	int trace;
	pthread_mutex_t lock;	/* sync and maintain run on worker threads */
	unsigned long calls;
	unsigned long fault_at, fault_count;
	int fault_code;
	const char *fault_kind;
};

static struct store_ops wrap_ops;

static int
enter(struct store_wrap *w, const char *op, struct ack_err *err)
{
	unsigned long n;
	int inject;

	pthread_mutex_lock(&w->lock);
	n = ++w->calls;
	inject = w->fault_at > 0 && n >= w->fault_at && n < w->fault_at + w->fault_count;
	pthread_mutex_unlock(&w->lock);
	if (!inject)
		return 0;
	log_warn("store", "store_fault_injected", "call=%lu op=%s kind=%s", n, op, w->fault_kind);
	return ack_fail(err, w->fault_code, "store: %s (injected at call %lu, %s)",
	    w->fault_code == ACK_ETEMP ? "database is locked" :
	    strcmp(w->fault_kind, "full") == 0 ? "database or disk is full" : "disk I/O error",
	    n, op);
}

static void
leave(struct store_wrap *w, const char *op, int rc)
{
	if (w->trace)
		log_debug("store", "call", "op=%s rc=%d", op, rc);
}

static void
w_close(struct store *st)
{
	struct store_wrap *w = (struct store_wrap *)st;

	if (w->fault_at > 0)
		log_info("store", "store_calls", "n=%lu", w->calls);
	store_close(w->in);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void
w_rollback(struct store *st)
{
	struct store_wrap *w = (struct store_wrap *)st;

	w->in->ops->rollback(w->in);
}

static int
w_begin(struct store *st, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "begin", err)) != 0)
		return rc;
	rc = w->in->ops->begin(w->in, err);
	leave(w, "begin", rc);
	return rc;
}

static int
w_commit(struct store *st, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "commit", err)) != 0)
		return rc;
	rc = w->in->ops->commit(w->in, err);
	leave(w, "commit", rc);
	return rc;
}

static int
w_defer_sync(struct store *st, int on, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "defer_sync", err)) != 0)
		return rc;
	rc = w->in->ops->defer_sync(w->in, on, err);
	leave(w, "defer_sync", rc);
	return rc;
}

static int
w_sync(struct store *st, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "sync", err)) != 0)
		return rc;
	rc = w->in->ops->sync(w->in, err);
	leave(w, "sync", rc);
	return rc;
}

static int
w_maintain(struct store *st, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "maintain", err)) != 0)
		return rc;
	rc = w->in->ops->maintain(w->in, err);
	leave(w, "maintain", rc);
	return rc;
}

static int
w_mention_put(struct store *st, struct mention *m, int *is_dup, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "mention_put", err)) != 0)
		return rc;
	rc = w->in->ops->mention_put(w->in, m, is_dup, err);
	leave(w, "mention_put", rc);
	return rc;
}

static int
w_mention_pending(struct store *st, size_t limit, struct mention **out, size_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "mention_pending", err)) != 0)
		return rc;
	rc = w->in->ops->mention_pending(w->in, limit, out, n, err);
	leave(w, "mention_pending", rc);
	return rc;
}

static int
w_mention_finish(struct store *st, int64_t row, const struct decision_rec *d, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "mention_finish", err)) != 0)
		return rc;
	rc = w->in->ops->mention_finish(w->in, row, d, err);
	leave(w, "mention_finish", rc);
	return rc;
}

static int
w_author_mentions(struct store *st, const char *source, const char *author_id, int64_t *count, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "author_mentions", err)) != 0)
		return rc;
	rc = w->in->ops->author_mentions(w->in, source, author_id, count, err);
	leave(w, "author_mentions", rc);
	return rc;
}

static int
w_author_last_reply(struct store *st, const char *source, const char *author_id, int64_t *ms, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "author_last_reply", err)) != 0)
		return rc;
	rc = w->in->ops->author_last_reply(w->in, source, author_id, ms, err);
	leave(w, "author_last_reply", rc);
	return rc;
}

static int
w_thread_replied(struct store *st, const char *source, const char *thread, int *yes, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "thread_replied", err)) != 0)
		return rc;
	rc = w->in->ops->thread_replied(w->in, source, thread, yes, err);
	leave(w, "thread_replied", rc);
	return rc;
}

static int
w_reply_put(struct store *st, struct reply *r, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_put", err)) != 0)
		return rc;
	rc = w->in->ops->reply_put(w->in, r, err);
	leave(w, "reply_put", rc);
	return rc;
}

static int
w_reply_claim(struct store *st, const char *owner, int64_t now_ms, int64_t lease_until, size_t limit, struct reply **out, size_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_claim", err)) != 0)
		return rc;
	rc = w->in->ops->reply_claim(w->in, owner, now_ms, lease_until, limit, out, n, err);
	leave(w, "reply_claim", rc);
	return rc;
}

static int
w_reply_renew(struct store *st, int64_t row, int64_t claim, int64_t lease_until, int *held, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_renew", err)) != 0)
		return rc;
	rc = w->in->ops->reply_renew(w->in, row, claim, lease_until, held, err);
	leave(w, "reply_renew", rc);
	return rc;
}

static int
w_reply_complete(struct store *st, int64_t row, int64_t claim, int state, int attempts, int64_t next_ms, const char *last_error, int *matched, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_complete", err)) != 0)
		return rc;
	rc = w->in->ops->reply_complete(w->in, row, claim, state, attempts, next_ms, last_error, matched, err);
	leave(w, "reply_complete", rc);
	return rc;
}

static int
w_reply_next_due(struct store *st, int64_t now_ms, int64_t *ms, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_next_due", err)) != 0)
		return rc;
	rc = w->in->ops->reply_next_due(w->in, now_ms, ms, err);
	leave(w, "reply_next_due", rc);
	return rc;
}

static int
w_reply_counts(struct store *st, int64_t *pending, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_counts", err)) != 0)
		return rc;
	rc = w->in->ops->reply_counts(w->in, pending, err);
	leave(w, "reply_counts", rc);
	return rc;
}

static int
w_reply_release_leases(struct store *st, const char *owner, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "reply_release_leases", err)) != 0)
		return rc;
	rc = w->in->ops->reply_release_leases(w->in, owner, err);
	leave(w, "reply_release_leases", rc);
	return rc;
}

static int
w_hold_set(struct store *st, const char *source, int64_t until_ms, const char *why, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "hold_set", err)) != 0)
		return rc;
	rc = w->in->ops->hold_set(w->in, source, until_ms, why, err);
	leave(w, "hold_set", rc);
	return rc;
}

static int
w_handoff_put(struct store *st, struct handoff *h, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_put", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_put(w->in, h, err);
	leave(w, "handoff_put", rc);
	return rc;
}

static int
w_handoff_set_reply(struct store *st, int64_t row, const char *reply, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_set_reply", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_set_reply(w->in, row, reply, err);
	leave(w, "handoff_set_reply", rc);
	return rc;
}

static int
w_handoff_by_mention(struct store *st, int64_t mention_row, struct handoff *out, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_by_mention", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_by_mention(w->in, mention_row, out, err);
	leave(w, "handoff_by_mention", rc);
	return rc;
}

static int
w_handoff_list(struct store *st, int status, size_t limit, struct handoff **out, size_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_list", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_list(w->in, status, limit, out, n, err);
	leave(w, "handoff_list", rc);
	return rc;
}

static int
w_handoff_get(struct store *st, const char *ticket, struct handoff *out, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_get", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_get(w->in, ticket, out, err);
	leave(w, "handoff_get", rc);
	return rc;
}

static int
w_handoff_set_status(struct store *st, const char *ticket, int status, const char *note, int64_t now_ms, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_set_status", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_set_status(w->in, ticket, status, note, now_ms, err);
	leave(w, "handoff_set_status", rc);
	return rc;
}

static int
w_handoff_set_label(struct store *st, const char *ticket, const char *label, int64_t now_ms,
    struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_set_label", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_set_label(w->in, ticket, label, now_ms, err);
	leave(w, "handoff_set_label", rc);
	return rc;
}

static int
w_label_list(struct store *st, struct labelled **out, size_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "label_list", err)) != 0)
		return rc;
	rc = w->in->ops->label_list(w->in, out, n, err);
	leave(w, "label_list", rc);
	return rc;
}

static int
w_handoff_unlogged(struct store *st, size_t limit, struct handoff **out, size_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_unlogged", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_unlogged(w->in, limit, out, n, err);
	leave(w, "handoff_unlogged", rc);
	return rc;
}

static int
w_handoff_mark_logged(struct store *st, int64_t row, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_mark_logged", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_mark_logged(w->in, row, err);
	leave(w, "handoff_mark_logged", rc);
	return rc;
}

static int
w_handoff_purge(struct store *st, const char *source, int64_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_purge", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_purge(w->in, source, n, err);
	leave(w, "handoff_purge", rc);
	return rc;
}

static int
w_handoff_count(struct store *st, int status, int64_t *n, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "handoff_count", err)) != 0)
		return rc;
	rc = w->in->ops->handoff_count(w->in, status, n, err);
	leave(w, "handoff_count", rc);
	return rc;
}

static int
w_cursor_get(struct store *st, const char *source, char **value, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "cursor_get", err)) != 0)
		return rc;
	rc = w->in->ops->cursor_get(w->in, source, value, err);
	leave(w, "cursor_get", rc);
	return rc;
}

static int
w_cursor_set(struct store *st, const char *source, const char *value, struct ack_err *err)
{
	struct store_wrap *w = (struct store_wrap *)st;
	int rc;

	if ((rc = enter(w, "cursor_set", err)) != 0)
		return rc;
	rc = w->in->ops->cursor_set(w->in, source, value, err);
	leave(w, "cursor_set", rc);
	return rc;
}

static struct store_ops wrap_ops = {
	.name = "wrap",
	.close = w_close,
	.rollback = w_rollback,
	.begin = w_begin,
	.commit = w_commit,
	.defer_sync = w_defer_sync,
	.sync = w_sync,
	.maintain = w_maintain,
	.mention_put = w_mention_put,
	.mention_pending = w_mention_pending,
	.mention_finish = w_mention_finish,
	.author_mentions = w_author_mentions,
	.author_last_reply = w_author_last_reply,
	.thread_replied = w_thread_replied,
	.reply_put = w_reply_put,
	.reply_claim = w_reply_claim,
	.reply_renew = w_reply_renew,
	.reply_complete = w_reply_complete,
	.reply_next_due = w_reply_next_due,
	.reply_counts = w_reply_counts,
	.reply_release_leases = w_reply_release_leases,
	.hold_set = w_hold_set,
	.handoff_put = w_handoff_put,
	.handoff_set_reply = w_handoff_set_reply,
	.handoff_by_mention = w_handoff_by_mention,
	.handoff_list = w_handoff_list,
	.handoff_get = w_handoff_get,
	.handoff_set_status = w_handoff_set_status,
	.handoff_set_label = w_handoff_set_label,
	.label_list = w_label_list,
	.handoff_unlogged = w_handoff_unlogged,
	.handoff_mark_logged = w_handoff_mark_logged,
	.handoff_count = w_handoff_count,
	.handoff_purge = w_handoff_purge,
	.cursor_get = w_cursor_get,
	.cursor_set = w_cursor_set,
};

int
store_wrap(struct store **st, struct ack_err *err)
{
	const char *trace = getenv("ACKBOT_STORE_TRACE");
	const char *fault = NULL;
	struct store_wrap *w;
	unsigned long at = 0, count = 1;
	char kind[16] = "";
	int code = 0;

#ifdef ACKBOT_TORTURE
	fault = getenv("ACKBOT_STORE_FAULT");
#endif
	if ((trace == NULL || strcmp(trace, "1") != 0) && (fault == NULL || *fault == '\0'))
		return 0;
	if (fault != NULL && *fault != '\0') {
		int k = sscanf(fault, "%lu:%15[a-z]:%lu", &at, kind, &count);
		if (k < 2 || count == 0)
			return ack_fail(err, ACK_EINVAL,
			    "ACKBOT_STORE_FAULT=%s: expected N:busy|full|ioerr[:COUNT]", fault);
		if (strcmp(kind, "busy") == 0)
			code = ACK_ETEMP;
		else if (strcmp(kind, "full") == 0 || strcmp(kind, "ioerr") == 0)
			code = ACK_EIO;
		else
			return ack_fail(err, ACK_EINVAL, "ACKBOT_STORE_FAULT: unknown kind '%s'", kind);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	w->base.ops = &wrap_ops;
	w->in = *st;
	w->trace = trace != NULL && strcmp(trace, "1") == 0;
	pthread_mutex_init(&w->lock, NULL);
	w->fault_at = at;
	w->fault_count = count;
	w->fault_code = code;
	w->fault_kind = code == ACK_ETEMP ? "busy" : code != 0 && strcmp(kind, "full") == 0 ?
	    "full" : "ioerr";
	if (at > 0)
		log_info("store", "store_fault", "nth=%lu kind=%s count=%lu", at, w->fault_kind, count);
	*st = &w->base;
	return 0;
}
