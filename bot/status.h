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

/* boot: this run's id (16 hex digits), also in the pid file. */
struct status *status_new(const struct config *c, int64_t started_ms, const char *boot);
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

/* Whether a process holds an flock on path: 1 (*pid its pid as this process sees it, 0
 * when it is in a pid namespace not visible from here), 0 none, -1 with errno when the
 * lock table cannot be read. */
int status_lock_holder(const char *path, long *pid);
/* The daemon's status file for data_dir, or NULL (with errno) when there is none. */
json_t *status_read(const char *data_dir);

/* The settings of old (the configuration the daemon started with) that a reload to nc
 * cannot apply while running, and the files its sources read at start (s: NULL-safe)
 * whose content changed: *out gets strings like "admin.listen (127.0.0.1:9090 ->
 * 127.0.0.1:9191)"; the caller frees them and the array. Returns how many. */
size_t status_restart_needed(const struct status *s, const struct config *old,
    const struct config *nc, char ***out);

#endif
