/* intents.c - intents: load the YAML files, compile every pattern with PCRE2 (caseless,
 * UTF, UCP, JIT), match a mention in priority order under match and depth limits, and
 * run the examples. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "intents.h"

#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "guard.h"
#include "prefilter.h"
#include "template.h"
#include "text.h"
#include "yamlpos.h"

#define PATTERN_FLAGS (PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF)

static const char *const intent_keys[] = { "name", "priority", "kind", "class", "patterns",
	"exclude", "when", "reply", "handoff", "examples", NULL };
static const char *const entity_keys[] = { "name", "patterns", "personal", NULL };
static const char *const when_keys[] = { "source", "language", "supporter", NULL };
static const char *const handoff_keys[] = { "queue", "priority", NULL };
static const char *const example_keys[] = { "text", "lang", "source", "supporter", "captures", NULL };

const char *
handoff_priority_name(int p)
{
	switch (p) {
	case HANDOFF_URGENT: return "urgent";
	case HANDOFF_HIGH: return "high";
	case HANDOFF_NORMAL: return "normal";
	default: return "low";
	}
}

static int
priority_parse(const char *s)
{
	for (int p = HANDOFF_URGENT; p <= HANDOFF_LOW; p++)
		if (strcmp(s, handoff_priority_name(p)) == 0)
			return p;
	return -1;
}

static void
patterns_free(struct intent_pattern *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].src);
		free(v[i].lang);
		pcre2_code_free(v[i].re);
	}
	free(v);
}

static void
intent_clear(struct intent *it)
{
	free(it->name);
	free(it->file);
	patterns_free(it->patterns, it->npatterns);
	patterns_free(it->excludes, it->nexcludes);
	ystrings_free(it->when_sources, it->nwhen_sources);
	ystrings_free(it->when_langs, it->nwhen_langs);
	for (size_t i = 0; i < it->nreplies; i++) {
		free(it->replies[i].lang);
		ystrings_free(it->replies[i].variants, it->replies[i].nvariants);
	}
	free(it->replies);
	free(it->queue);
	for (size_t i = 0; i < it->nexamples; i++) {
		struct intent_example *e = &it->examples[i];
		free(e->text);
		free(e->lang);
		free(e->source);
		ystrings_free(e->cap_names, e->ncaps);
		ystrings_free(e->cap_values, e->ncaps);
	}
	free(it->examples);
	memset(it, 0, sizeof(*it));
}

void
intents_free(struct intents *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n; i++)
		intent_clear(&in->v[i]);
	free(in->v);
	for (size_t i = 0; i < in->nentities; i++) {
		free(in->entities[i].name);
		free(in->entities[i].file);
		patterns_free(in->entities[i].patterns, in->entities[i].npatterns);
	}
	free(in->entities);
	guard_model_free(in->guard);
	pcre2_match_context_free(in->mctx);
	pcre2_jit_stack_free(in->jit_stack);
	prefilter_free(in->pf);
	free(in);
}

/* ---- loading ---- */

/* A template variable no pattern group or known name explains: an entity declared in a
 * later file may, so it is judged once every file is read. */
struct pending_var {
	char *name, *intent, *file;
	int line, col;
	char *best;		/* the nearest known name, or NULL */
	size_t bestd;
};

struct loader {
	int ucp;
	struct ydoc *y;
	struct diag *d;
	struct intents *in;
	size_t cap;
	struct pending_var *pending;
	size_t npending;
};

/* Length of an unbounded quantifier at p ("*", "+", "{n,}", not possessive: those do not
 * backtrack), 0 for none or a bounded one; *len gets the quantifier's length either way. */
static int
unbounded_at(const char *p, size_t *len)
{
	int unb = 0;

	*len = 0;
	if (*p == '*' || *p == '+') {
		unb = 1;
		*len = 1;
	} else if (*p == '?') {
		*len = 1;
	} else if (*p == '{' && p[1] >= '0' && p[1] <= '9') {
		const char *q = p + 1;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == ',' && q[1] == '}')
			unb = 1, q++;
		else if (*q == ',')
			for (q++; *q >= '0' && *q <= '9'; q++)
				;
		if (*q != '}')
			return 0;	/* a literal '{' */
		*len = (size_t)(q + 1 - p);
	}
	if (*len > 0 && p[*len] == '+') {	/* possessive */
		(*len)++;
		return 0;
	}
	if (*len > 0 && p[*len] == '?')
		(*len)++;
	return unb;
}

/* Offset of the first group that repeats without bound and holds an unbounded repeat
 * itself ("(a+)+", "(?:\w+\s?)*"): on a long mention that does not match, PCRE2 tries
 * exponentially many ways before giving up (ReDoS). -1 when there is none. Atomic groups
 * and possessive quantifiers do not backtrack and are not counted. */
static long
nested_unbounded(const char *src)
{
	struct { size_t at; int inner, atomic; } st[64];
	int depth = 0;
	size_t qlen;

	st[0].at = 0;
	st[0].inner = st[0].atomic = 0;
	for (const char *p = src; *p;) {
		int atom = 1;
		if (*p == '\\') {
			if (p[1] == 'Q') {
				const char *e = strstr(p, "\\E");
				p = e ? e + 2 : p + strlen(p);
				continue;
			}
			p += p[1] ? 2 : 1;
			if ((p[-1] == 'p' || p[-1] == 'P' || p[-1] == 'x' || p[-1] == 'g' || p[-1] == 'k') &&
			    *p == '{')
				while (*p && *p++ != '}')
					;
		} else if (*p == '[') {
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '[' && p[1] == ':') {
					const char *e = strstr(p, ":]");
					if (e)
						p = e + 1;
				}
				p++;
			}
			if (*p)
				p++;
		} else if (*p == '(') {
			if (p[1] == '?' && p[2] == '#') {
				while (*p && *p != ')')
					p++;
				if (*p)
					p++;
				continue;
			}
			if (depth + 1 < (int)(sizeof(st) / sizeof(st[0]))) {
				depth++;
				st[depth].at = (size_t)(p - src);
				st[depth].inner = 0;
				st[depth].atomic = p[1] == '?' && p[2] == '>';
			}
			p++;
			continue;
		} else if (*p == ')') {
			int inner = depth > 0 && st[depth].inner && !st[depth].atomic;
			size_t at = depth > 0 ? st[depth].at : 0;
			if (depth > 0)
				depth--;
			p++;
			int unb = unbounded_at(p, &qlen);
			if (unb && inner)
				return (long)at;
			st[depth].inner |= inner || unb;
			p += qlen;
			continue;
		} else {
			atom = *p != '|' && *p != '^' && *p != '$';
			p++;
			while ((*p & 0xc0) == 0x80)	/* the rest of a UTF-8 character */
				p++;
		}
		qlen = 0;
		if (atom && unbounded_at(p, &qlen))
			st[depth].inner = 1;
		p += qlen;
	}
	return -1;
}

