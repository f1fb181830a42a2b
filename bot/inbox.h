/* inbox.h - the durable intake: mentions from every source are batched per loop iteration,
 * committed in one transaction (with the stream cursors they move), made durable by the
 * syncer, and only then acknowledged to their source. A failed batch fences the stream
 * sources it held: their cursor never passes a mention that was not committed. */
#ifndef ACKBOT_INBOX_H
#define ACKBOT_INBOX_H

#include <stdint.h>
#include <uv.h>

#include "err.h"
#include "mention.h"

struct inbox;
struct store;
struct syncer;

enum { INBOX_ACCEPTED = 0, INBOX_DUPLICATE = 1, INBOX_FAILED = 2 };

/* put flags */
enum {
	INBOX_FENCE = 1,	/* a failure of this item fences its source until inbox_unfence() */
};

/* Runs once per item on the loop: after the commit and the sync that made it durable
 * (accepted, duplicate), or as soon as it failed. m is borrowed for the call (NULL for a
 * cursor-only item). */
typedef void inbox_done_fn(void *arg, int result, const struct mention *m);

/* wake is called when the inbox has work for the loop's next iteration. */
int  inbox_open(struct inbox **out, uv_loop_t *loop, struct store *st, struct syncer *sy,
    int sync_slot, void (*wake)(void *), void *wake_arg, struct ack_err *err);
/* Items still queued or waiting for their sync fail (their callbacks run). NULL-safe. */
void inbox_close(struct inbox *ib);

/* Queues m for the next batch and takes its fields (m is zeroed). Returns 0 (cb will run),
 * or ACK_ETEMP when the inbox takes nothing (draining) or m's source is fenced, or
 * ACK_ENOMEM; then cb does not run and m is left as it was. */
int  inbox_put_mention(struct inbox *ib, struct mention *m, int flags, inbox_done_fn *cb,
    void *arg);
/* A resume point alone (a stream's first start, a page without new mentions), committed
 * in order with the source's mentions. */
int  inbox_put_cursor(struct inbox *ib, const char *source, const char *cursor, int flags,
    inbox_done_fn *cb, void *arg);
/* The source's committed resume point: *value is a new string or NULL; caller frees. */
int  inbox_cursor_get(struct inbox *ib, const char *source, char **value, struct ack_err *err);
/* The source has handled its failure (it fetches again from its committed cursor). */
void inbox_unfence(struct inbox *ib, const char *source);

/* The loop's work point: commits the queued batch. Returns how many new mentions it
 * committed (the pipeline has work), 0 when none, or a negative code when the batch is
 * held back for a retry (the store was busy). */
int  inbox_flush(struct inbox *ib);
/* The syncer finished a round of the store's log: items committed before generation gen
 * are durable (rc 0) and are acknowledged, or failed. */
void inbox_synced(struct inbox *ib, uint64_t gen, int rc);
/* Drain: new items are refused from now on. */
void inbox_refuse(struct inbox *ib);
/* 1 when nothing is queued or waiting for a sync. */
int  inbox_idle(const struct inbox *ib);

#endif
