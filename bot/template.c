/* template.c - reply templates: {{var}}, {{var|default}} and sections {{#var}}...{{/var}}
 * (shown when var has a value) and {{^var}}...{{/var}} (when it has none); values from a
 * mention are neutralised; the result is NFC, free of control characters and cut to the cap. */
#include "template.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define UNTRUSTED_MAX 64

struct ph {
	size_t start, end;	/* "{{" .. past "}}" */
	char sigil;		/* '#', '^' (a section opens), '/' (it closes), or 0 */
	const char *name;
	size_t nlen;
	const char *def;	/* NULL: no default */
	size_t dlen;
};

/* Parses the placeholder at t+pos ("{{"). Returns 0, or -1 with *why. */
static int
parse_ph(const char *t, size_t pos, struct ph *ph, const char **why)
{
	const char *p = t + pos + 2, *close = strstr(p, "}}"), *open = strstr(p, "{{");
	const char *e;

	memset(ph, 0, sizeof(*ph));
	ph->start = pos;
	if (close == NULL || (open != NULL && open < close)) {
		*why = "unclosed '{{'";
		return -1;
	}
	ph->end = (size_t)(close - t) + 2;
	while (p < close && *p == ' ')
		p++;
	if (p < close && (*p == '#' || *p == '^' || *p == '/'))
		ph->sigil = *p++;
	ph->name = p;
	if (p < close && (isalpha((unsigned char)*p) || *p == '_'))
		while (p < close && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
	ph->nlen = (size_t)(p - ph->name);
	e = p;
	while (e < close && *e == ' ')
		e++;
	if (ph->nlen == 0 || (e < close && *e != '|')) {
		*why = "bad variable name";
		return -1;
	}
	if (e < close && ph->sigil) {
		*why = "a section tag takes no default";
		return -1;
	}
	if (e < close) {
		const char *d = e + 1, *de = close;
		while (d < de && *d == ' ')
			d++;
		while (de > d && de[-1] == ' ')
			de--;
		ph->def = d;
		ph->dlen = (size_t)(de - d);
	}
	return 0;
}

int
template_check(const char *tmpl, size_t *offset, struct ack_err *err)
{
	const char *p = tmpl;
	struct ph open = { 0 };

	while ((p = strstr(p, "{{")) != NULL) {
		struct ph ph;
		const char *why;
		if (parse_ph(tmpl, (size_t)(p - tmpl), &ph, &why) == 0 && ph.sigil) {
			why = NULL;
			if (ph.sigil != '/' && open.sigil)
				why = "sections do not nest: close the first with {{/name}}";
			else if (ph.sigil == '/' && (!open.sigil || open.nlen != ph.nlen ||
			    memcmp(open.name, ph.name, ph.nlen) != 0))
				why = "'{{/name}}' closes no open section of that name";
			if (why != NULL) {
				if (offset)
					*offset = (size_t)(p - tmpl);
				return ack_fail(err, ACK_EINVAL, "%s", why);
			}
			open = ph;
			if (ph.sigil == '/')
				open.sigil = 0;
			p = tmpl + ph.end;
			continue;
		}
		if (parse_ph(tmpl, (size_t)(p - tmpl), &ph, &why) != 0) {
			if (offset)
				*offset = (size_t)(p - tmpl);
			if (why[0] == 'b') {
				const char *q = p + 2, *c = strstr(q, "}}");
				int n = c ? (int)(c - q) : 0;
				return ack_fail(err, ACK_EINVAL, "bad variable name '%.*s' (use letters, digits, _)",
				    n > 40 ? 40 : n, q);
			}
			return ack_fail(err, ACK_EINVAL, "%s", why);
		}
		p = tmpl + ph.end;
	}
	if (open.sigil) {
		if (offset)
			*offset = open.start;
		return ack_fail(err, ACK_EINVAL, "unclosed section '{{%c%.*s}}' (end it with {{/%.*s}})",
		    open.sigil, (int)open.nlen, open.name, (int)open.nlen, open.name);
	}
	return 0;
}

void
template_each_var(const char *tmpl, void (*fn)(const char *name, size_t len, void *arg), void *arg)
{
	const char *p = tmpl;

	while ((p = strstr(p, "{{")) != NULL) {
		struct ph ph;
		const char *why;
		if (parse_ph(tmpl, (size_t)(p - tmpl), &ph, &why) != 0)
			return;
		if (ph.sigil != '/')
			fn(ph.name, ph.nlen, arg);
		p = tmpl + ph.end;
	}
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static int
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static const struct tmpl_var *
find_var(const struct tmpl_var *vars, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
			return &vars[i];
	return NULL;
}

/* Control characters out (but '\n'), then NFC. */
static char *
finish(const char *s)
{
	char *clean = malloc(strlen(s) + 1), *q = clean, *out;

	if (clean == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			continue;
		/* C1 controls, U+0080..U+009F, are 0xC2 0x80..0x9F in UTF-8 */
		if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			p++;
			continue;
		}
		*q++ = (char)*p;
	}
	*q = '\0';
	out = text_nfc(clean, strlen(clean));
	free(clean);
	return out;
}

/* Where the {{/name}} that closes a section starts (spaces allowed inside the braces). */
static const char *
section_end(const char *p, const char *name, size_t nlen)
{
	while ((p = strstr(p, "{{")) != NULL) {
		struct ph ph;
		const char *why;
		if (parse_ph(p, 0, &ph, &why) == 0 && ph.sigil == '/' && ph.nlen == nlen &&
		    memcmp(ph.name, name, nlen) == 0)
			return p;
		p += 2;
	}
	return NULL;
}

char *
template_render(const char *tmpl, const struct tmpl_var *vars, size_t nvars,
    size_t max_graphemes, struct ack_err *err)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *p = tmpl;
	char *out;
	size_t off = 0;

	/* the whole template first: a section skipped below must be well formed too */
	if (template_check(tmpl, &off, err) != 0)
		return NULL;
	if (sb_add(&b, "", 0) != 0)
		goto oom;
	for (;;) {
		const char *o = strstr(p, "{{");
		struct ph ph;
		const struct tmpl_var *v;
		const char *why;
		char *val = NULL;

		if (o == NULL) {
			if (sb_add(&b, p, strlen(p)) != 0)
				goto oom;
			break;
		}
		if (sb_add(&b, p, (size_t)(o - p)) != 0)
			goto oom;
		if (parse_ph(tmpl, (size_t)(o - tmpl), &ph, &why) != 0) {
			free(b.p);
			ack_fail(err, ACK_EINVAL, "template: %s at offset %zu", why, (size_t)(o - tmpl));
			return NULL;
		}
		v = find_var(vars, nvars, ph.name, ph.nlen);
		if (v != NULL && v->value != NULL) {
			val = v->trusted ? strdup(v->value) : text_neutralize(v->value, UNTRUSTED_MAX);
			if (val == NULL)
				goto oom;
		}
		if (ph.sigil == '#' || ph.sigil == '^') {
			/* a section: its inside, up to {{/name}}, when the value is there (#) or not (^) */
			int have = val != NULL && *val != '\0';
			const char *end = section_end(tmpl + ph.end, ph.name, ph.nlen);
			free(val);
			if (end == NULL) {
				free(b.p);
				ack_fail(err, ACK_EINVAL, "template: unclosed section at offset %zu", ph.start);
				return NULL;
			}
			if (have == (ph.sigil == '#')) {
				char *inner = strndup(tmpl + ph.end, (size_t)(end - (tmpl + ph.end)));
				char *r = inner ? template_render(inner, vars, nvars, 0, err) : NULL;
				free(inner);
				if (r == NULL) {
					free(b.p);
					return NULL;
				}
				if (sb_add(&b, r, strlen(r)) != 0) {
					free(r);
					goto oom;
				}
				free(r);
			}
			p = strstr(end, "}}") + 2;
			continue;
		}
		if (ph.sigil == '/') {
			free(val);
			free(b.p);
			ack_fail(err, ACK_EINVAL, "template: '{{/' closes no section at offset %zu", ph.start);
			return NULL;
		}
		if (val != NULL && *val != '\0') {
			if (sb_add(&b, val, strlen(val)) != 0) {
				free(val);
				goto oom;
			}
		} else if (ph.def != NULL && sb_add(&b, ph.def, ph.dlen) != 0) {
			free(val);
			goto oom;
		}
		free(val);
		p = tmpl + ph.end;
	}
	out = finish(b.p);
	free(b.p);
	if (out == NULL) {
		ack_fail(err, ACK_ENOMEM, "out of memory");
		return NULL;
	}
	if (max_graphemes > 0)
		text_truncate(out, max_graphemes, "…");
	return out;
oom:
	free(b.p);
	ack_fail(err, ACK_ENOMEM, "out of memory");
	return NULL;
}