static int
compile_one(struct loader *L, yaml_node_t *n, const char *src, const char *lang,
    struct intent_pattern *out)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re;

	memset(out, 0, sizeof(*out));
	out->line = ynode_line(n);
	out->col = ynode_col(n);
	re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	    L->ucp ? PATTERN_FLAGS : (PATTERN_FLAGS & ~(uint32_t)PCRE2_UCP), &ec, &eo, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		diag_add(L->d, DIAG_ERROR, L->y->file, out->line, out->col,
		    "PCRE2 syntax; try it with `ackbot intents test`",
		    "pattern '%s' does not compile: %s at offset %zu", src, (const char *)msg, (size_t)eo);
		return -1;
	}
	long at = nested_unbounded(src);
	if (at >= 0)
		diag_add(L->d, DIAG_WARNING, L->y->file, out->line, out->col,
		    "bound one of them (x{1,30}), or make the inner one possessive (x++) or atomic (?>...)",
		    "pattern '%s' repeats a group that repeats without bound (at offset %ld): a long "
		    "mention that almost matches makes it backtrack until the match limit", src, at);
	/* Without JIT (ACKBOT_NO_JIT=1, or where W^X memory is denied) the interpreter runs it,
	 * under the same limits. */
	if (getenv("ACKBOT_NO_JIT") == NULL || strcmp(getenv("ACKBOT_NO_JIT"), "1") != 0)
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	out->re = re;
	out->src = strdup(src);
	out->lang = lang ? strdup(lang) : NULL;
	if (out->src == NULL || (lang && out->lang == NULL)) {
		free(out->src);
		free(out->lang);
		pcre2_code_free(re);
		out->re = NULL;
		return -1;
	}
	return 0;
}

static int
push_pattern(struct loader *L, yaml_node_t *n, const char *src, const char *lang,
    struct intent_pattern **v, size_t *nv)
{
	struct intent_pattern p, *nn;

	if (compile_one(L, n, src, lang, &p) != 0)
		return -1;
	nn = realloc(*v, (*nv + 1) * sizeof(**v));
	if (nn == NULL) {
		pcre2_code_free(p.re);
		free(p.src);
		free(p.lang);
		return -1;
	}
	*v = nn;
	(*v)[(*nv)++] = p;
	return 0;
}

/* A pattern item: a string, or {pattern, lang}. */
/* 0 when the key node k names a language (ISO 639-1, "pt-BR", ...); else an error at k that
 * says what was probably meant. */
static int
lang_key(struct loader *L, yaml_node_t *k, const char *what)
{
	const char *s = ynode_str(k), *sug;
	char hint[160];

	if (s != NULL && text_lang_valid(s))
		return 0;
	sug = text_lang_suggest(s);
	if (sug != NULL)
		snprintf(hint, sizeof(hint), "did you mean '%s'? Languages are ISO 639-1 codes: en, "
		    "es, fr, de, it, pt, nl, pl, tr, ja, ... (pt-BR for a region; any for all)", sug);
	else
		snprintf(hint, sizeof(hint), "languages are ISO 639-1 codes: en, es, fr, de, it, pt, "
		    "nl, pl, tr, ja, ... (pt-BR for a region; any for all)");
	diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(k), ynode_col(k), hint,
	    "unknown language '%s' for %s%s", s ? s : "", strncmp(what, "a ", 2) == 0 ? "" :
	    "this ", what);
	return -1;
}

static void
pattern_item(struct loader *L, yaml_node_t *e, const char *lang, const char *what,
    struct intent_pattern **v, size_t *nv)
{
	const char *s = ynode_str(e);

	if (s != NULL) {
		if (*s == '\0') {
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(e), ynode_col(e),
			    "an empty pattern matches everything; use '^' if that is meant",
			    "empty %s", what);
			return;
		}
		push_pattern(L, e, s, lang, v, nv);
		return;
	}
	if (e->type == YAML_MAPPING_NODE) {
		static const char *const keys[] = { "pattern", "lang", NULL };
		yaml_node_t *pn = ymap_get(L->y, e, "pattern", NULL), *ln = ymap_get(L->y, e, "lang", NULL);
		ymap_check_keys(L->y, e, keys, what, L->d);
		if (pn == NULL || ynode_str(pn) == NULL || *ynode_str(pn) == '\0') {
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(e), ynode_col(e),
			    "write {pattern: '...', lang: de}", "%s needs a 'pattern'", what);
			return;
		}
		if (ln != NULL && ynode_str(ln) == NULL) {
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(ln), ynode_col(ln), NULL,
			    "'lang' must be a language code like de");
			return;
		}
		if (ln != NULL && lang_key(L, ln, what) != 0)
			return;
		push_pattern(L, pn, ynode_str(pn), ln ? ynode_str(ln) : lang, v, nv);
		return;
	}
	diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(e), ynode_col(e), NULL,
	    "%s must be a string or {pattern, lang}", what);
}

static void
pattern_list(struct loader *L, yaml_node_t *n, const char *what, struct intent_pattern **v,
    size_t *nv)
{
	if (n == NULL || ynode_is_null(n))
		return;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			pattern_item(L, ydoc_node(L->y, *it), NULL, what, v, nv);
	} else if (n->type == YAML_MAPPING_NODE) {	/* {en: [...], de: [...], any: [...]} */
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = ydoc_node(L->y, p->key), *val = ydoc_node(L->y, p->value);
			const char *lang = ynode_str(k);
			if (lang != NULL && strcmp(lang, "any") == 0)
				lang = NULL;
			else if (lang_key(L, k, what) != 0)
				continue;
			if (val->type == YAML_SEQUENCE_NODE)
				for (yaml_node_item_t *it = val->data.sequence.items.start;
				    it < val->data.sequence.items.top; it++)
					pattern_item(L, ydoc_node(L->y, *it), lang, what, v, nv);
			else
				pattern_item(L, val, lang, what, v, nv);
		}
	} else {
		pattern_item(L, n, NULL, what, v, nv);
	}
}

