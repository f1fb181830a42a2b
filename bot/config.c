/* config.c - the YAML configuration: defaults, typed keys, relative paths resolved against
 * the file's directory, every error collected with its position. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "source.h"
#include "yamlpos.h"

int
conf_parse_duration_ms(const char *s, int64_t *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		v *= 60000;
	else if (strcmp(end, "h") == 0)
		v *= 3600000;
	else if (strcmp(end, "d") == 0)
		v *= 86400000;
	else
		return -1;
	if (v > 9.2e15)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int
conf_parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned long long mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0' || strcmp(end, "B") == 0)
		mul = 1;
	else if (strcmp(end, "k") == 0 || strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0 ||
	    strcmp(end, "kB") == 0 || strcmp(end, "KB") == 0)
		mul = 1024;
	else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0 || strcmp(end, "MB") == 0)
		mul = 1024 * 1024;
	else
		return -1;
	if (v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

/* New string: p if absolute, else dir/p. */
static char *
resolve(const char *dir, const char *p)
{
	char *out;
	size_t n;

	if (p[0] == '/' || dir == NULL || dir[0] == '\0' || strcmp(dir, ".") == 0) {
		out = strdup(p);
	} else {
		n = strlen(dir) + strlen(p) + 2;
		out = malloc(n);
		if (out != NULL)
			snprintf(out, n, "%s/%s", dir, p);
	}
	if (out != NULL)
		config_normalize_path(out);
	return out;
}

void
config_normalize_path(char *p)
{
	char *seg[512];
	size_t nseg = 0, o = 0;
	int abs = p[0] == '/';
	char *save = NULL, *tok, *copy = strdup(p);

	if (copy == NULL)
		return;
	for (tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (nseg > 0 && strcmp(seg[nseg - 1], "..") != 0) {
				nseg--;
				continue;
			}
			if (abs)
				continue;	/* "/.." is "/" */
		}
		if (nseg < sizeof(seg) / sizeof(seg[0]))
			seg[nseg++] = tok;
	}
	if (abs)
		p[o++] = '/';
	for (size_t i = 0; i < nseg; i++) {
		size_t l = strlen(seg[i]);
		if (i > 0)
			p[o++] = '/';
		memmove(p + o, seg[i], l);
		o += l;
	}
	if (o == 0)
		p[o++] = '.';
	p[o] = '\0';
	free(copy);
}

static void
source_conf_free(struct source_conf *s)
{
	free(s->name);
	free(s->type);
	for (size_t i = 0; i < s->nkv; i++) {
		free(s->kv[i].key);
		free(s->kv[i].value);
	}
	free(s->kv);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	ystrings_free(c->handles, c->nhandles);
	free(c->data_dir);
	free(c->db_path);
	free(c->handoff_log);
	free(c->log_level);
	ystrings_free(c->intent_paths, c->nintent_paths);
	free(c->intent_path_pos);
	free(c->default_lang);
	ystrings_free(c->blocked, c->nblocked);
	ystrings_free(c->languages, c->nlanguages);
	ystrings_free(c->guard_corpus, c->nguard_corpus);
	ystrings_free(c->allow_domains, c->nallow_domains);
	free(c->guard_model);
	free(c->guard_ack_intent);
	free(c->guard_praise_intent);
	free(c->admin_host);
	for (size_t i = 0; i < c->nsources; i++)
		source_conf_free(&c->sources[i]);
	free(c->sources);
	free(c);
}

int
conf_parse_listen(const char *v, char **host, int *port)
{
	const char *colon = strrchr(v, ':');
	const char *ps = colon ? colon + 1 : v;
	char *end;
	long p;

	if (*ps == '\0')
		return -1;
	p = strtol(ps, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535)
		return -1;
	if (colon == NULL || colon == v) {
		*host = strdup("127.0.0.1");
	} else {
		const char *h = v;
		size_t hl = (size_t)(colon - v);
		if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {	/* [::1]:8080 */
			h++;
			hl -= 2;
		}
		*host = strndup(h, hl);
	}
	*port = (int)p;
	return *host ? 0 : -1;
}

static const char *const top_keys[] = { "bot", "data_dir", "log_level", "intents", "policy",
	"handoff", "store", "sender", "admin", "drain_timeout", "guard", "sources", NULL };
static const char *const guard_keys[] = { "enabled", "model", "corpus", "problem_threshold",
	"spam_threshold", "praise_threshold", "praise_max_problem", "urgent_threshold",
	"spam_handoff", "allow_domains", "ack_intent", "praise_intent", "seed", NULL };
static const char *const bot_keys[] = { "handles", "name", NULL };
static const char *const intents_keys[] = { "paths", "default_language", "match_limit",
	"depth_limit", "max_text", "unicode_classes", "detect_language", "language_confidence",
	"languages", NULL };
