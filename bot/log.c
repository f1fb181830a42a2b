/* log.c - logfmt lines on stderr, written with one write(2) each so lines never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_min_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_parse_level(const char *name, int *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

int
log_set_level(const char *name)
{
	int lv;

	if (log_parse_level(name, &lv) != 0)
		return -1;
	log_min_level = lv;
	return 0;
}

const char *
log_q(const char *s)
{
	static _Thread_local char bufs[4][512];
	static _Thread_local unsigned next;
	char *b = bufs[next++ % 4];
	size_t n = 0, cap = sizeof(bufs[0]);
	int needs = 0;

	if (s == NULL)
		return "\"\"";
	if (*s == '\0')
		return "\"\"";
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
			needs = 1;
	if (!needs && strlen(s) < cap - 8) {
		memcpy(b, s, strlen(s) + 1);
		return b;
	}
	b[n++] = '"';
	for (const char *p = s; *p && n < cap - 6; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			b[n++] = '\\';
			b[n++] = (char)c;
		} else if (c == '\n') {
			b[n++] = '\\';
			b[n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			b[n++] = '?';
		} else {
			b[n++] = (char)c;
		}
	}
	if (n >= cap - 6) {
		memcpy(b + n, "...", 3);
		n += 3;
	}
	b[n++] = '"';
	b[n] = '\0';
	return b;
}

void
log_event(int level, const char *mod, const char *event, const char *kv, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int w;

	if (level < log_min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof(line) - n, ".%03dZ level=%s mod=%s event=%s",
	    (int)(tv.tv_usec / 1000), level_names[level & 3], mod, event);
	if (w > 0)
		n += (size_t)w;
	if (kv != NULL && *kv != '\0' && n < sizeof(line) - 2) {
		va_list ap;
		line[n++] = ' ';
		va_start(ap, kv);
		w = vsnprintf(line + n, sizeof(line) - n, kv, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write: lines from several processes never interleave */
	ssize_t r = write(STDERR_FILENO, line, n);
	(void)r;
}