struct var_check {
	struct loader *L;
	struct intent *it;
	yaml_node_t *node;
};

static int
pattern_has_group(const struct intent *it, const char *name, size_t len)
{
	for (size_t i = 0; i < it->npatterns; i++) {
		uint32_t count = 0, esize = 0;
		PCRE2_SPTR table;
		pcre2_pattern_info(it->patterns[i].re, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(it->patterns[i].re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
		pcre2_pattern_info(it->patterns[i].re, PCRE2_INFO_NAMETABLE, &table);
		for (uint32_t j = 0; j < count; j++) {
			const char *nm = (const char *)(table + j * esize + 2);
			if (strlen(nm) == len && memcmp(nm, name, len) == 0)
				return 1;
		}
	}
	return 0;
}

static void
consider(const char *cand, const char *name, size_t len, const char **best, size_t *bestd)
{
	size_t d = ydistance(cand, strlen(cand), name, len);

	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

static void
check_var(const char *name, size_t len, void *arg)
{
	struct var_check *vc = arg;
	static const char *const known[] = { "author", "name", "display", "ticket", "intent", NULL };
	const char *best = NULL;
	size_t bestd = len / 3 + 1 < 3 ? len / 3 + 1 : 3;	/* "tiket" -> ticket, not "x" -> name */
	char needle[80];
	int line = ynode_line(vc->node), col = ynode_col(vc->node);

	for (int i = 0; known[i]; i++)
		if (strlen(known[i]) == len && memcmp(known[i], name, len) == 0)
			return;
	if (pattern_has_group(vc->it, name, len))
		return;
	for (size_t i = 0; i < vc->L->in->nentities; i++)
		if (!vc->L->in->entities[i].signal && strlen(vc->L->in->entities[i].name) == len &&
		    memcmp(vc->L->in->entities[i].name, name, len) == 0)
			return;
	for (int i = 0; known[i]; i++)
		consider(known[i], name, len, &best, &bestd);
	for (size_t i = 0; i < vc->it->npatterns; i++) {
		uint32_t count = 0, esize = 0;
		PCRE2_SPTR table;
		pcre2_pattern_info(vc->it->patterns[i].re, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(vc->it->patterns[i].re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
		pcre2_pattern_info(vc->it->patterns[i].re, PCRE2_INFO_NAMETABLE, &table);
		for (uint32_t j = 0; j < count; j++)
			consider((const char *)(table + j * esize + 2), name, len, &best, &bestd);
	}
	/* the exact column: the placeholder as written in the file */
	static const char *const opens[] = { "{{", "{{ ", "{{#", "{{^", "{{&", NULL };
	for (int i = 0; opens[i]; i++) {
		snprintf(needle, sizeof(needle), "%s%.*s", opens[i], (int)(len < 60 ? len : 60), name);
		if (ydoc_find(vc->L->y, vc->node, needle, &line, &col) == 0)
			break;
	}
	struct loader *L = vc->L;
	struct pending_var *nv = realloc(L->pending, (L->npending + 1) * sizeof(*nv));
	if (nv == NULL)
		return;
	L->pending = nv;
	nv += L->npending;
	nv->name = strndup(name, len);
	nv->intent = strdup(vc->it->name);
	nv->file = strdup(L->y->file);
	nv->line = line;
	nv->col = col;
	nv->best = best != NULL ? strdup(best) : NULL;
	nv->bestd = bestd;
	if (nv->name == NULL || nv->intent == NULL || nv->file == NULL ||
	    (best != NULL && nv->best == NULL)) {
		free(nv->best);
		free(nv->name);
		free(nv->intent);
		free(nv->file);
		return;
	}
	L->npending++;
}

/* Every file read: a pending variable an entity names is fine; the others are errors. */
static void
judge_pending(struct loader *L)
{
	char hint[200];

	for (size_t k = 0; k < L->npending; k++) {
		struct pending_var *p = &L->pending[k];
		size_t len = strlen(p->name);
		const char *best = p->best;
		int entity = 0;
		for (size_t i = 0; i < L->in->nentities && !entity; i++)
			entity = !L->in->entities[i].signal && strcmp(L->in->entities[i].name, p->name) == 0;
		for (size_t i = 0; i < L->in->nentities && !entity; i++)
			if (!L->in->entities[i].signal)
				consider(L->in->entities[i].name, p->name, len, &best, &p->bestd);
		if (!entity) {
			if (best != NULL)
				snprintf(hint, sizeof(hint), "did you mean {{%s}}? Variables: author, name, "
				    "ticket, intent, an entity (order, tracking, ...) or a named group of a "
				    "pattern", best);
			else
				snprintf(hint, sizeof(hint), "variables: author, name, ticket, intent, an "
				    "entity (order, tracking, ...) or a named group (?<name>...) of a pattern");
			diag_add(L->d, DIAG_ERROR, p->file, p->line, p->col, hint,
			    "unknown template variable '%s' in intent '%s'", p->name, p->intent);
		}
		free(p->best);
		free(p->name);
		free(p->intent);
		free(p->file);
	}
	free(L->pending);
	L->pending = NULL;
	L->npending = 0;
}

static void
template_item(struct loader *L, struct intent *it, yaml_node_t *n, struct intent_reply *r)
{
	const char *s = ynode_str(n);
	struct ack_err err;
	size_t off = 0;
	char **nv;
	struct var_check vc = { L, it, n };

	if (s == NULL || *s == '\0') {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(n), ynode_col(n), NULL,
		    "a reply template must be a non-empty string");
		return;
	}
	if (template_check(s, &off, &err) != 0) {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(n), ynode_col(n),
		    "placeholders look like {{author}}, {{order}} or {{name|there}}",
		    "template: %s at offset %zu", err.msg, off);
		return;
	}
	template_each_var(s, check_var, &vc);
	nv = realloc(r->variants, (r->nvariants + 2) * sizeof(*nv));
	if (nv == NULL)
		return;
	r->variants = nv;
	if ((r->variants[r->nvariants] = strdup(s)) != NULL)
		r->nvariants++;
}

static void
reply_set(struct loader *L, struct intent *it, yaml_node_t *n, const char *lang)
{
	struct intent_reply *nr = realloc(it->replies, (it->nreplies + 1) * sizeof(*nr)), *r;

	if (nr == NULL)
		return;
	it->replies = nr;
	r = &it->replies[it->nreplies];
	memset(r, 0, sizeof(*r));
	r->lang = lang ? strdup(lang) : NULL;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *e = n->data.sequence.items.start; e < n->data.sequence.items.top; e++)
			template_item(L, it, ydoc_node(L->y, *e), r);
	} else {
		template_item(L, it, n, r);
	}
	if (r->nvariants == 0) {
		free(r->lang);
		free(r->variants);
		return;
	}
	it->nreplies++;
}

static void
parse_reply(struct loader *L, struct intent *it, yaml_node_t *n)
{
	if (n == NULL || ynode_is_null(n))
		return;
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = ydoc_node(L->y, p->key);
			const char *lang = ynode_str(k);
			if (lang != NULL && strcmp(lang, "any") == 0)
				lang = NULL;
			else if (lang_key(L, k, "a reply") != 0)
				continue;
			reply_set(L, it, ydoc_node(L->y, p->value), lang);
		}
	} else {
		reply_set(L, it, n, NULL);
	}
}

