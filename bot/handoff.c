/* handoff.c - handoff JSON and the JSON-lines log (append, fsync, then mark logged). */
#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intents.h"

struct handoff_log {
	int fd;
	char *path;
};

void
handoff_format_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
handoff_to_json(const struct handoff *h)
{
	json_t *o = json_object(), *caps = NULL;
	char t[40];

	if (o == NULL)
		return NULL;
	if (h->captures != NULL)
		caps = json_loads(h->captures, 0, NULL);
	json_object_set_new(o, "ticket", json_string(h->ticket));
	json_object_set_new(o, "status", json_string(handoff_status_name(h->status)));
	json_object_set_new(o, "intent", str_or_null(h->intent));
	json_object_set_new(o, "queue", json_string(h->queue));
	json_object_set_new(o, "priority", json_string(handoff_priority_name(h->priority)));
	json_object_set_new(o, "reason", json_string(h->reason));
	json_object_set_new(o, "source", json_string(h->source));
	json_object_set_new(o, "mention_id", json_string(h->platform_id));
	if (h->extra != NULL) {	/* the platform's own handle on it (Mastodon: the notification) */
		json_t *ex = json_loads(h->extra, 0, NULL);
		json_t *nid = json_object_get(ex, "notification_id");
		if (json_is_string(nid))
			json_object_set(o, "notification_id", nid);
		json_decref(ex);
	}
	json_object_set_new(o, "author", str_or_null(h->author_handle));
	json_object_set_new(o, "author_id", str_or_null(h->author_id));
	json_object_set_new(o, "author_name", str_or_null(h->author_name));
	json_object_set_new(o, "text", json_string(h->text));
	json_object_set_new(o, "url", str_or_null(h->url));
	json_object_set_new(o, "captures", caps ? caps : json_object());
	json_object_set_new(o, "reply", str_or_null(h->reply));
	handoff_format_time(h->created_ms, t, sizeof(t));
	json_object_set_new(o, "created_at", json_string(t));
	if (h->resolved_ms > 0) {
		handoff_format_time(h->resolved_ms, t, sizeof(t));
		json_object_set_new(o, "resolved_at", json_string(t));
	} else {
		json_object_set_new(o, "resolved_at", json_null());
	}
	json_object_set_new(o, "note", str_or_null(h->note));
	return o;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
handoff_log_open(struct handoff_log **out, const char *path, struct ack_err *err)
{
	struct handoff_log *l;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	l->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		ack_fail(err, ACK_EIO, "cannot open handoff log %s: %s", path, strerror(errno));
		free(l->path);
		free(l);
		return ACK_EIO;
	}
	{
		/* a line cut short by a crash is closed, so the next one starts clean */
		struct stat sb;
		char last = '\n';
		if (fstat(l->fd, &sb) == 0 && sb.st_size > 0 &&
		    pread(l->fd, &last, 1, sb.st_size - 1) == 1 && last != '\n' &&
		    write_all(l->fd, "\n", 1) != 0) {
			ack_fail(err, ACK_EIO, "writing handoff log %s: %s", path, strerror(errno));
			handoff_log_close(l);
			return ACK_EIO;
		}
	}
	*out = l;
	return 0;
}

void
handoff_log_close(struct handoff_log *l)
{
	if (l == NULL)
		return;
	close(l->fd);
	free(l->path);
	free(l);
}

/* 1 if the file already holds a line for ticket (start-up recovery only). */
static int
file_has_ticket(const char *path, const char *ticket)
{
	char needle[64], line[8192];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (f == NULL)
		return 0;
	snprintf(needle, sizeof(needle), "\"ticket\":\"%s\"", ticket);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		/* only a whole line counts: a crash may have cut the last one short */
		if (n >= 2 && line[n - 1] == '\n' && line[n - 2] == '}' && strstr(line, needle) != NULL)
			found = 1;
	}
	fclose(f);
	return found;
}

int
handoff_log_flush(struct handoff_log *l, struct store *st, int recover, size_t *written,
    struct ack_err *err)
{
	struct handoff *v = NULL;
	size_t n = 0, wrote = 0;
	int rc;

	if (written)
		*written = 0;
	for (;;) {
		if ((rc = st->ops->handoff_unlogged(st, 256, &v, &n, err)) != 0)
			return rc;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			json_t *o;
			char *s;
			if (recover && file_has_ticket(l->path, v[i].ticket))
				continue;
			o = handoff_to_json(&v[i]);
			s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
			json_decref(o);
			if (s == NULL) {
				handoff_free_array(v, n);
				return ack_fail(err, ACK_ENOMEM, "out of memory");
			}
			rc = write_all(l->fd, s, strlen(s)) == 0 && write_all(l->fd, "\n", 1) == 0;
			free(s);
			if (!rc) {
				handoff_free_array(v, n);
				return ack_fail(err, ACK_EIO, "writing handoff log %s: %s", l->path,
				    strerror(errno));
			}
			wrote++;
		}
		if (fdatasync(l->fd) != 0) {
			handoff_free_array(v, n);
			return ack_fail(err, ACK_EIO, "fsync %s: %s", l->path, strerror(errno));
		}
		/* Only after the lines are on disk: a crash in between is what recover handles. */
		if ((rc = st->ops->begin(st, err)) != 0)
			goto fail;
		for (size_t i = 0; i < n; i++)
			if ((rc = st->ops->handoff_mark_logged(st, v[i].row, err)) != 0) {
				st->ops->rollback(st);
				goto fail;
			}
		if ((rc = st->ops->commit(st, err)) != 0) {
			st->ops->rollback(st);
			goto fail;
		}
		handoff_free_array(v, n);
		v = NULL;
		if (n < 256)
			break;
	}
	if (written)
		*written = wrote;
	return 0;
fail:
	handoff_free_array(v, n);
	return rc;
}