static const char *const policy_keys[] = { "cooldown", "one_reply_per_thread", "reply_to_bots",
	"blocked_authors", "handoff_unmatched", "supporter_mentions", NULL };
static const char *const handoff_keys[] = { "log", NULL };
static const char *const store_keys[] = { "path", NULL };
static const char *const sender_keys[] = { "timeout", "max_attempts", "backoff_min",
	"backoff_max", "stale_thanks", NULL };
static const char *const admin_keys[] = { "listen", NULL };

/* A probability: a number from 0 to 1. */
static int
ynode_prob(struct ydoc *y, yaml_node_t *n, const char *what, double *out, struct diag *d)
{
	const char *s = n ? ynode_str(n) : NULL;
	char *end = NULL;
	double v;

	if (n == NULL)
		return 0;
	if (s != NULL)
		v = strtod(s, &end);
	if (s == NULL || end == s || *end != '\0' || !(v >= 0 && v <= 1)) {
		diag_add(d, DIAG_ERROR, y->file, ynode_line(n), ynode_col(n), "e.g. 0.7",
		    "invalid value '%s' for '%s' (expected a number from 0 to 1)", s ? s : "", what);
		return -1;
	}
	*out = v;
	return 0;
}

static void
resolve_all(const char *dir, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *r = resolve(dir, v[i]);
		if (r != NULL) {
			free(v[i]);
			v[i] = r;
		}
	}
}

static yaml_node_t *section(struct ydoc *y, yaml_node_t *root, const char *name,
    const char *const *keys, struct diag *d);

/* A string key of map that, when present, replaces the default in *dst. */
static void
replace_string(struct ydoc *y, yaml_node_t *map, const char *key, const char *what, char **dst,
    struct diag *d)
{
	yaml_node_t *n = ymap_get(y, map, key, NULL);
	char *v = NULL;

	if (n != NULL && ynode_string(y, n, what, &v, d) == 0 && v != NULL) {
		free(*dst);
		*dst = v;
	}
}

static void
parse_guard(struct ydoc *y, yaml_node_t *root, struct config *c, struct diag *d)
{
	yaml_node_t *sec = section(y, root, "guard", guard_keys, d);
	char *model = NULL;
	long seed = 1;

	if (sec != NULL) {
		ynode_bool(y, ymap_get(y, sec, "enabled", NULL), "guard.enabled", &c->guard_on, d);
		ynode_string(y, ymap_get(y, sec, "model", NULL), "guard.model", &model, d);
		ynode_strings(y, ymap_get(y, sec, "corpus", NULL), "guard.corpus", &c->guard_corpus,
		    &c->nguard_corpus, d);
		ynode_prob(y, ymap_get(y, sec, "problem_threshold", NULL), "guard.problem_threshold",
		    &c->guard_problem, d);
		ynode_prob(y, ymap_get(y, sec, "spam_threshold", NULL), "guard.spam_threshold",
		    &c->guard_spam, d);
		ynode_prob(y, ymap_get(y, sec, "praise_threshold", NULL), "guard.praise_threshold",
		    &c->guard_praise, d);
		ynode_prob(y, ymap_get(y, sec, "praise_max_problem", NULL),
		    "guard.praise_max_problem", &c->guard_praise_problem, d);
		ynode_prob(y, ymap_get(y, sec, "urgent_threshold", NULL), "guard.urgent_threshold",
		    &c->guard_urgent, d);
		ynode_bool(y, ymap_get(y, sec, "spam_handoff", NULL), "guard.spam_handoff",
		    &c->guard_spam_handoff, d);
		ynode_strings(y, ymap_get(y, sec, "allow_domains", NULL), "guard.allow_domains",
		    &c->allow_domains, &c->nallow_domains, d);
		replace_string(y, sec, "ack_intent", "guard.ack_intent", &c->guard_ack_intent, d);
		replace_string(y, sec, "praise_intent", "guard.praise_intent",
		    &c->guard_praise_intent, d);
		if (ynode_int(y, ymap_get(y, sec, "seed", NULL), "guard.seed", 0, 2147483647L, &seed,
		    d) == 0)
			c->guard_seed = (uint64_t)seed;
	}
	c->guard_model = resolve(model ? c->dir : (c->data_dir ? c->data_dir : "."),
	    model ? model : "guard.model");
	free(model);
	if (c->nguard_corpus == 0 && (c->guard_corpus = calloc(1, sizeof(char *))) != NULL &&
	    (c->guard_corpus[0] = strdup("../intents/corpus/train")) != NULL)
		c->nguard_corpus = 1;
	resolve_all(c->dir, c->guard_corpus, c->nguard_corpus);
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
config_corpus_files(const struct config *c, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < c->nguard_corpus; i++) {
		const char *p = c->guard_corpus[i];
		struct stat sb;
		DIR *dir;
		struct dirent *de;
		size_t first = *n;

		if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			if (*n == cap && (v = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v))) == NULL)
				return NULL;
			if ((v[*n] = strdup(p)) != NULL)
				(*n)++;
			continue;
		}
		if ((dir = opendir(p)) == NULL)
			continue;
		while ((de = readdir(dir)) != NULL) {
			size_t l = strlen(de->d_name);
			if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
				continue;
			if (*n == cap && (v = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v))) == NULL) {
				closedir(dir);
				return NULL;
			}
			if (asprintf(&v[*n], "%s/%s", p, de->d_name) >= 0)
				(*n)++;
		}
		closedir(dir);
		qsort(v + first, *n - first, sizeof(*v), cmp_cstr);
	}
	return v;
}

