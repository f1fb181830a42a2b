/* handoff_log.c - batched append, fsync on the syncer's thread, then mark; recovery reads
 * the file once (getline: lines of any length) into a sorted set of tickets. */
#include "handoff_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff.h"
#include "log.h"
#include "store.h"
#include "syncer.h"

#define LOG_BATCH 256

struct rows {
	int64_t *v;
	size_t n, cap;
};

struct handoff_log {
	int fd;
	char *path;
	struct store *st;
	struct syncer *sy;
	int slot;
	void (*wake)(void *);
	void *wake_arg;
	struct rows written;	/* appended, waiting for their fsync */
	struct rows synced;	/* durable in the file, to be marked in the store */
	int syncing;
	int more;		/* the last batch was full */
	int recover;		/* check the file from recover_off before writing */
	off_t recover_off;
	char **known;		/* tickets the file holds past recover_off, sorted */
	size_t nknown;
};

static int
rows_add(struct rows *r, int64_t row)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		int64_t *n = realloc(r->v, cap * sizeof(*n));
		if (n == NULL)
			return -1;
		r->v = n;
		r->cap = cap;
	}
	r->v[r->n++] = row;
	return 0;
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

/* A line cut short (a kill mid-write, a full disk) is cut off: its handoff is not yet marked
 * logged in the store, so it is written again whole. Truncating needs no free space. */
static int
cut_torn_tail(struct handoff_log *l)
{
	struct stat sb;
	char buf[4096];
	off_t end, at;

	if (fstat(l->fd, &sb) != 0)
		return -1;
	end = sb.st_size;
	if (end == 0 || (pread(l->fd, buf, 1, end - 1) == 1 && buf[0] == '\n'))
		return 0;
	for (at = end; at > 0;) {
		size_t n = at < (off_t)sizeof(buf) ? (size_t)at : sizeof(buf);
		ssize_t r = pread(l->fd, buf, n, at - (off_t)n);
		if (r != (ssize_t)n)
			return -1;
		at -= (off_t)n;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n') {
				at += (off_t)i;
				goto found;
			}
	}
found:
	if (ftruncate(l->fd, at) != 0)
		return -1;
	log_warn("handoff", "log_torn_line", "path=%s offset=%lld bytes=%lld", log_q(l->path),
	    (long long)at, (long long)(end - at));
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
known_free(struct handoff_log *l)
{
	for (size_t i = 0; i < l->nknown; i++)
		free(l->known[i]);
	free(l->known);
	l->known = NULL;
	l->nknown = 0;
}

static int
known_has(const struct handoff_log *l, const char *ticket)
{
	return l->nknown > 0 && bsearch(&ticket, l->known, l->nknown, sizeof(*l->known),
	    cmp_str) != NULL;
}

/* Reads the file from recover_off once: the ticket of every whole line (a crash may have
 * cut the last one short; cut_torn_tail then cut it off). */