static void
parse_handoff(struct loader *L, struct intent *it, yaml_node_t *n)
{
	int b;

	it->handoff_priority = HANDOFF_NORMAL;
	if (n == NULL || ynode_is_null(n))
		return;
	if (n->type == YAML_SCALAR_NODE) {
		if (ynode_bool(L->y, n, "handoff", &b, L->d) == 0 && b) {
			it->handoff = 1;
			it->queue = strdup("support");
		}
		return;
	}
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(n), ynode_col(n),
		    "write handoff: {queue: support, priority: high}", "'handoff' must be a mapping or true");
		return;
	}
	ymap_check_keys(L->y, n, handoff_keys, "handoff", L->d);
	it->handoff = 1;
	ynode_string(L->y, ymap_get(L->y, n, "queue", NULL), "handoff.queue", &it->queue, L->d);
	if (it->queue == NULL)
		it->queue = strdup("support");
	{
		yaml_node_t *pn = ymap_get(L->y, n, "priority", NULL);
		if (pn != NULL) {
			int p = ynode_str(pn) ? priority_parse(ynode_str(pn)) : -1;
			if (p < 0)
				diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(pn), ynode_col(pn), NULL,
				    "invalid value '%s' for 'handoff.priority' (expected urgent, high, normal or low)",
				    ynode_str(pn) ? ynode_str(pn) : "");
			else
				it->handoff_priority = p;
		}
	}
}

static void
parse_examples(struct loader *L, struct intent *it, yaml_node_t *n)
{
	static const char *const keys[] = { "match", "no_match", NULL };

	if (n == NULL || ynode_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(n), ynode_col(n),
		    "write examples: {match: [...], no_match: [...]}", "'examples' must be a mapping");
		return;
	}
	ymap_check_keys(L->y, n, keys, "examples", L->d);
	for (int must = 1; must >= 0; must--) {
		yaml_node_t *list = ymap_get(L->y, n, must ? "match" : "no_match", NULL);
		if (list == NULL || ynode_is_null(list))
			continue;
		if (list->type != YAML_SEQUENCE_NODE) {
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(list), ynode_col(list), NULL,
			    "'%s' must be a list", must ? "match" : "no_match");
			continue;
		}
		for (yaml_node_item_t *e = list->data.sequence.items.start; e < list->data.sequence.items.top; e++) {
			yaml_node_t *x = ydoc_node(L->y, *e);
			struct intent_example ex, *nx;

			memset(&ex, 0, sizeof(ex));
			ex.must_match = must;
			ex.line = ynode_line(x);
			ex.col = ynode_col(x);
			if (ynode_str(x) != NULL) {
				ex.text = strdup(ynode_str(x));
			} else if (x->type == YAML_MAPPING_NODE) {
				yaml_node_t *caps = ymap_get(L->y, x, "captures", NULL);
				ymap_check_keys(L->y, x, example_keys, "an example", L->d);
				ynode_string(L->y, ymap_get(L->y, x, "text", NULL), "text", &ex.text, L->d);
				ynode_string(L->y, ymap_get(L->y, x, "lang", NULL), "lang", &ex.lang, L->d);
				ynode_string(L->y, ymap_get(L->y, x, "source", NULL), "source", &ex.source, L->d);
				ynode_bool(L->y, ymap_get(L->y, x, "supporter", NULL), "supporter", &ex.is_supporter, L->d);
				if (caps != NULL && caps->type == YAML_MAPPING_NODE) {
					size_t nc = (size_t)(caps->data.mapping.pairs.top - caps->data.mapping.pairs.start);
					ex.cap_names = calloc(nc + 1, sizeof(char *));
					ex.cap_values = calloc(nc + 1, sizeof(char *));
					for (yaml_node_pair_t *p = caps->data.mapping.pairs.start;
					    ex.cap_names && ex.cap_values && p < caps->data.mapping.pairs.top; p++) {
						const char *k = ynode_str(ydoc_node(L->y, p->key));
						const char *v = ynode_str(ydoc_node(L->y, p->value));
						if (k == NULL || v == NULL)
							continue;
						ex.cap_names[ex.ncaps] = strdup(k);
						ex.cap_values[ex.ncaps] = strdup(v);
						ex.ncaps++;
					}
				} else if (caps != NULL) {
					diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(caps), ynode_col(caps),
					    "write captures: {order: A12345}", "'captures' must be a mapping");
				}
			}
			if (ex.text == NULL) {
				diag_add(L->d, DIAG_ERROR, L->y->file, ex.line, ex.col,
				    "an example is a string or {text: ..., lang: ..., captures: {...}}",
				    "example without text");
				free(ex.lang);
				free(ex.source);
				ystrings_free(ex.cap_names, ex.ncaps);
				ystrings_free(ex.cap_values, ex.ncaps);
				continue;
			}
			nx = realloc(it->examples, (it->nexamples + 1) * sizeof(*nx));
			if (nx == NULL)
				continue;
			it->examples = nx;
			it->examples[it->nexamples++] = ex;
		}
	}
}