static yaml_node_t *
section(struct ydoc *y, yaml_node_t *root, const char *name, const char *const *keys,
    struct diag *d)
{
	yaml_node_t *n = ymap_get(y, root, name, NULL);

	if (n == NULL || ynode_is_null(n))
		return NULL;
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(d, DIAG_ERROR, y->file, ynode_line(n), ynode_col(n), NULL,
		    "'%s' must be a mapping of keys", name);
		return NULL;
	}
	ymap_check_keys(y, n, keys, name, d);
	return n;
}

static void
parse_sources(struct ydoc *y, yaml_node_t *list, struct config *c, struct diag *d)
{
	size_t cap;

	if (list == NULL || ynode_is_null(list))
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		diag_add(d, DIAG_ERROR, y->file, ynode_line(list), ynode_col(list),
		    "sources: a list of entries such as '- type: webhook'", "'sources' must be a list");
		return;
	}
	cap = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	c->sources = calloc(cap ? cap : 1, sizeof(*c->sources));
	if (c->sources == NULL)
		return;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *e = ydoc_node(y, *it), *tn;
		struct source_conf *s;

		if (e->type != YAML_MAPPING_NODE) {
			diag_add(d, DIAG_ERROR, y->file, ynode_line(e), ynode_col(e),
			    "each source is a mapping with at least 'type'", "a source must be a mapping");
			continue;
		}
		s = &c->sources[c->nsources];
		memset(s, 0, sizeof(*s));
		s->line = ynode_line(e);
		s->col = ynode_col(e);
		s->enabled = CONF_AUTO;	/* on when it can be: a console on a terminal or a pipe */
		s->cooldown_ms = -1;
		tn = ymap_get(y, e, "type", NULL);
		if (tn == NULL || ynode_str(tn) == NULL || *ynode_str(tn) == '\0') {
			diag_add(d, DIAG_ERROR, y->file, s->line, s->col, source_type_hint(),
			    "a source needs a 'type'");
			continue;
		}
		s->type = strdup(ynode_str(tn));
		s->kv = calloc((size_t)(e->data.mapping.pairs.top - e->data.mapping.pairs.start) + 1,
		    sizeof(*s->kv));
		if (s->type == NULL || s->kv == NULL) {
			source_conf_free(s);
			continue;
		}
		c->nsources++;
		for (yaml_node_pair_t *p = e->data.mapping.pairs.start; p < e->data.mapping.pairs.top; p++) {
			yaml_node_t *k = ydoc_node(y, p->key), *v = ydoc_node(y, p->value);
			const char *ks = ynode_str(k);
			struct conf_kv *kv;

			if (ks == NULL || strcmp(ks, "type") == 0)
				continue;
			if (strcmp(ks, "name") == 0) {
				ynode_string(y, v, "name", &s->name, d);
				continue;
			}
			if (strcmp(ks, "enabled") == 0) {
				const char *vs = ynode_str(v);
				int b;
				if (vs != NULL && strcmp(vs, "auto") == 0)
					s->enabled = CONF_AUTO;
				else if (vs != NULL && (strcmp(vs, "true") == 0 || strcmp(vs, "false") == 0 ||
				    strcmp(vs, "yes") == 0 || strcmp(vs, "no") == 0 ||
				    strcmp(vs, "on") == 0 || strcmp(vs, "off") == 0) &&
				    ynode_bool(y, v, "enabled", &b, d) == 0)
					s->enabled = b ? CONF_ON : CONF_OFF;
				else
					diag_add(d, DIAG_ERROR, y->file, ynode_line(v), ynode_col(v), NULL,
					    "invalid value '%s' for 'enabled' (expected true, false or auto)",
					    vs ? vs : "");
				continue;
			}
			if (strcmp(ks, "cooldown") == 0) {
				ynode_duration(y, v, "cooldown", &s->cooldown_ms, d);
				continue;
			}
			if (strcmp(ks, "max_length") == 0) {
				long ml = 0;
				if (ynode_int(y, v, "max_length", 1, 100000, &ml, d) == 0)
					s->max_length = (size_t)ml;
				continue;
			}
			kv = &s->kv[s->nkv];
			if (v->type == YAML_SCALAR_NODE) {
				kv->value = strdup(ynode_str(v));
			} else if (v->type == YAML_SEQUENCE_NODE) {
				char **vals = NULL;
				size_t nv = 0, len = 1;
				if (ynode_strings(y, v, ks, &vals, &nv, d) != 0)
					continue;
				for (size_t i = 0; i < nv; i++)
					len += strlen(vals[i]) + 1;
				kv->value = calloc(1, len);
				for (size_t i = 0; kv->value && i < nv; i++) {
					if (i)
						strcat(kv->value, "\n");
					strcat(kv->value, vals[i]);
				}
				ystrings_free(vals, nv);
				kv->is_list = 1;
			} else {
				diag_add(d, DIAG_ERROR, y->file, ynode_line(v), ynode_col(v), NULL,
				    "'%s' must be a value or a list, not a mapping", ks);
				continue;
			}
			kv->key = strdup(ks);
			kv->line = ynode_line(v);
			kv->col = ynode_col(v);
			if (kv->key == NULL || kv->value == NULL) {
				free(kv->key);
				free(kv->value);
				continue;
			}
			s->nkv++;
		}
		if (s->name == NULL)
			s->name = strdup(s->type);
	}
	for (size_t i = 0; i < c->nsources; i++)
		for (size_t j = 0; j < i; j++)
			if (c->sources[i].name && c->sources[j].name &&
			    strcmp(c->sources[i].name, c->sources[j].name) == 0)
				diag_add(d, DIAG_ERROR, y->file, c->sources[i].line, c->sources[i].col,
				    "give each source a unique 'name'",
				    "duplicate source name '%s' (first at line %d)", c->sources[i].name,
				    c->sources[j].line);
}

