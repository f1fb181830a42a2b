/* status.c - the daemon's status file and who holds the data directory's lock. */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "source.h"
#include "store.h"


/* A source's key naming a file read at start (secret_file, ...), and what it held. */
struct file_print {
	char *what;		/* "sources: webhook.secret_file" */
	char *path;
	uint64_t hash;		/* of its content; 0: could not be read */
};

struct status {
	char *path, *tmp;
	struct file_print *files;
	size_t nfiles;
	json_t *doc;		/* everything but sources and the last error, kept between writes */
	unsigned src_gen, err_gen;
	int dirty, written;
};

static uint64_t
file_hash(const char *path)
{
	unsigned char buf[4096];
	uint64_t h = 1469598103934665603ull;	/* FNV-1a: a change detector, not a MAC */
	size_t n;
	FILE *f = fopen(path, "rbe");

	if (f == NULL)
		return 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
	fclose(f);
	return h ? h : 1;
}

/* The files the sources read once, at start: a changed secret_file needs a restart. */
static void
snapshot_files(struct status *s, const struct config *c)
{
	char what[200];

	for (size_t i = 0; i < c->nsources; i++)
		for (size_t k = 0; k < c->sources[i].nkv; k++) {
			const struct conf_kv *kv = &c->sources[i].kv[k];
			size_t l = strlen(kv->key);
			struct file_print *v;
			if (kv->is_list || l < 5 || strcmp(kv->key + l - 5, "_file") != 0)
				continue;
			if ((v = realloc(s->files, (s->nfiles + 1) * sizeof(*v))) == NULL)
				return;
			s->files = v;
			snprintf(what, sizeof(what), "sources: %.60s.%.60s", c->sources[i].name, kv->key);
			v[s->nfiles].what = strdup(what);
			v[s->nfiles].path = strdup(kv->value);
			v[s->nfiles].hash = file_hash(kv->value);
			if (v[s->nfiles].what == NULL || v[s->nfiles].path == NULL) {
				free(v[s->nfiles].what);
				free(v[s->nfiles].path);
				return;
			}
			s->nfiles++;
		}
}

struct status *
status_new(const struct config *c, int64_t started_ms, const char *boot)
{
	struct status *s = calloc(1, sizeof(*s));
	char buf[4200], *cfg_abs, *dir_abs;

	if (s == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s/ackbot.status", c->data_dir);
	s->path = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/.ackbot.status.tmp", c->data_dir);
	s->tmp = strdup(buf);
	/* absolute: a path relative to the daemon's directory means nothing elsewhere */
	cfg_abs = realpath(c->path, NULL);
	dir_abs = realpath(c->data_dir, NULL);
	s->doc = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:n}", "pid", (json_int_t)getpid(),
	    "boot", boot, "version", ACKBOT_VERSION, "config", cfg_abs ? cfg_abs : c->path,
	    "data_dir", dir_abs ? dir_abs : c->data_dir, "started_at", (json_int_t)started_ms,
	    "state", "starting", "reload");
	free(cfg_abs);
	free(dir_abs);
	snapshot_files(s, c);
	if (s->path == NULL || s->tmp == NULL || s->doc == NULL) {
		status_free(s);
		return NULL;
	}
	s->dirty = 1;
	return s;
}

void
status_free(struct status *s)
{
	if (s == NULL)
		return;
	json_decref(s->doc);
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].what);
		free(s->files[i].path);
	}
	free(s->files);
	free(s->path);
	free(s->tmp);
	free(s);
}

void
status_set_state(struct status *s, const char *state)
{
	if (s == NULL)
		return;
	json_object_set_new(s->doc, "state", json_string(state));
	s->dirty = 1;
}

void
status_reloaded(struct status *s, int ok, const char *summary, const struct diag *errors,
    char **restart, size_t nrestart)
{
	json_t *prev, *r, *errs = json_array(), *rs = json_array();
	json_int_t seq = 0;

	if (s == NULL)
		return;
	prev = json_object_get(s->doc, "reload");
	if (json_is_object(prev))
		seq = json_integer_value(json_object_get(prev, "seq"));
	for (size_t i = 0; errors != NULL && i < errors->n; i++) {
		const struct diag_item *it = &errors->items[i];
		json_array_append_new(errs, json_pack("{s:s,s:s,s:i,s:i,s:s,s:s?}",
		    "severity", it->severity == DIAG_ERROR ? "error" : "warning",
		    "file", it->file ? it->file : "", "line", it->line, "col", it->col,
		    "msg", it->msg ? it->msg : "", "hint", it->hint));
	}
	for (size_t i = 0; i < nrestart; i++)
		json_array_append_new(rs, json_string(restart[i]));
	r = json_pack("{s:I,s:I,s:b,s:s,s:o,s:o}", "seq", seq + 1,
	    "at", (json_int_t)store_now_ms(), "ok", ok, "summary", summary ? summary : "",
	    "errors", errs, "restart", rs);
	json_object_set_new(s->doc, "reload", r);
	s->dirty = 1;
}