static int
valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void
parse_intent(struct loader *L, yaml_node_t *n)
{
	struct intent it;
	yaml_node_t *nn, *pn, *w, *kn;
	long prio = 0;
	size_t errors = L->d->errors;

	memset(&it, 0, sizeof(it));
	it.when_supporter = -1;
	it.guard_class = -1;
	it.line = ynode_line(n);
	it.col = ynode_col(n);
	it.file = strdup(L->y->file);
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(L->d, DIAG_ERROR, L->y->file, it.line, it.col,
		    "each intent is a mapping with name, priority and patterns", "an intent must be a mapping");
		intent_clear(&it);
		return;
	}
	ymap_check_keys(L->y, n, intent_keys, "an intent", L->d);
	nn = ymap_get(L->y, n, "name", NULL);
	if (nn == NULL || ynode_str(nn) == NULL || !valid_name(ynode_str(nn)))
		diag_add(L->d, DIAG_ERROR, L->y->file, nn ? ynode_line(nn) : it.line,
		    nn ? ynode_col(nn) : it.col, "names use a-z, 0-9 and _",
		    nn ? "invalid intent name '%s'" : "an intent needs a 'name'%s",
		    nn && ynode_str(nn) ? ynode_str(nn) : "");
	else
		it.name = strdup(ynode_str(nn));
	pn = ymap_get(L->y, n, "priority", NULL);
	if (pn == NULL)
		diag_add(L->d, DIAG_ERROR, L->y->file, it.line, it.col,
		    "lower numbers run first; leave gaps (10, 20, ...)", "intent '%s' needs a 'priority'",
		    it.name ? it.name : "?");
	else if (ynode_int(L->y, pn, "priority", -1000000, 1000000, &prio, L->d) == 0)
		it.priority = (int)prio;
	if ((kn = ymap_get(L->y, n, "kind", NULL)) != NULL) {
		const char *k = ynode_str(kn);
		if (k != NULL && strcmp(k, "thanks") == 0)
			it.kind = INTENT_THANKS;
		else if (k == NULL || strcmp(k, "answer") != 0)
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(kn), ynode_col(kn),
			    "use kind: thanks (a thank-you, dropped when stale) or kind: answer (the default)",
			    "unknown intent kind '%s'", k ? k : "?");
	}
	if ((kn = ymap_get(L->y, n, "class", NULL)) != NULL) {
		const char *k = ynode_str(kn);
		if ((it.guard_class = guard_class_of(k)) < 0)
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(kn), ynode_col(kn),
			    "classes: praise, complaint, order_issue, refund_return, question, safety, "
			    "legal_privacy, spam, feature_request, neutral",
			    "unknown class '%s' for intent '%s'", k ? k : "?", it.name ? it.name : "?");
	}
	pattern_list(L, ymap_get(L->y, n, "patterns", NULL), "pattern", &it.patterns, &it.npatterns);
	if (it.npatterns == 0 && L->d->errors == errors)
		diag_add(L->d, DIAG_ERROR, L->y->file, it.line, it.col, "add patterns: ['...']",
		    "intent '%s' has no patterns", it.name ? it.name : "?");
	pattern_list(L, ymap_get(L->y, n, "exclude", NULL), "exclude pattern", &it.excludes, &it.nexcludes);
	if ((w = ymap_get(L->y, n, "when", NULL)) != NULL && !ynode_is_null(w)) {
		if (w->type != YAML_MAPPING_NODE) {
			diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(w), ynode_col(w), NULL,
			    "'when' must be a mapping (source, language, supporter)");
		} else {
			int sup = -1;
			ymap_check_keys(L->y, w, when_keys, "when", L->d);
			ynode_strings(L->y, ymap_get(L->y, w, "source", NULL), "when.source",
			    &it.when_sources, &it.nwhen_sources, L->d);
			ynode_strings(L->y, ymap_get(L->y, w, "language", NULL), "when.language",
			    &it.when_langs, &it.nwhen_langs, L->d);
			if (ynode_bool(L->y, ymap_get(L->y, w, "supporter", NULL), "when.supporter", &sup, L->d) == 0)
				it.when_supporter = sup;
		}
	}
	parse_handoff(L, &it, ymap_get(L->y, n, "handoff", NULL));
	if (it.name != NULL)
		parse_reply(L, &it, ymap_get(L->y, n, "reply", NULL));
	parse_examples(L, &it, ymap_get(L->y, n, "examples", NULL));
	for (size_t i = 0; it.name && i < L->in->n; i++)
		if (strcmp(L->in->v[i].name, it.name) == 0) {
			diag_add(L->d, DIAG_ERROR, L->y->file, it.line, it.col, "intent names must be unique",
			    "duplicate intent '%s' (first in %s:%d)", it.name, L->in->v[i].file, L->in->v[i].line);
			break;
		}
	if (L->d->errors != errors || it.name == NULL) {
		intent_clear(&it);
		return;
	}
	if (L->in->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 32;
		struct intent *nv = realloc(L->in->v, cap * sizeof(*nv));
		if (nv == NULL) {
			intent_clear(&it);
			return;
		}
		L->in->v = nv;
		L->cap = cap;
	}
	L->in->v[L->in->n++] = it;
}