struct config *
config_load(const char *path, struct diag *d)
{
	size_t errors = d->errors;
	struct config *c = config_parse(path, d);

	if (c != NULL && d->errors != errors) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *
config_parse(const char *path, struct diag *d)
{
	struct ydoc y;
	struct config *c;
	yaml_node_t *root, *n, *sec;
	size_t errors = d->errors;
	long v;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	{
		char *tmp = strdup(path);
		c->dir = tmp ? strdup(dirname(tmp)) : NULL;
		free(tmp);
	}
	c->log_level = strdup("info");
	c->default_lang = strdup("en");
	c->match_limit = 100000;
	c->depth_limit = 1000;
	c->ucp = 1;
	c->max_text = 20000;
	c->cooldown_ms = 600000;
	c->one_per_thread = 1;
	c->handoff_unmatched = 1;
	c->supporter_min = 3;
	c->send_timeout_ms = 10000;
	c->send_max_attempts = 8;
	c->backoff_min_ms = 1000;
	c->backoff_max_ms = 300000;
	c->stale_low_ms = 3600000;
	c->admin_host = strdup("127.0.0.1");
	c->admin_port = 9090;
	c->drain_ms = 4000;
	c->detect_lang = 1;
	c->lang_confidence = 0.3;
	{
		static const char *const shipped[] = { "en", "es", "fr", "de", "it", "pt", "nl", "pl",
			"tr", "ja" };
		c->languages = calloc(10, sizeof(char *));
		for (size_t i = 0; c->languages != NULL && i < 10; i++)
			if ((c->languages[i] = strdup(shipped[i])) != NULL)
				c->nlanguages = i + 1;
	}
	c->guard_on = 1;
	c->guard_problem = 0.5;
	c->guard_spam = 0.7;
	c->guard_praise = 0.8;
	c->guard_praise_problem = 0.1;
	c->guard_urgent = 0.5;
	c->guard_seed = 1;
	c->guard_ack_intent = strdup("fallback");
	c->guard_praise_intent = strdup("thanks_praise");
	if (c->path == NULL || c->dir == NULL || c->log_level == NULL || c->default_lang == NULL ||
	    c->admin_host == NULL) {
		config_free(c);
		return NULL;
	}
	if (ydoc_load(&y, path, d) != 0) {
		ydoc_free(&y);
		config_free(c);
		return NULL;
	}
	root = ydoc_root(&y);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		diag_add(d, DIAG_ERROR, path, root ? ynode_line(root) : 1, root ? ynode_col(root) : 1,
		    "start from config/ackbot.yaml", "the configuration must be a mapping of keys");
		goto done;
	}
	ymap_check_keys(&y, root, top_keys, "the configuration", d);

	if ((sec = section(&y, root, "bot", bot_keys, d)) != NULL) {
		ynode_strings(&y, ymap_get(&y, sec, "name", NULL), "bot.name", &c->handles, &c->nhandles, d);
		ynode_strings(&y, ymap_get(&y, sec, "handles", NULL), "bot.handles", &c->handles, &c->nhandles, d);
		for (size_t i = 0; i < c->nhandles; i++)
			if (c->handles[i][0] == '@')
				memmove(c->handles[i], c->handles[i] + 1, strlen(c->handles[i]));
	}
	{
		char *dd = NULL;
		yaml_node_t *dn = ymap_get(&y, root, "data_dir", NULL);
		ynode_string(&y, dn, "data_dir", &dd, d);
		c->data_dir_pos[0] = ynode_line(dn);
		c->data_dir_pos[1] = ynode_col(dn);
		c->data_dir = resolve(c->dir, dd ? dd : "var");
		free(dd);
	}
	if ((n = ymap_get(&y, root, "log_level", NULL)) != NULL) {
		int lv;
		if (ynode_str(n) == NULL || log_parse_level(ynode_str(n), &lv) != 0)
			diag_add(d, DIAG_ERROR, path, ynode_line(n), ynode_col(n), NULL,
			    "invalid value '%s' for 'log_level' (expected debug, info, warn or error)",
			    ynode_str(n) ? ynode_str(n) : "");
		else
			ynode_string(&y, n, "log_level", &c->log_level, d);
	}
	if ((sec = section(&y, root, "intents", intents_keys, d)) != NULL) {
		yaml_node_t *pn = ymap_get(&y, sec, "paths", NULL);
		ynode_strings(&y, pn, "intents.paths", &c->intent_paths, &c->nintent_paths, d);
		if (c->nintent_paths > 0 &&
		    (c->intent_path_pos = calloc(2 * c->nintent_paths, sizeof(int))) != NULL) {
			for (size_t i = 0; i < c->nintent_paths; i++) {
				yaml_node_t *e = pn->type == YAML_SEQUENCE_NODE ?
				    ydoc_node(&y, pn->data.sequence.items.start[i]) : pn;
				c->intent_path_pos[2 * i] = ynode_line(e);
				c->intent_path_pos[2 * i + 1] = ynode_col(e);
			}
		}
		ynode_string(&y, ymap_get(&y, sec, "default_language", NULL), "intents.default_language",
		    &c->default_lang, d);
		v = c->match_limit;
		if (ynode_int(&y, ymap_get(&y, sec, "match_limit", NULL), "intents.match_limit", 100,
		    100000000, &v, d) == 0)
			c->match_limit = (uint32_t)v;
		v = c->depth_limit;
		if (ynode_int(&y, ymap_get(&y, sec, "depth_limit", NULL), "intents.depth_limit", 10,
		    10000000, &v, d) == 0)
			c->depth_limit = (uint32_t)v;
		ynode_bool(&y, ymap_get(&y, sec, "unicode_classes", NULL), "intents.unicode_classes",
		    &c->ucp, d);
		v = (long)c->max_text;
		if (ynode_int(&y, ymap_get(&y, sec, "max_text", NULL), "intents.max_text", 64,
		    10000000, &v, d) == 0)
			c->max_text = (size_t)v;
		ynode_bool(&y, ymap_get(&y, sec, "detect_language", NULL), "intents.detect_language",
		    &c->detect_lang, d);
		ynode_prob(&y, ymap_get(&y, sec, "language_confidence", NULL),
		    "intents.language_confidence", &c->lang_confidence, d);
		if (ymap_get(&y, sec, "languages", NULL) != NULL) {
			ystrings_free(c->languages, c->nlanguages);
			c->languages = NULL;
			c->nlanguages = 0;
			ynode_strings(&y, ymap_get(&y, sec, "languages", NULL), "intents.languages",
			    &c->languages, &c->nlanguages, d);
		}
	}
	if (c->nintent_paths == 0) {
		c->intent_paths = calloc(1, sizeof(char *));
		if (c->intent_paths != NULL && (c->intent_paths[0] = strdup("intents")) != NULL)
			c->nintent_paths = 1;
	}
	for (size_t i = 0; i < c->nintent_paths; i++) {
		char *r = resolve(c->dir, c->intent_paths[i]);
		if (r != NULL) {
			free(c->intent_paths[i]);
			c->intent_paths[i] = r;
		}
	}
	if ((sec = section(&y, root, "policy", policy_keys, d)) != NULL) {
		ynode_duration(&y, ymap_get(&y, sec, "cooldown", NULL), "policy.cooldown", &c->cooldown_ms, d);
		ynode_bool(&y, ymap_get(&y, sec, "one_reply_per_thread", NULL), "policy.one_reply_per_thread",
		    &c->one_per_thread, d);
		ynode_bool(&y, ymap_get(&y, sec, "reply_to_bots", NULL), "policy.reply_to_bots",
		    &c->reply_to_bots, d);
		ynode_strings(&y, ymap_get(&y, sec, "blocked_authors", NULL), "policy.blocked_authors",
		    &c->blocked, &c->nblocked, d);
		ynode_bool(&y, ymap_get(&y, sec, "handoff_unmatched", NULL), "policy.handoff_unmatched",
		    &c->handoff_unmatched, d);
		v = c->supporter_min;
		if (ynode_int(&y, ymap_get(&y, sec, "supporter_mentions", NULL), "policy.supporter_mentions",
		    0, 1000000, &v, d) == 0)
			c->supporter_min = (int)v;
	}
	if ((sec = section(&y, root, "store", store_keys, d)) != NULL) {
		char *p = NULL;
		ynode_string(&y, ymap_get(&y, sec, "path", NULL), "store.path", &p, d);
		if (p != NULL)
			c->db_path = resolve(c->dir, p);
		free(p);
	}
	if ((sec = section(&y, root, "handoff", handoff_keys, d)) != NULL) {
		char *p = NULL;
		ynode_string(&y, ymap_get(&y, sec, "log", NULL), "handoff.log", &p, d);
		if (p != NULL)
			c->handoff_log = resolve(c->dir, p);
		free(p);
	}
	if ((sec = section(&y, root, "sender", sender_keys, d)) != NULL) {
		ynode_duration(&y, ymap_get(&y, sec, "timeout", NULL), "sender.timeout", &c->send_timeout_ms, d);
		v = c->send_max_attempts;
		if (ynode_int(&y, ymap_get(&y, sec, "max_attempts", NULL), "sender.max_attempts", 1, 1000,
		    &v, d) == 0)
			c->send_max_attempts = (int)v;
		ynode_duration(&y, ymap_get(&y, sec, "backoff_min", NULL), "sender.backoff_min",
		    &c->backoff_min_ms, d);
		ynode_duration(&y, ymap_get(&y, sec, "backoff_max", NULL), "sender.backoff_max",
		    &c->backoff_max_ms, d);
		ynode_duration(&y, ymap_get(&y, sec, "stale_thanks", NULL), "sender.stale_thanks",
		    &c->stale_low_ms, d);
		if (c->send_timeout_ms < 100)
			c->send_timeout_ms = 100;
		if (c->backoff_min_ms < 1)
			c->backoff_min_ms = 1;
		if (c->backoff_max_ms < c->backoff_min_ms)
			c->backoff_max_ms = c->backoff_min_ms;
	}
	if ((sec = section(&y, root, "admin", admin_keys, d)) != NULL &&
	    (n = ymap_get(&y, sec, "listen", NULL)) != NULL) {
		const char *s = ynode_str(n);
		free(c->admin_host);
		c->admin_host = NULL;
		if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "off") == 0 || strcmp(s, "no") == 0))
			;
		else if (s == NULL || conf_parse_listen(s, &c->admin_host, &c->admin_port) != 0)
			diag_add(d, DIAG_ERROR, path, ynode_line(n), ynode_col(n),
			    "e.g. listen: 127.0.0.1:9090 (or false to turn it off)",
			    "invalid value '%s' for 'admin.listen' (expected host:port)", s ? s : "");
	}
	ynode_duration(&y, ymap_get(&y, root, "drain_timeout", NULL), "drain_timeout", &c->drain_ms, d);
	parse_guard(&y, root, c, d);
	if ((n = ymap_get(&y, root, "sources", NULL)) != NULL) {
		c->sources_pos[0] = ynode_line(n);
		c->sources_pos[1] = ynode_col(n);
	}
	parse_sources(&y, n, c, d);
	if (c->nhandles == 0)
		diag_add(d, DIAG_WARNING, path, 1, 1, "add bot: {handles: [yourbrand]}",
		    "no bot handles: the bot cannot recognise its own mentions and posts");