/* s as valid UTF-8 without control characters, in out (a state or a log line may be
 * cut in the middle of a character, and may carry what a platform sent). */
static json_t *
clean_string(const char *s)
{
	char out[2100];
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;

	while (*p && o + 5 < sizeof(out)) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		size_t k = 1;
		while (n > 1 && k < n && (p[k] & 0xc0) == 0x80)
			k++;
		if (n == 0 || k < n || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			out[o++] = '?';		/* a broken sequence, or a C1 control */
			p += n == 0 || k < n ? 1 : n;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			out[o++] = ' ';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	json_t *j = json_string(out);
	return j ? j : json_string("?");
}

void
status_flush(struct status *s, struct source *const *src, size_t nsrc,
    const struct config *cfg, int force)
{
	unsigned eg;
	const char *le;
	json_t *arr;
	char *text;
	int fd;
	size_t len;

	if (s == NULL)
		return;
	le = log_last_error(&eg);
	if (!force && !s->dirty && s->src_gen == source_state_gen && s->err_gen == eg)
		return;
	arr = json_array();
	for (size_t i = 0; i < nsrc; i++)
		json_array_append_new(arr, json_pack("{s:o,s:s,s:b,s:b,s:o}", "name",
		    clean_string(src[i]->name), "type", src[i]->ops->type, "active", src[i]->active,
		    "connecting", src[i]->active && src[i]->connecting, "state",
		    clean_string(src[i]->state[0] ? src[i]->state : src[i]->active ? "on" : "off")));
	for (size_t i = 0; cfg != NULL && i < cfg->nsources; i++) {
		size_t k = 0;
		while (k < nsrc && strcmp(src[k]->name, cfg->sources[i].name) != 0)
			k++;
		if (k < nsrc)
			continue;
		/* never started: enabled: false, or added by a reload (or still starting) */
		json_array_insert_new(arr, i, json_pack("{s:o,s:s,s:b,s:b,s:s}", "name",
		    clean_string(cfg->sources[i].name), "type", cfg->sources[i].type, "active", 0,
		    "connecting", 0, "state", cfg->sources[i].enabled == CONF_OFF ?
		    "off: enabled: false" : nsrc == 0 ? "starting" :
		    "not running: added by a reload, starts at the next start"));
	}
	json_object_set_new(s->doc, "sources", arr);
	json_object_set_new(s->doc, "last_error", le ? clean_string(le) : json_null());
	json_object_set_new(s->doc, "updated_at", json_integer((json_int_t)store_now_ms()));
	text = json_dumps(s->doc, JSON_INDENT(1));
	if (text == NULL)
		return;
	len = strlen(text);
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (ok && rename(s->tmp, s->path) != 0)
		ok = 0;
	if (!ok) {
		int e = errno;
		if (fd >= 0)
			unlink(s->tmp);
		if (s->written >= 0)	/* once: a full disk must not fill the log too */
			log_warn("main", "status_file", "path=%s error=%s", log_q(s->path),
			    log_q(strerror(e)));
		s->written = -1;
		free(text);
		return;
	}
	free(text);
	s->written = 1;
	s->dirty = 0;
	s->src_gen = source_state_gen;
	s->err_gen = eg;
}

void
status_remove(struct status *s)
{
	if (s != NULL)
		unlink(s->path);
}

int
status_lock_holder(const char *path, long *holder)
{
	struct stat st;
	char line[512];
	FILE *f;
	int held = 0;

	*holder = 0;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if ((f = fopen("/proc/locks", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char kind[16], mode[16], rw[16];
		unsigned maj, min;
		unsigned long long ino;
		long pid;
		/* "3: FLOCK  ADVISORY  WRITE 5450 fe:00:10953677 0 EOF"; "->" lines wait */
		if (strstr(line, "->") != NULL)
			continue;
		if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, rw, &pid, &maj,
		    &min, &ino) != 7)
			continue;
		if (strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev)) {
			held = 1;
			*holder = pid > 0 ? pid : 0;	/* 0: another pid namespace's */
			break;
		}
	}
	fclose(f);
	return held;
}

json_t *
status_read(const char *data_dir)
{
	char path[4200];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/ackbot.status", data_dir);
	j = json_load_file(path, 0, &je);
	if (j == NULL && errno == 0)
		errno = EINVAL;
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		errno = EINVAL;
		return NULL;
	}
	return j;
}

/* ---- what a reload cannot change ---- */