static void
parse_entity(struct loader *L, yaml_node_t *n, int signal)
{
	struct intent_entity e, *nv;
	yaml_node_t *nn, *pn;
	const char *what = signal ? "a signal" : "an entity";

	memset(&e, 0, sizeof(e));
	e.signal = signal;
	e.line = ynode_line(n);
	e.col = ynode_col(n);
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(L->d, DIAG_ERROR, L->y->file, e.line, e.col,
		    "write {name: order, patterns: ['...']}", "%s must be a mapping", what);
		return;
	}
	ymap_check_keys(L->y, n, entity_keys, what, L->d);
	nn = ymap_get(L->y, n, "name", NULL);
	if (nn == NULL || ynode_str(nn) == NULL || !valid_name(ynode_str(nn))) {
		diag_add(L->d, DIAG_ERROR, L->y->file, nn ? ynode_line(nn) : e.line,
		    nn ? ynode_col(nn) : e.col, "names use a-z, 0-9 and _", "%s needs a valid 'name'",
		    what);
		return;
	}
	if (intents_entity(L->in, ynode_str(nn)) != NULL) {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(nn), ynode_col(nn),
		    "each entity and signal name is declared once, in any file",
		    "'%s' is declared twice", ynode_str(nn));
		return;
	}
	ynode_bool(L->y, ymap_get(L->y, n, "personal", NULL), "personal", &e.personal, L->d);
	pn = ymap_get(L->y, n, "patterns", NULL);
	pattern_list(L, pn, "pattern", &e.patterns, &e.npatterns);
	if (e.npatterns == 0) {
		diag_add(L->d, DIAG_ERROR, L->y->file, e.line, e.col, "add patterns: ['...']",
		    "%s '%s' has no patterns", what, ynode_str(nn));
		return;
	}
	e.name = strdup(ynode_str(nn));
	e.file = strdup(L->y->file);
	nv = realloc(L->in->entities, (L->in->nentities + 1) * sizeof(*nv));
	if (e.name == NULL || e.file == NULL || nv == NULL) {
		free(e.name);
		free(e.file);
		patterns_free(e.patterns, e.npatterns);
		if (nv != NULL)
			L->in->entities = nv;
		return;
	}
	L->in->entities = nv;
	nv[L->in->nentities++] = e;
}

static void
parse_entities(struct loader *L, yaml_node_t *root, const char *key, int signal)
{
	yaml_node_t *list = ymap_get(L->y, root, key, NULL);

	if (list == NULL || ynode_is_null(list))
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		diag_add(L->d, DIAG_ERROR, L->y->file, ynode_line(list), ynode_col(list),
		    "write a list of {name, patterns}", "'%s' must be a list", key);
		return;
	}
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
	    it++)
		parse_entity(L, ydoc_node(L->y, *it), signal);
}

static void
load_file(struct loader *L, const char *path)
{
	struct ydoc y;
	yaml_node_t *root, *list;

	if (ydoc_load(&y, path, L->d) != 0) {
		ydoc_free(&y);
		return;
	}
	L->y = &y;
	root = ydoc_root(&y);
	list = root ? ymap_get(&y, root, "intents", NULL) : NULL;
	if (root == NULL || ynode_is_null(root)) {
		ydoc_free(&y);
		return;		/* an empty file holds no intents */
	}
	if (root->type == YAML_MAPPING_NODE && list == NULL &&
	    (ymap_get(&y, root, "entities", NULL) != NULL || ymap_get(&y, root, "signals", NULL))) {
		static const char *const top[] = { "intents", "entities", "signals", NULL };
		ymap_check_keys(&y, root, top, "an intent file", L->d);
		parse_entities(L, root, "entities", 0);
		parse_entities(L, root, "signals", 1);
	} else if (root->type != YAML_MAPPING_NODE || list == NULL ||
	    list->type != YAML_SEQUENCE_NODE) {
		diag_add(L->d, DIAG_ERROR, path, ynode_line(root), ynode_col(root),
		    "an intent file starts with 'intents:' (or 'entities:', 'signals:') followed by "
		    "a list", "no 'intents:' list");
	} else {
		static const char *const top[] = { "intents", "entities", "signals", NULL };
		ymap_check_keys(&y, root, top, "an intent file", L->d);
		parse_entities(L, root, "entities", 0);
		parse_entities(L, root, "signals", 1);
		for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++)
			parse_intent(L, ydoc_node(&y, *it));
	}
	ydoc_free(&y);
	L->y = NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load_path(struct loader *L, const char *cfgfile, const int *pos, const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (stat(path, &st) != 0) {
		int e = errno;
		diag_add(L->d, DIAG_ERROR, cfgfile, pos ? pos[0] : 0, pos ? pos[1] : 0,
		    e == ENOENT ? (pos && pos[0] ? "check intents.paths: relative paths are read from "
		    "the configuration file's directory" : "add intents: {paths: [DIR]} to the "
		    "configuration (the default is intents/ beside it)") : "check the permissions",
		    "intents path '%s': %s", path, e == ENOENT ? "does not exist" : strerror(e));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(L, path);
		return;
	}
	dir = opendir(path);
	if (dir == NULL) {
		diag_add(L->d, DIAG_ERROR, path, 0, 0, NULL, "cannot read the directory");
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 || (strcmp(de->d_name + l - 5, ".yaml") != 0 &&
		    strcmp(de->d_name + l - 4, ".yml") != 0))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (nn == NULL)
				break;
			names = nn;
		}
		if (asprintf(&names[n], "%s/%s", path, de->d_name) >= 0)
			n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		load_file(L, names[i]);
		free(names[i]);
	}
	free(names);
}

static int
cmp_intent(const void *a, const void *b)
{
	const struct intent *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	/* stable: the order loaded (files by name, then position) */
	int c = strcmp(x->file, y->file);
	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
prefilter_add_all(struct prefilter *pf, struct intent_pattern *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int id = prefilter_add(pf, v[i].src);
		if (id < 0)
			return -1;
		v[i].pf_id = (unsigned)id;
	}
	return 0;
}

/* Reads every pattern's required literals, in matching order. */
static int
prefilter_index(struct intents *in, int ucp)
{
	if ((in->pf = prefilter_new(ucp)) == NULL)
		return -1;
	for (size_t i = 0; i < in->n; i++)
		if (prefilter_add_all(in->pf, in->v[i].patterns, in->v[i].npatterns) != 0 ||
		    prefilter_add_all(in->pf, in->v[i].excludes, in->v[i].nexcludes) != 0)
			return -1;
	return prefilter_build(in->pf);
}