done:
	ydoc_free(&y);
	if (c->db_path == NULL)
		c->db_path = resolve(c->data_dir ? c->data_dir : ".", "ackbot.db");
	if (c->handoff_log == NULL)
		c->handoff_log = resolve(c->data_dir ? c->data_dir : ".", "handoff.jsonl");
	(void)errors;
	if (c->data_dir == NULL || c->db_path == NULL || c->handoff_log == NULL) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* The data directory (or the nearest existing directory above it, where it will be made)
 * must be a directory ackbot may write. */
static void
check_data_dir(const struct config *c, struct diag *d)
{
	const int *pos = c->data_dir_pos;
	char *p = strdup(c->data_dir);
	struct stat st;
	int made = 0;

	if (p == NULL)
		return;
	while (stat(p, &st) != 0 && errno == ENOENT) {
		char *slash = strrchr(p, '/');
		made = 1;
		if (slash == NULL) {
			strcpy(p, ".");
			continue;
		}
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (stat(p, &st) != 0 && errno == EACCES)
		diag_add(d, DIAG_ERROR, c->path, pos[0], pos[1], "give the user ackbot runs as "
		    "access to every directory on the way (chmod, chown), or choose another data_dir",
		    "data_dir '%s': permission denied (a directory on the way to %s cannot be "
		    "entered)", c->data_dir, p);
	else if (stat(p, &st) != 0 && errno == ENOTDIR) {
		/* the longest leading part that exists is the file in the way */
		char *slash;
		while ((slash = strrchr(p, '/')) != NULL && slash != p) {
			*slash = '\0';
			if (stat(p, &st) == 0)
				break;
		}
		diag_add(d, DIAG_ERROR, c->path, pos[0], pos[1], "point data_dir at a directory "
		    "(ackbot creates it when missing)", "data_dir '%s': %s is a file, not a directory",
		    c->data_dir, p);
	} else if (stat(p, &st) != 0)
		diag_add(d, DIAG_ERROR, c->path, pos[0], pos[1], "choose another data_dir",
		    "data_dir '%s': %s", c->data_dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		diag_add(d, DIAG_ERROR, c->path, pos[0], pos[1], "point data_dir at a directory "
		    "(ackbot creates it when missing)", "data_dir '%s': %s is a file, not a directory",
		    c->data_dir, made ? p : "it");
	else if (access(p, W_OK | X_OK) != 0)
		diag_add(d, DIAG_ERROR, c->path, pos[0], pos[1], "give the user ackbot runs as write "
		    "access (chown), or choose another data_dir", "data_dir '%s': permission denied "
		    "(%s %s)", c->data_dir, made ? "cannot create it in" : "cannot write", p);
	free(p);
}

size_t
config_check_runnable(const struct config *c, struct diag *d)
{
	size_t errors = d->errors;

	if (c->nsources == 0)
		diag_add(d, DIAG_ERROR, c->path, c->sources_pos[0] ? c->sources_pos[0] : 1,
		    c->sources_pos[0] ? c->sources_pos[1] : 1, "add a source, e.g. sources: [{type: "
		    "console}] to try it (config/ackbot.yaml has console, webhook and mastodon)",
		    "no sources: ackbot would never receive a mention");
	check_data_dir(c, d);
	return d->errors - errors;
}

int64_t
config_cooldown_ms(const struct config *c, const char *source)
{
	for (size_t i = 0; source != NULL && i < c->nsources; i++)
		if (c->sources[i].name && strcmp(c->sources[i].name, source) == 0 &&
		    c->sources[i].cooldown_ms >= 0)
			return c->sources[i].cooldown_ms;
	return c->cooldown_ms;
}

/* ---- getters for a source's own keys ---- */

static struct conf_kv *
kv_find(struct source_conf *s, const char *key)
{
	if (s->nasked < sizeof(s->asked) / sizeof(s->asked[0]))
		snprintf(s->asked[s->nasked++], sizeof(s->asked[0]), "%s", key);
	for (size_t i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0) {
			s->kv[i].used = 1;
			return &s->kv[i];
		}
	return NULL;
}

static int
kv_bad(const struct config *c, struct diag *d, const struct conf_kv *kv, const char *expected,
    const char *hint)
{
	diag_add(d, DIAG_ERROR, c->path, kv->line, kv->col, hint,
	    "invalid value '%s' for '%s' (expected %s)", kv->value, kv->key, expected);
	return -1;
}

int
conf_src_str(struct source_conf *s, const char *key, const char *def, char **out,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);

	*out = NULL;
	if (kv == NULL)
		return def && (*out = strdup(def)) == NULL ? -1 : 0;
	if (kv->is_list)
		return kv_bad(c, d, kv, "a single value", NULL);
	*out = strdup(kv->value);
	return *out ? 0 : -1;
}

int
conf_src_int(struct source_conf *s, const char *key, long def, long min, long max, long *out,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);
	char *end, exp[64];
	long v;

	*out = def;
	if (kv == NULL)
		return 0;
	snprintf(exp, sizeof(exp), "an integer from %ld to %ld", min, max);
	errno = 0;
	v = strtol(kv->value, &end, 10);
	if (kv->is_list || *kv->value == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return kv_bad(c, d, kv, exp, NULL);
	*out = v;
	return 0;
}

int
conf_src_bool(struct source_conf *s, const char *key, int def, int *out, const struct config *c,
    struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);

	*out = def;
	if (kv == NULL)
		return 0;
	if (strcmp(kv->value, "true") == 0 || strcmp(kv->value, "yes") == 0 || strcmp(kv->value, "on") == 0)
		*out = 1;
	else if (strcmp(kv->value, "false") == 0 || strcmp(kv->value, "no") == 0 ||
	    strcmp(kv->value, "off") == 0)
		*out = 0;
	else
		return kv_bad(c, d, kv, "true or false", NULL);
	return 0;
}

