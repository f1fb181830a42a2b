/* yamlpos.c - YAML documents with positions over libyaml, and typed value helpers. */
#include "yamlpos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"

/* The character at a libyaml mark (its index counts characters). */
static int
char_at(const struct ydoc *y, const yaml_mark_t *m)
{
	size_t at = 0;

	for (size_t k = 0; k < m->index && at < y->len; k++)
		do
			at++;
		while (at < y->len && ((unsigned char)y->text[at] & 0xc0) == 0x80);
	return at < y->len ? (unsigned char)y->text[at] : -1;
}

/* libyaml's syntax errors in words a person can act on, at the place to look. */
static void
syntax_error(const struct ydoc *y, const yaml_parser_t *p, struct diag *d)
{
	const char *prob = p->problem ? p->problem : "syntax error", *ctx = p->context;
	const yaml_mark_t *at = &p->problem_mark;
	int line = (int)at->line + 1, col = (int)at->column + 1;
	int cline = (int)p->context_mark.line + 1, ccol = (int)p->context_mark.column + 1;

	if (strstr(prob, "cannot start any token") && char_at(y, at) == '\t') {
		diag_add(d, DIAG_ERROR, y->file, line, col, "replace the tab with spaces",
		    "a tab character: YAML indents with spaces only");
		return;
	}
	if (ctx != NULL && strstr(ctx, "quoted scalar") != NULL) {
		/* an unclosed quote is found where the file (or the line) ends: point at its start */
		diag_add(d, DIAG_ERROR, y->file, cline, ccol, "close the string with the same quote "
		    "(inside '...', write '' for one '; inside \"...\", write \\\" and \\\\)",
		    "this string is not closed (%s)", prob);
		return;
	}
	if (ctx != NULL && (strstr(ctx, "flow sequence") || strstr(ctx, "flow mapping"))) {
		diag_add(d, DIAG_ERROR, y->file, cline, ccol, "close it with ] (or }) and separate "
		    "items with commas; quote items that contain , [ ] { } or :",
		    "this %s is not closed properly (%s at line %d, column %d)",
		    strstr(ctx, "sequence") ? "[...] list" : "{...} mapping", prob, line, col);
		return;
	}
	if (strstr(prob, "did not find expected key") || strstr(prob, "expected '-' indicator") ||
	    strstr(prob, "did not find expected <document start>")) {
		diag_add(d, DIAG_ERROR, y->file, line, col, "line it up, with spaces, with the keys "
		    "(or '- ' items) it belongs with",
		    "this line's indentation does not match the lines above it (line %d, column %d "
		    "starts the block)", cline, ccol);
		return;
	}
	if (strstr(prob, "mapping values are not allowed")) {
		diag_add(d, DIAG_ERROR, y->file, line, col, "if this line is a key of its own, indent "
		    "it as its siblings; if the value has ': ' in it, quote the value",
		    "a ':' inside a value: this line is indented too far, or a value needs quotes");
		return;
	}
	diag_add(d, DIAG_ERROR, y->file, line, col,
	    "YAML syntax: check indentation and quoting (patterns with \\ are safest in 'single quotes')",
	    "%s%s%s", prob, ctx ? " " : "", ctx ? ctx : "");
}

