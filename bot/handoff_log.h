/* handoff_log.h - the append-only JSON-lines handoff log that mirrors the store's handoffs
 * exactly once: lines are appended in batches, made durable by the syncer (off the loop),
 * and only then marked logged in the store. After a crash or a failed write, what the file
 * already holds (whole lines) is marked, not written again. */
#ifndef ACKBOT_HANDOFF_LOG_H
#define ACKBOT_HANDOFF_LOG_H

#include "err.h"

struct handoff_log;
struct store;
struct syncer;

/* Opens (creates) path for appending; a line cut short by a crash is closed. wake is
 * called when the log has work for the loop's next iteration (its fsync finished). */
int  handoff_log_open(struct handoff_log **out, const char *path, struct store *st,
    struct syncer *sy, void (*wake)(void *), void *wake_arg, struct ack_err *err);
void handoff_log_close(struct handoff_log *l);	/* NULL-safe */

/* The loop's work point, for handoffs already durable in the store: marks what the last
 * fsync covered, then appends the next batch and asks for its fsync. Returns 1 when there
 * is more to do (call again next iteration), 0 when all is logged or a fsync is out, or
 * an error (call again later: nothing is lost, nothing is written twice). */
int  handoff_log_flush(struct handoff_log *l, struct ack_err *err);
/* 1 when no written line waits for its fsync or its mark. */
int  handoff_log_idle(const struct handoff_log *l);

#endif