int
conf_src_duration_ms(struct source_conf *s, const char *key, int64_t def, int64_t *out,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);

	*out = def;
	if (kv == NULL)
		return 0;
	if (kv->is_list || conf_parse_duration_ms(kv->value, out) != 0) {
		*out = def;
		return kv_bad(c, d, kv, "a duration", "durations look like 250ms, 5s, 10m, 2h or 1d");
	}
	return 0;
}

int
conf_src_size(struct source_conf *s, const char *key, size_t def, size_t *out,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);

	*out = def;
	if (kv == NULL)
		return 0;
	if (kv->is_list || conf_parse_size(kv->value, out) != 0 || *out == 0) {
		*out = def;
		return kv_bad(c, d, kv, "a size", "sizes look like 65536, 64KiB or 1MiB");
	}
	return 0;
}

int
conf_src_listen(struct source_conf *s, const char *key, const char *def, char **host, int *port,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);

	*host = NULL;
	if (conf_parse_listen(kv ? kv->value : def, host, port) != 0) {
		free(*host);
		*host = NULL;
		conf_parse_listen(def, host, port);
		return kv ? kv_bad(c, d, kv, "host:port", "e.g. listen: 127.0.0.1:8080") : -1;
	}
	return 0;
}

/* First line of a file, trailing newline stripped. New string, or NULL with errno. */
static char *
read_first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return NULL;
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		line = strdup("");
		return line;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int