struct intents *
intents_load(const struct config *c, struct diag *d)
{
	struct loader L;
	struct intents *in = calloc(1, sizeof(*in));
	size_t errors = d->errors;

	if (in == NULL)
		return NULL;
	memset(&L, 0, sizeof(L));
	L.d = d;
	L.in = in;
	L.ucp = c->ucp;
	in->match_limit = c->match_limit;
	in->depth_limit = c->depth_limit;
	for (size_t i = 0; i < c->nintent_paths; i++)
		load_path(&L, c->path, c->intent_path_pos ? c->intent_path_pos + 2 * i : NULL,
		    c->intent_paths[i]);
	judge_pending(&L);
	if (d->errors == errors && in->n == 0)
		diag_add(d, DIAG_ERROR, c->path, 0, 0, "point intents.paths at the intents/ directory",
		    "no intents were loaded");
	in->mctx = pcre2_match_context_create(NULL);
	in->jit_stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
	if (in->mctx != NULL) {
		pcre2_set_match_limit(in->mctx, in->match_limit);
		pcre2_set_depth_limit(in->mctx, in->depth_limit);
		if (in->jit_stack != NULL)
			pcre2_jit_stack_assign(in->mctx, NULL, in->jit_stack);
	}
	if (d->errors != errors || in->mctx == NULL) {
		intents_free(in);
		return NULL;
	}
	qsort(in->v, in->n, sizeof(*in->v), cmp_intent);
	if (prefilter_index(in, L.ucp) != 0) {
		diag_add(d, DIAG_ERROR, c->path, 0, 0, "free some memory", "out of memory");
		intents_free(in);
		return NULL;
	}
	return in;
}

/* ---- matching ---- */

void
match_result_clear(struct match_result *r)
{
	for (size_t i = 0; i < r->ncaps; i++) {
		free(r->caps[i].name);
		free(r->caps[i].value);
	}
	free(r->caps);
	memset(r, 0, sizeof(*r));
}

static int run(const struct intents *in, pcre2_code *re, const char *text, size_t len,
    pcre2_match_data *md);

const struct intent *
intents_find(const struct intents *in, const char *name)
{
	for (size_t i = 0; name != NULL && i < in->n; i++)
		if (strcmp(in->v[i].name, name) == 0)
			return &in->v[i];
	return NULL;
}

const struct intent_entity *
intents_entity(const struct intents *in, const char *name)
{
	for (size_t i = 0; name != NULL && i < in->nentities; i++)
		if (strcmp(in->entities[i].name, name) == 0)
			return &in->entities[i];
	return NULL;
}

void
captures_free(struct match_capture *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

/* The value of entity e in a match: its own named group if the pattern has one and it
 * took part, else the whole match. */
static char *
entity_value(const struct intent_entity *e, const struct intent_pattern *p, pcre2_match_data *md,
    const char *text)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	int g = pcre2_substring_number_from_name(p->re, (PCRE2_SPTR)e->name);
	size_t a = ov[0], b = ov[1];

	if (g > 0 && (uint32_t)g < pcre2_get_ovector_count(md) && ov[2 * g] != PCRE2_UNSET) {
		a = ov[2 * g];
		b = ov[2 * g + 1];
	}
	return strndup(text + a, b > a ? b - a : 0);
}

int
intents_extract(const struct intents *in, const char *text, struct match_capture **out,
    size_t *n, struct ack_err *err)
{
	pcre2_match_data *md;
	size_t len = strlen(text);

	*out = NULL;
	*n = 0;
	if (in->nentities == 0)
		return 0;
	md = pcre2_match_data_create(32, NULL);
	*out = calloc(in->nentities, sizeof(**out));
	if (md == NULL || *out == NULL)
		goto oom;
	for (size_t i = 0; i < in->nentities; i++) {
		const struct intent_entity *e = &in->entities[i];
		for (size_t p = 0; p < e->npatterns; p++) {
			struct match_capture *c = &(*out)[*n];
			if (run(in, e->patterns[p].re, text, len, md) != 1)
				continue;
			c->name = strdup(e->name);
			c->value = entity_value(e, &e->patterns[p], md, text);
			c->personal = e->personal;
			c->signal = e->signal;
			(*n)++;
			if (c->name == NULL || c->value == NULL)
				goto oom;
			break;
		}
	}
	pcre2_match_data_free(md);
	return 0;
oom:
	pcre2_match_data_free(md);
	captures_free(*out, *n);
	*out = NULL;
	*n = 0;
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}

const char *
match_result_capture(const struct match_result *r, const char *name)
{
	for (size_t i = 0; i < r->ncaps; i++)
		if (strcmp(r->caps[i].name, name) == 0)
			return r->caps[i].value;
	return NULL;
}

static int
listed_ci(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* 1 match, 0 no match, <0 limit or error. */
static int
run(const struct intents *in, pcre2_code *re, const char *text, size_t len, pcre2_match_data *md)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md, in->mctx);

	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return rc;
}

static int
collect_caps(const struct intent_pattern *p, pcre2_match_data *md, const char *text,
    struct match_result *out)
{
	uint32_t count = 0, esize = 0;
	PCRE2_SPTR table;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t npairs = pcre2_get_ovector_count(md);

	pcre2_pattern_info(p->re, PCRE2_INFO_NAMECOUNT, &count);
	if (count == 0)
		return 0;
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMETABLE, &table);
	out->caps = calloc(count, sizeof(*out->caps));
	if (out->caps == NULL)
		return ACK_ENOMEM;
	for (uint32_t j = 0; j < count; j++) {
		PCRE2_SPTR e = table + j * esize;
		uint32_t g = ((uint32_t)e[0] << 8) | e[1];
		const char *nm = (const char *)(e + 2);
		if (g >= npairs || ov[2 * g] == PCRE2_UNSET)
			continue;
		if (match_result_capture(out, nm) != NULL)	/* (?J) duplicates: first set wins */
			continue;
		out->caps[out->ncaps].name = strdup(nm);
		out->caps[out->ncaps].value = strndup(text + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		if (out->caps[out->ncaps].name == NULL || out->caps[out->ncaps].value == NULL) {
			free(out->caps[out->ncaps].name);
			free(out->caps[out->ncaps].value);
			return ACK_ENOMEM;
		}
		out->ncaps++;
	}
	return 0;
}

/* 1 match, 0 no match (or ruled out by the prefilter), <0 limit or error. */
static int
try_pattern(const struct intents *in, const struct intent_pattern *p, const uint64_t *hits,
    const char *text, size_t len, pcre2_match_data *md)
{
	if (hits != NULL && !prefilter_hit(hits, p->pf_id))
		return 0;
	return run(in, p->re, text, len, md);
}

#define SCAN_STACK 2048	/* text bytes scanned without an allocation */