static int
scan(struct handoff_log *l, struct ack_err *err)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, capk = 0;
	ssize_t len;
	int fd;

	known_free(l);
	if ((fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    lseek(fd, l->recover_off, SEEK_SET) < 0 || (f = fdopen(fd, "r")) == NULL) {
		if (fd >= 0)
			close(fd);
		return ack_fail(err, ACK_EIO, "reading handoff log %s: %s", l->path, strerror(errno));
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *o, *t;
		if (len < 2 || line[len - 1] != '\n' || line[len - 2] != '}')
			continue;
		o = json_loadb(line, (size_t)len, 0, NULL);
		t = json_object_get(o, "ticket");
		if (json_is_string(t)) {
			if (l->nknown == capk) {
				size_t nc = capk ? capk * 2 : 256;
				char **n = realloc(l->known, nc * sizeof(*n));
				if (n == NULL) {
					json_decref(o);
					goto oom;
				}
				l->known = n;
				capk = nc;
			}
			if ((l->known[l->nknown] = strdup(json_string_value(t))) == NULL) {
				json_decref(o);
				goto oom;
			}
			l->nknown++;
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (l->nknown > 1)
		qsort(l->known, l->nknown, sizeof(*l->known), cmp_str);
	return 0;
oom:
	free(line);
	fclose(f);
	known_free(l);
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}

static int
log_sync(void *arg, struct ack_err *err)
{
	struct handoff_log *l = arg;

	if (fdatasync(l->fd) != 0)
		return ack_fail(err, ACK_EIO, "fsync %s: %s", l->path, strerror(errno));
	return 0;
}

static void
log_synced(void *arg, uint64_t gen, int rc, const struct ack_err *err)
{
	struct handoff_log *l = arg;

	l->syncing = 0;
	if (rc == 0) {
		for (size_t i = 0; i < l->written.n; i++)
			if (rows_add(&l->synced, l->written.v[i]) != 0) {
				rc = ACK_ENOMEM;	/* not marked: recovery finds the lines */
				break;
			}
	}
	if (rc != 0) {
		log_error("handoff", "log_sync_failed", "error=%s", log_q(err ? err->msg : "?"));
		l->recover = 1;		/* whatever reached the disk is marked, not rewritten */
	}
	l->written.n = 0;
	l->wake(l->wake_arg);
}

int
handoff_log_open(struct handoff_log **out, const char *path, struct store *st,
    struct syncer *sy, void (*wake)(void *), void *wake_arg, struct ack_err *err)
{
	struct handoff_log *l;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	l->st = st;
	l->sy = sy;
	l->wake = wake;
	l->wake_arg = wake_arg;
	l->recover = 1;		/* start-up: the last run may have died between fsync and mark */
	l->recover_off = 0;
	l->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		ack_fail(err, ACK_EIO, "cannot open handoff log %s: %s", path, strerror(errno));
		free(l->path);
		free(l);
		return ACK_EIO;
	}
	if (cut_torn_tail(l) != 0) {
		ack_fail(err, ACK_EIO, "writing handoff log %s: %s", path, strerror(errno));
		handoff_log_close(l);
		return ACK_EIO;
	}
	if ((l->slot = syncer_add(sy, log_sync, l, log_synced, l)) < 0) {
		handoff_log_close(l);
		return ack_fail(err, ACK_EINVAL, "syncer: no slot left for the handoff log");
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
	known_free(l);
	free(l->written.v);
	free(l->synced.v);
	free(l->path);
	free(l);
}

int
handoff_log_idle(const struct handoff_log *l)
{
	return l == NULL || (!l->syncing && l->written.n == 0 && l->synced.n == 0 && !l->more);
}

static int
mark(struct handoff_log *l, struct ack_err *err)
{
	struct store *st = l->st;
	int rc;

	if (l->synced.n == 0)
		return 0;
	if ((rc = st->ops->begin(st, err)) != 0)
		return rc;
	for (size_t i = 0; i < l->synced.n; i++)
		if ((rc = st->ops->handoff_mark_logged(st, l->synced.v[i], err)) != 0) {
			st->ops->rollback(st);
			return rc;
		}
	if ((rc = st->ops->commit(st, err)) != 0) {
		st->ops->rollback(st);
		return rc;
	}
	l->synced.n = 0;
	return 0;
}

int
handoff_log_flush(struct handoff_log *l, struct ack_err *err)
{
	struct store *st = l->st;
	struct handoff *v = NULL;
	struct stat sb;
	size_t n = 0;
	int rc;

	if (l->syncing)
		return 0;		/* its fsync is out: log_synced wakes us */
	if ((rc = mark(l, err)) != 0)
		return rc;
	if (l->recover) {
		if (cut_torn_tail(l) != 0)
			return ack_fail(err, ACK_EIO, "writing handoff log %s: %s", l->path,
			    strerror(errno));
		if ((rc = scan(l, err)) != 0)
			return rc;
		l->recover = 0;
	}
	if ((rc = st->ops->handoff_unlogged(st, LOG_BATCH, &v, &n, err)) != 0)
		return rc;
	l->more = n == LOG_BATCH;
	if (n == 0) {
		known_free(l);
		return 0;
	}
	if (fstat(l->fd, &sb) == 0)
		l->recover_off = sb.st_size;	/* where this batch starts, should it fail */
	for (size_t i = 0; i < n; i++) {
		json_t *o;
		char *s;
		int ok;

		if (known_has(l, v[i].ticket)) {
			/* already in the file (maybe only in the page cache): not written again,
			 * marked after the fsync below */
			if (rows_add(&l->written, v[i].row) != 0)
				goto oom;
			continue;
		}
		o = handoff_to_json(&v[i]);
		s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		if (s == NULL)
			goto oom;
		ok = write_all(l->fd, s, strlen(s)) == 0 && write_all(l->fd, "\n", 1) == 0;
		free(s);
		if (!ok) {
			rc = ack_fail(err, ACK_EIO, "writing handoff log %s: %s", l->path,
			    strerror(errno));
			(void)cut_torn_tail(l);	/* or at the next try */
			l->recover = 1;	/* this batch may be half written */
			l->written.n = 0;
			l->synced.n = 0;
			handoff_free_array(v, n);
			return rc;
		}
		if (rows_add(&l->written, v[i].row) != 0)
			goto oom;
	}
	handoff_free_array(v, n);
	if (l->written.n > 0) {
		l->syncing = 1;
		syncer_request(l->sy, l->slot);
	}
	return l->synced.n > 0 || l->more ? 1 : 0;
oom:
	handoff_free_array(v, n);
	l->recover = 1;
	l->written.n = 0;
	l->synced.n = 0;
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}
