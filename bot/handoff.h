/* handoff.h - handoff records as people see them: JSON (for the CLI and the log) and the
 * append-only, fsync'd JSON-lines handoff log that mirrors the store exactly once. */
#ifndef ACKBOT_HANDOFF_H
#define ACKBOT_HANDOFF_H

#include <jansson.h>

#include "err.h"
#include "store.h"

/* New JSON object for h; caller decrefs. */
json_t *handoff_to_json(const struct handoff *h);

/* "2026-01-02T03:04:05.678Z" into buf. */
void handoff_format_time(int64_t ms, char *buf, size_t len);

struct handoff_log;

/* Opens (creates) the log for appending. */
int  handoff_log_open(struct handoff_log **out, const char *path, struct ack_err *err);
void handoff_log_close(struct handoff_log *l);	/* NULL-safe */

/* Appends every handoff the store has not marked logged, fsyncs, then marks them in one
 * transaction. With recover set (start-up), rows whose ticket the file already holds
 * (a crash between fsync and mark) are only marked. Returns the number written. */
int  handoff_log_flush(struct handoff_log *l, struct store *st, int recover, size_t *written,
    struct ack_err *err);

#endif
