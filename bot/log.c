/* log.c - logfmt or JSON lines on stderr or a file, written with one write(2) each so
 * lines never interleave. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_min_level = LOG_INFO;
static int log_format;
static int log_fd = STDERR_FILENO;
static char *log_path;

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

int
log_set_format(const char *name)
{
	if (strcmp(name, "logfmt") == 0)
		log_format = LOG_LOGFMT;
	else if (strcmp(name, "json") == 0)
		log_format = LOG_JSON;
	else
		return -1;
	return 0;
}

int
log_open_file(const char *path)
{
	int fd = STDERR_FILENO;
	char *copy = NULL;

	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			return -1;
		if ((copy = strdup(path)) == NULL) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
	}
	/* the old descriptor goes only now: a failed reopen keeps logging where it did */
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = copy;
	return 0;
}

const char *
log_file_path(void)
{
	return log_path;
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

/* A bare value that is a JSON number as written ("12", "-3", "0.25"), else NULL. */
static json_t *
log_number(const char *v)
{
	const char *p = v + (*v == '-');
	char *end;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (const char *q = p; *q; q++)
		if (!((*q >= '0' && *q <= '9') || *q == '.'))
			return NULL;
	if (strchr(p, '.') == NULL) {
		errno = 0;
		long long x = strtoll(v, &end, 10);
		return *end == '\0' && errno == 0 ? json_integer(x) : NULL;
	}
	double d = strtod(v, &end);
	return *end == '\0' && end[-1] != '.' ? json_real(d) : NULL;
}

/* The logfmt pairs of kv (as log_q writes them) into o; a value that reads as a number
 * becomes one. */
static void
pairs_to_json(json_t *o, const char *kv)
{
	const char *p = kv;

	while (*p) {
		char key[64], *val;
		size_t k = 0, cap = strlen(p) + 1, v = 0;
		int quoted;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		while (*p && *p != '=' && *p != ' ')
			if (k < sizeof(key) - 1)
				key[k++] = *p++;
			else
				p++;
		key[k] = '\0';
		if ((val = malloc(cap)) == NULL)
			return;
		if (*p == '=')
			p++;
		quoted = *p == '"';
		if (quoted) {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0') {
					p++;
					val[v++] = *p == 'n' ? '\n' : *p;
				} else {
					val[v++] = *p;
				}
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ')
				val[v++] = *p++;
		}
		val[v] = '\0';
		json_t *jv = quoted ? NULL : log_number(val);
		if (jv == NULL && (jv = json_stringn(val, v)) == NULL)
			jv = json_string("(not UTF-8)");
		if (k > 0 && jv != NULL)
			json_object_set_new(o, key, jv);
		else
			json_decref(jv);
		free(val);
	}
}

static size_t
format_json(char *line, size_t size, const char *ts, int level, const char *mod,
    const char *event, const char *kv)
{
	json_t *o = json_object();
	char *s;
	size_t n = 0;

	if (o == NULL)
		return 0;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(level_names[level & 3]));
	json_object_set_new(o, "mod", json_string(mod));
	json_object_set_new(o, "event", json_string(event));
	if (kv != NULL)
		pairs_to_json(o, kv);
	if ((s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) != NULL) {
		n = strlen(s);
		if (n > size - 2)
			n = 0;	/* too long for a line: the logfmt form below is cut instead */
		else
			memcpy(line, s, n);
		free(s);
	}
	json_decref(o);
	return n;
}

static char last_error[2048];
static unsigned last_error_gen;

const char *
log_last_error(unsigned *gen)
{
	if (gen != NULL)
		*gen = last_error_gen;
	return last_error_gen ? last_error : NULL;
}

void
log_event(int level, const char *mod, const char *event, const char *kv, ...)
{
	char line[2048], json[4096], ts[40];
	struct timeval tv;
	struct tm tm;
	size_t n, t;
	int w;

	if (level < log_min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	t = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + t, sizeof(ts) - t, ".%03dZ", (int)(tv.tv_usec / 1000));
	w = snprintf(line, sizeof(line), "ts=%s level=%s mod=%s event=%s", ts,
	    level_names[level & 3], mod, event);
	n = w > 0 ? (size_t)w : 0;
	size_t pairs = n;
	if (kv != NULL && *kv != '\0' && n < sizeof(line) - 2) {
		va_list ap;
		line[n++] = ' ';
		pairs = n;
		va_start(ap, kv);
		w = vsnprintf(line + n, sizeof(line) - n, kv, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t)w;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n] = '\0';
	if (level >= LOG_ERROR) {	/* for `ackbot status` */
		memcpy(last_error, line, n + 1);
		last_error_gen++;
	}
	if (log_format == LOG_JSON) {
		size_t j = format_json(json, sizeof(json), ts, level, mod, event,
		    pairs < n ? line + pairs : NULL);
		if (j > 0) {
			json[j++] = '\n';
			ssize_t r = write(log_fd, json, j);
			(void)r;
			return;
		}
	}
	line[n++] = '\n';
	/* one write: lines from several processes never interleave */
	ssize_t r = write(log_fd, line, n);
	(void)r;
}