int
ydoc_load(struct ydoc *y, const char *path, struct diag *d)
{
	struct stat st;

	yaml_parser_t p;
	FILE *f;
	int rc = -1;

	memset(y, 0, sizeof(*y));
	y->file = strdup(path);
	if (y->file == NULL)
		return -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		diag_add(d, DIAG_ERROR, path, 0, 0, "give the YAML file itself, e.g. -c "
		    "config/ackbot.yaml (ackbot init DIR writes a starter one)",
		    "is a directory, not a YAML file");
		return -1;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		diag_add(d, DIAG_ERROR, path, 0, 0, e == ENOENT ? "check the path (-c FILE, or "
		    "$ACKBOT_CONFIG); config/ackbot.yaml is the bundled configuration" : e == EACCES ?
		    "check the file's permissions and those of its directories" : NULL,
		    "cannot open: %s", strerror(e));
		return -1;
	}
	{
		size_t cap = 0, n;
		char buf[65536];
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			if (y->len + n + 1 > cap) {
				char *t = realloc(y->text, cap = (y->len + n + 1) * 2);
				if (t == NULL) {
					fclose(f);
					return -1;
				}
				y->text = t;
			}
			memcpy(y->text + y->len, buf, n);
			y->len += n;
		}
		if (ferror(f)) {
			diag_add(d, DIAG_ERROR, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
			fclose(f);
			return -1;
		}
		if (y->text == NULL && (y->text = malloc(1)) == NULL) {
			fclose(f);
			return -1;
		}
		y->text[y->len] = '\0';
	}
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)y->text, y->len);
	if (!yaml_parser_load(&p, &y->doc)) {
		syntax_error(y, &p, d);
	} else {
		y->loaded = 1;
		rc = 0;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

void
ydoc_free(struct ydoc *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	free(y->file);
	free(y->text);
	memset(y, 0, sizeof(*y));
}

int
ydoc_find(const struct ydoc *y, const yaml_node_t *n, const char *needle, int *line, int *col)
{
	size_t from, to, nl = strlen(needle);
	const char *hit;

	if (y->text == NULL || n == NULL || nl == 0)
		return -1;
	/* libyaml's index counts characters: walk to it */
	from = 0;
	for (size_t k = 0; k < n->start_mark.index && from < y->len; k++)
		do
			from++;
		while (from < y->len && ((unsigned char)y->text[from] & 0xc0) == 0x80);
	to = from;
	for (size_t k = n->start_mark.index; k < n->end_mark.index && to < y->len; k++)
		do
			to++;
		while (to < y->len && ((unsigned char)y->text[to] & 0xc0) == 0x80);
	hit = memmem(y->text + from, to - from, needle, nl);
	if (hit == NULL)
		return -1;
	*line = 1;
	*col = 1;
	for (const char *p = y->text; p < hit; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)*p & 0xc0) != 0x80) {
			(*col)++;
		}
	}
	return 0;
}

yaml_node_t *
ydoc_root(struct ydoc *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

yaml_node_t *
ydoc_node(struct ydoc *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

int ynode_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }
int ynode_col(const yaml_node_t *n) { return n ? (int)n->start_mark.column + 1 : 0; }

const char *
ynode_str(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int
ynode_is_null(const yaml_node_t *n)
{
	const char *s = ynode_str(n);

	if (n == NULL)
		return 1;
	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0;
}

yaml_node_t *
ymap_get(struct ydoc *y, yaml_node_t *map, const char *key, yaml_node_t **key_out)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ydoc_node(y, p->key);
		const char *ks = ynode_str(k);
		if (ks != NULL && strcmp(ks, key) == 0) {
			if (key_out)
				*key_out = k;
			return ydoc_node(y, p->value);
		}
	}
	return NULL;
}

/* Edit distance of two short names for a did-you-mean: insertions, deletions,
 * substitutions and swaps of neighbours ("odrer" is one step from "order"). */
size_t
ydistance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[3][65], *pp, *p, *cur;

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		d[1][j] = j;
	pp = d[0];
	p = d[1];
	cur = d[2];
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t c = p[j - 1] + (a[i - 1] != b[j - 1]);
			if (p[j] + 1 < c)
				c = p[j] + 1;
			if (cur[j - 1] + 1 < c)
				c = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < c)
				c = pp[j - 2] + 1;
			cur[j] = c;
		}
		size_t *t = pp;
		pp = p;
		p = cur;
		cur = t;
	}
	return p[lb];
}

const char *
yclosest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t bd = 3;

	for (size_t i = 0; candidates[i]; i++) {
		size_t dd = ydistance(word, strlen(word), candidates[i], strlen(candidates[i]));
		if (dd < bd) {
			bd = dd;
			best = candidates[i];
		}
	}
	return best;
}

