/* status.h - what a running daemon tells `ackbot status` and `ackbot reload`: a small
 * JSON file, data_dir/ackbot.status, replaced whole (write, rename) when something in it
 * changes; and who holds data_dir/ackbot.pid, read from the kernel's lock table without
 * touching the lock (a test lock could make a starting daemon think the directory busy). */
#ifndef ACKBOT_STATUS_H
#define ACKBOT_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct diag;
struct source;

/* The daemon's side. One per daemon; everything is copied in. */
struct status;

struct status *status_new(const struct config *c, int64_t started_ms);
void status_free(struct status *s);
/* "starting", "running", "stopping". */
void status_set_state(struct status *s, const char *state);
/* A reload's outcome: ok, or the errors it found (kept: the previous set), and the
 * settings whose change waits for a restart. restart: "admin.listen (127.0.0.1:9090 ->
 * ...)" strings; may be NULL. */
void status_reloaded(struct status *s, int ok, const char *summary, const struct diag *errors,
    char **restart, size_t nrestart);
/* Writes the file if anything changed since the last write (sources' states, the last
 * error, state, a reload) or force; cfg's sources that were never started (enabled:
 * false) are listed as off. No fsync: the file is a view, not a record. */
void status_flush(struct status *s, struct source *const *src, size_t nsrc,
    const struct config *cfg, int force);
/* At a clean exit: the file goes. */
void status_remove(struct status *s);

/* The command line's side. */

/* The pid of the process holding an flock on path, or 0 when none (not running), or -1
 * with errno when path cannot be examined. */
long status_lock_holder(const char *path);
/* The daemon's status file for data_dir, or NULL (with errno) when there is none. */
json_t *status_read(const char *data_dir);

/* The settings of old that a reload to nc cannot apply while running: *out gets
 * strings like "admin.listen (127.0.0.1:9090 -> 127.0.0.1:9191)"; the caller frees them
 * and the array. Returns how many. */
size_t status_restart_needed(const struct config *old, const struct config *nc, char ***out);

#endif