int
intents_match(const struct intents *in, const struct match_input *mi, struct match_result *out,
    struct ack_err *err)
{
	pcre2_match_data *md = pcre2_match_data_create(64, NULL);
	size_t len = strlen(mi->text);
	uint64_t hits_buf[64], *hits = NULL;
	char fold_buf[2 * SCAN_STACK + 8], *fold = fold_buf;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (md == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	if (in->pf != NULL && !in->no_prefilter) {
		size_t words = prefilter_words(in->pf);
		hits = words <= 64 ? hits_buf : malloc(words * sizeof(uint64_t));
		if (len > SCAN_STACK)
			fold = malloc(prefilter_fold_size(len));
		if (hits == NULL || fold == NULL) {
			rc = ACK_ENOMEM;
			goto done;
		}
		prefilter_scan(in->pf, mi->text, len, hits, fold);
	}
	for (size_t i = 0; i < in->n; i++) {
		const struct intent *it = &in->v[i];
		if (it->nwhen_sources > 0 && (mi->source == NULL ||
		    !listed_ci(it->when_sources, it->nwhen_sources, mi->source)))
			continue;
		if (it->nwhen_langs > 0 && mi->lang != NULL &&
		    !listed_ci(it->when_langs, it->nwhen_langs, mi->lang))
			continue;
		if (it->when_supporter >= 0 && it->when_supporter != (mi->is_supporter != 0))
			continue;
		for (size_t p = 0; p < it->npatterns; p++) {
			int m = try_pattern(in, &it->patterns[p], hits, mi->text, len, md), vetoed = 0;
			if (m < 0)
				goto limit;
			if (m == 0)
				continue;
			if ((rc = collect_caps(&it->patterns[p], md, mi->text, out)) != 0)
				goto done;
			for (size_t x = 0; x < it->nexcludes && !vetoed; x++) {
				int xm = try_pattern(in, &it->excludes[x], hits, mi->text, len, md);
				if (xm < 0) {	/* the exclude hit the limit: a person decides */
					match_result_clear(out);
					goto limit;
				}
				vetoed = xm;
			}
			if (vetoed) {
				match_result_clear(out);
				break;	/* an exclude vetoes the whole intent */
			}
			out->intent = it;
			out->pattern_index = (int)p;
			out->pattern_lang = it->patterns[p].lang;
			goto done;
		limit:
			out->limit_pattern = (int)p;
			out->limit_hit = 1;
			out->limit_intent = it;
			goto done;
		}
	}
done:
	pcre2_match_data_free(md);
	if (hits != hits_buf)
		free(hits);
	if (fold != fold_buf)
		free(fold);
	if (rc == ACK_ENOMEM) {
		match_result_clear(out);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	return 0;
}

const char *
intent_pick_reply(const struct intent *it, const char *lang, const char *pattern_lang,
    const char *default_lang, uint64_t seed, const char **reply_lang)
{
	const struct intent_reply *r = NULL;
	const char *want[3] = { lang, pattern_lang, default_lang };

	*reply_lang = NULL;
	if (it->nreplies == 0)
		return NULL;
	for (int k = 0; k < 3 && r == NULL; k++)
		for (size_t i = 0; want[k] && i < it->nreplies; i++)
			if (it->replies[i].lang && strcasecmp(it->replies[i].lang, want[k]) == 0) {
				r = &it->replies[i];
				break;
			}
	for (size_t i = 0; r == NULL && i < it->nreplies; i++)
		if (it->replies[i].lang == NULL)
			r = &it->replies[i];
	if (r == NULL)
		r = &it->replies[0];
	*reply_lang = r->lang ? r->lang : default_lang;
	return r->variants[seed % r->nvariants];
}

/* ---- verify ---- */

int
intents_verify(const struct intents *in, const char *const *handles, size_t nhandles, void *outp,
    size_t *passed, size_t *failed)
{
	FILE *out = outp;

	*passed = *failed = 0;
	for (size_t i = 0; i < in->n; i++) {
		const struct intent *it = &in->v[i];
		for (size_t e = 0; e < it->nexamples; e++) {
			const struct intent_example *ex = &it->examples[e];
			struct match_input mi;
			struct match_result r;
			char *text = text_for_matching(ex->text, strlen(ex->text), handles, nhandles);
			char *lang = text_lang_primary(ex->lang);
			const char *got;
			int ok;

			if (text == NULL) {
				free(lang);
				return -1;
			}
			memset(&mi, 0, sizeof(mi));
			mi.text = text;
			mi.source = ex->source ? ex->source : "console";
			mi.lang = lang;
			mi.is_supporter = ex->is_supporter;
			if (intents_match(in, &mi, &r, NULL) != 0) {
				free(text);
				free(lang);
				return -1;
			}
			got = r.intent ? r.intent->name : NULL;
			ok = ex->must_match ? (got != NULL && strcmp(got, it->name) == 0) :
			    (got == NULL || strcmp(got, it->name) != 0);
			if (ok && ex->must_match)
				for (size_t k = 0; k < ex->ncaps; k++) {
					const char *v = match_result_capture(&r, ex->cap_names[k]);
					if (v == NULL || strcmp(v, ex->cap_values[k]) != 0) {
						fprintf(out, "%s:%d:%d: example \"%s\"\n  - expected: %s with %s=%s\n"
						    "  + got:      %s with %s=%s\n", it->file, ex->line, ex->col,
						    ex->text, it->name, ex->cap_names[k], ex->cap_values[k],
						    it->name, ex->cap_names[k], v ? v : "(unset)");
						ok = -1;
						break;
					}
				}
			if (ok == 0) {
				fprintf(out, "%s:%d:%d: example \"%s\"\n  - expected: %s%s\n", it->file,
				    ex->line, ex->col, ex->text, ex->must_match ? "" : "not ", it->name);
				if (r.limit_hit)
					fprintf(out, "  + got:      (PCRE2 limit hit in '%s')\n",
					    r.limit_intent ? r.limit_intent->name : "?");
				else if (r.intent)
					fprintf(out, "  + got:      %s (pattern %d '%s')\n", got, r.pattern_index,
					    r.intent->patterns[r.pattern_index].src);
				else
					fprintf(out, "  + got:      (nothing matched)\n");
			}
			if (ok == 1)
				(*passed)++;
			else
				(*failed)++;
			match_result_clear(&r);
			free(text);
			free(lang);
		}
	}
	fprintf(out, "%zu examples passed, %zu failed\n", *passed, *failed);
	return *failed ? 1 : 0;
}