void
ymap_check_keys(struct ydoc *y, yaml_node_t *map, const char *const *allowed, const char *where,
    struct diag *d)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ydoc_node(y, p->key);
		const char *ks = ynode_str(k);
		size_t i;
		char hint[160];
		const char *near;

		if (ks == NULL)
			continue;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *prev = ynode_str(ydoc_node(y, q->key));
			if (prev != NULL && strcmp(prev, ks) == 0) {
				diag_add(d, DIAG_ERROR, y->file, ynode_line(k), ynode_col(k),
				    "a key may appear once; merge the two", "duplicate key '%s' in %s (first at line %d)",
				    ks, where, ynode_line(ydoc_node(y, q->key)));
				break;
			}
		}
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], ks) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		near = yclosest(ks, allowed);
		if (near != NULL)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", near);
		else {
			size_t n = 0;
			n += (size_t)snprintf(hint, sizeof(hint), "known keys:");
			for (i = 0; allowed[i] && n < sizeof(hint) - 24; i++)
				n += (size_t)snprintf(hint + n, sizeof(hint) - n, " %s", allowed[i]);
		}
		diag_add(d, DIAG_ERROR, y->file, ynode_line(k), ynode_col(k), hint,
		    "unknown key '%s' in %s", ks, where);
	}
}

static int
bad(struct ydoc *y, yaml_node_t *n, struct diag *d, const char *hint, const char *what,
    const char *expected)
{
	const char *s = ynode_str(n);

	if (s != NULL)
		diag_add(d, DIAG_ERROR, y->file, ynode_line(n), ynode_col(n), hint,
		    "invalid value '%s' for '%s' (expected %s)", s, what, expected);
	else
		diag_add(d, DIAG_ERROR, y->file, ynode_line(n), ynode_col(n), hint,
		    "'%s' must be %s, not a %s", what, expected,
		    n->type == YAML_MAPPING_NODE ? "mapping" : "list");
	return -1;
}

int
ynode_bool(struct ydoc *y, yaml_node_t *n, const char *what, int *out, struct diag *d)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "on", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no", "off", NULL };
	const char *s = ynode_str(n);

	if (n == NULL)
		return 0;
	for (int i = 0; s && yes[i]; i++)
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
	for (int i = 0; s && no[i]; i++)
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	return bad(y, n, d, NULL, what, "true or false");
}

int
ynode_int(struct ydoc *y, yaml_node_t *n, const char *what, long min, long max, long *out,
    struct diag *d)
{
	const char *s = ynode_str(n);
	char *end, exp[64];
	long v;

	if (n == NULL)
		return 0;
	snprintf(exp, sizeof(exp), "an integer from %ld to %ld", min, max);
	if (s == NULL || *s == '\0')
		return bad(y, n, d, NULL, what, exp);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return bad(y, n, d, NULL, what, exp);
	*out = v;
	return 0;
}

int
ynode_duration(struct ydoc *y, yaml_node_t *n, const char *what, int64_t *out, struct diag *d)
{
	const char *s = ynode_str(n);

	if (n == NULL)
		return 0;
	if (s == NULL || conf_parse_duration_ms(s, out) != 0)
		return bad(y, n, d, "durations look like 250ms, 5s, 10m, 2h or 1d", what, "a duration");
	return 0;
}

int
ynode_string(struct ydoc *y, yaml_node_t *n, const char *what, char **out, struct diag *d)
{
	const char *s = ynode_str(n);

	if (n == NULL)
		return 0;
	if (s == NULL)
		return bad(y, n, d, NULL, what, "a string");
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -1;
}

void
ystrings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
ynode_strings(struct ydoc *y, yaml_node_t *n, const char *what, char ***out, size_t *nout,
    struct diag *d)
{
	char **v;
	size_t k = 0, cap;

	if (n == NULL)
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		v = calloc(2, sizeof(*v));
		if (v == NULL || (v[0] = strdup(ynode_str(n))) == NULL) {
			free(v);
			return -1;
		}
		ystrings_free(*out, *nout);
		*out = v;
		*nout = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return bad(y, n, d, NULL, what, "a list of strings");
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	v = calloc(cap + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = ydoc_node(y, *it);
		const char *s = ynode_str(e);
		if (s == NULL) {
			ystrings_free(v, k);
			return bad(y, e, d, NULL, what, "a list of strings");
		}
		if ((v[k] = strdup(s)) == NULL) {
			ystrings_free(v, k);
			return -1;
		}
		k++;
	}
	ystrings_free(*out, *nout);
	*out = v;
	*nout = k;
	return 0;
}
