/* log.h - one line per event: ts, level, mod, event first, then key=value pairs; logfmt
 * (default) or one JSON object; on stderr or appended to a file. */
#ifndef ACKBOT_LOG_H
#define ACKBOT_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

extern int log_min_level;

/* Sets the threshold; returns 0, or -1 if name is not debug|info|warn|error. */
int log_set_level(const char *name);
int log_parse_level(const char *name, int *out);

enum log_format { LOG_LOGFMT = 0, LOG_JSON };
/* "logfmt" or "json"; -1 for anything else. */
int log_set_format(const char *name);

/* Appends to path (created 0640) instead of stderr; NULL goes back to stderr. Called again
 * with the same path (SIGHUP), it reopens the file, for log rotation. 0, or -1 with errno. */
int log_open_file(const char *path);
const char *log_file_path(void);	/* NULL: stderr */

/* kv is a printf format for the trailing pairs ("mention=%s status=%d"); may be NULL.
 * Values that can hold spaces or quotes must go through log_q(). */
void log_event(int level, const char *mod, const char *event, const char *kv, ...)
    __attribute__((format(printf, 4, 5)));

/* The last error-level line (logfmt, whatever the format), or NULL; *gen counts them. */
const char *log_last_error(unsigned *gen);

/* logfmt-quotes s into one of a few rotating static buffers (valid until the next
 * few calls on this thread); long values are cut with "...". Never pass secrets. */
const char *log_q(const char *s);

#define log_debug(mod, ev, ...) do { if (log_min_level <= LOG_DEBUG) log_event(LOG_DEBUG, mod, ev, __VA_ARGS__); } while (0)
#define log_info(mod, ev, ...)  do { if (log_min_level <= LOG_INFO)  log_event(LOG_INFO,  mod, ev, __VA_ARGS__); } while (0)
#define log_warn(mod, ev, ...)  do { if (log_min_level <= LOG_WARN)  log_event(LOG_WARN,  mod, ev, __VA_ARGS__); } while (0)
#define log_error(mod, ev, ...) log_event(LOG_ERROR, mod, ev, __VA_ARGS__)

#endif