/* "what (a -> b)", or "what" alone when a is NULL. */
static int
push(char ***out, size_t *n, const char *what, const char *a, const char *b)
{
	char **v = realloc(*out, (*n + 1) * sizeof(**out));
	char buf[1024];

	if (v == NULL)
		return -1;
	*out = v;
	if (a != NULL)
		snprintf(buf, sizeof(buf), "%s (%s -> %s)", what, a, b ? b : "-");
	else
		snprintf(buf, sizeof(buf), "%s", what);
	if ((v[*n] = strdup(buf)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const struct source_conf *
find_conf(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nsources; i++)
		if (strcmp(c->sources[i].name, name) == 0)
			return &c->sources[i];
	return NULL;
}

static const struct conf_kv *
kv_of(const struct source_conf *sc, const char *key)
{
	for (size_t i = 0; i < sc->nkv; i++)
		if (strcmp(sc->kv[i].key, key) == 0)
			return &sc->kv[i];
	return NULL;
}

/* Each key of a source that differs between o and n, as "sources: NAME.KEY (a -> b)". */
static void
source_changes(const struct source_conf *o, const struct source_conf *n, char ***out,
    size_t *cnt)
{
	static const char *const en[] = { "off", "on", "auto" };
	char key[200], a[64], b[64];

	if (strcmp(o->type, n->type) != 0) {
		snprintf(key, sizeof(key), "sources: %s.type", n->name);
		push(out, cnt, key, o->type, n->type);
		return;
	}
	if (o->enabled != n->enabled) {
		snprintf(key, sizeof(key), "sources: %s.enabled", n->name);
		push(out, cnt, key, o->enabled >= 0 && o->enabled < 3 ? en[o->enabled] : "?",
		    n->enabled >= 0 && n->enabled < 3 ? en[n->enabled] : "?");
	}
	if (o->max_length != n->max_length) {
		snprintf(a, sizeof(a), o->max_length ? "%zu" : "default", o->max_length);
		snprintf(b, sizeof(b), n->max_length ? "%zu" : "default", n->max_length);
		snprintf(key, sizeof(key), "sources: %s.max_length", n->name);
		push(out, cnt, key, a, b);
	}
	for (size_t i = 0; i < n->nkv; i++) {
		const struct conf_kv *k = kv_of(o, n->kv[i].key);
		if (k != NULL && strcmp(k->value, n->kv[i].value) == 0)
			continue;
		snprintf(key, sizeof(key), "sources: %s.%.60s", n->name, n->kv[i].key);
		push(out, cnt, key, k ? k->value : "unset", n->kv[i].value);
	}
	for (size_t i = 0; i < o->nkv; i++)
		if (kv_of(n, o->kv[i].key) == NULL) {
			snprintf(key, sizeof(key), "sources: %s.%.60s", n->name,
			    o->kv[i].key);
			push(out, cnt, key, o->kv[i].value, "unset");
		}
}

size_t
status_restart_needed(const struct status *s, const struct config *old, const struct config *nc,
    char ***out)
{
	char a[128], b[128];
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; s != NULL && i < s->nfiles; i++)
		if (file_hash(s->files[i].path) != s->files[i].hash)
			push(out, &n, s->files[i].what, s->files[i].path, "its content changed");
	snprintf(a, sizeof(a), "%s:%d", old->admin_host ? old->admin_host : "off", old->admin_port);
	snprintf(b, sizeof(b), "%s:%d", nc->admin_host ? nc->admin_host : "off", nc->admin_port);
	if (strcmp(a, b) != 0)
		push(out, &n, "admin.listen", a, b);
	if (!same(old->data_dir, nc->data_dir))
		push(out, &n, "data_dir", old->data_dir, nc->data_dir);
	else if (!same(old->db_path, nc->db_path))
		push(out, &n, "store.path", old->db_path, nc->db_path);
	if (!same(old->handoff_log, nc->handoff_log))
		push(out, &n, "handoff.log", old->handoff_log, nc->handoff_log);
	for (size_t i = 0; i < nc->nsources; i++) {
		const struct source_conf *o = find_conf(old, nc->sources[i].name);
		if (o == NULL) {
			snprintf(a, sizeof(a), "sources: %.60s (%.30s) added", nc->sources[i].name,
			    nc->sources[i].type);
			push(out, &n, a, NULL, NULL);
			continue;
		}
		source_changes(o, &nc->sources[i], out, &n);
	}
	for (size_t i = 0; i < old->nsources; i++)
		if (find_conf(nc, old->sources[i].name) == NULL) {
			snprintf(a, sizeof(a), "sources: %.60s (%.30s) removed", old->sources[i].name,
			    old->sources[i].type);
			push(out, &n, a, NULL, NULL);
		}
	return n;
}