from_env_or_file(struct source_conf *s, const char *key, char **out, const struct config *c,
    struct diag *d, int *found)
{
	char k[96];
	struct conf_kv *env, *file;

	*found = 0;
	snprintf(k, sizeof(k), "%s_env", key);
	env = kv_find(s, k);
	snprintf(k, sizeof(k), "%s_file", key);
	file = kv_find(s, k);
	if (env != NULL && file != NULL) {
		diag_add(d, DIAG_ERROR, c->path, file->line, file->col, "keep only one of the two",
		    "'%s_env' and '%s_file' both given for source '%s'", key, key, s->name);
		return -1;
	}
	if (env != NULL) {
		const char *v = getenv(env->value);
		*found = 1;
		if (v != NULL && *v != '\0' && (*out = strdup(v)) == NULL)
			return -1;
		return 0;
	}
	if (file != NULL) {
		char *p = resolve(c->dir, file->value);
		*found = 1;
		if (p == NULL)
			return -1;
		*out = read_first_line(p);
		if (*out == NULL) {
			diag_add(d, DIAG_ERROR, c->path, file->line, file->col,
			    "check the path and its permissions", "cannot read %s_file '%s': %s", key, p,
			    strerror(errno));
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

int
conf_src_secret(struct source_conf *s, const char *key, char **out, const struct config *c,
    struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);
	int found;

	*out = NULL;
	if (kv != NULL) {
		char hint[128];
		snprintf(hint, sizeof(hint), "use %s_env (an environment variable) or %s_file", key, key);
		diag_add(d, DIAG_ERROR, c->path, kv->line, kv->col, hint,
		    "secrets are not allowed in the config file ('%s')", key);
		return -1;
	}
	return from_env_or_file(s, key, out, c, d, &found);
}

int
conf_src_str_env(struct source_conf *s, const char *key, const char *def, char **out,
    const struct config *c, struct diag *d)
{
	struct conf_kv *kv = kv_find(s, key);
	int found = 0;

	*out = NULL;
	if (from_env_or_file(s, key, out, c, d, &found) != 0)
		return -1;
	if (found && kv != NULL) {
		diag_add(d, DIAG_ERROR, c->path, kv->line, kv->col, "keep only one of them",
		    "'%s' is given both inline and from the environment or a file", key);
		free(*out);
		*out = NULL;
		return -1;
	}
	if (kv != NULL)
		*out = strdup(kv->value);
	else if (!found && def != NULL)
		*out = strdup(def);
	return 0;
}

void
conf_src_unused(struct source_conf *s, const struct config *c, struct diag *d)
{
	for (size_t i = 0; i < s->nkv; i++) {
		const char *known[64];
		size_t n = 0;
		const char *near;
		char hint[96];

		if (s->kv[i].used)
			continue;
		for (size_t j = 0; j < s->nasked && n < 63; j++)
			known[n++] = s->asked[j];
		known[n] = NULL;
		near = yclosest(s->kv[i].key, known);
		if (near)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", near);
		diag_add(d, DIAG_ERROR, c->path, s->kv[i].line, s->kv[i].col, near ? hint : NULL,
		    "unknown key '%s' for a %s source", s->kv[i].key, s->type);
	}
}
