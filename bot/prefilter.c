/* prefilter.c - required literals read from PCRE2 patterns, searched together.
 *
 * The reader walks a pattern once and computes, for every subexpression, either an EXACT
 * set (it matches exactly one of these strings), a REQ set (every match contains one of
 * these strings) or NONE (nothing known), in the manner of RE2's prefilter:
 *   sequence:    exact sets multiply while small; otherwise the most selective REQ wins;
 *   alternation: exact sets unite; REQ sets unite; one NONE branch makes it NONE;
 *   x{n,m}:      x n times (up to 4) then, if more may follow, a break;
 *   x? x* x{0,}: NONE; zero-width items (^, lookarounds): the empty string;
 *   \b:          a mark byte (MARK) in the strings, so that a literal the pattern bounds
 *                by \b carries it: after reading, a mark at a literal's edge becomes a
 *                flag the scan checks (no ASCII word character on that side), others go.
 * Anything it does not know (verbs, recursion, conditionals, (?x), odd escapes) makes the
 * pattern "always run". Literals are indexed by their first four bytes (or all of a shorter
 * one), those bounded by \b before them apart; a scan looks each text position up (the
 * bounded ones only where a word may start) and marks the owners of every literal found. */
#include "prefilter.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define SET_MAX   64	/* strings in one set */
#define LIT_MAX   40	/* bytes of one literal */
#define DEPTH_MAX 40	/* group nesting read (sets live on the stack) */
#define CLASS_MAX 8	/* a class of at most this many plain characters is a set */
#define REP_MAX   4	/* x{n}: at most this many copies joined */
#define NBUCKET2  1024	/* literals of two bytes, by both */
#define NBUCKET3  4096	/* literals of three bytes */
#define NBUCKET4  16384	/* longer literals, by their first four bytes */
#define MARK      0x01	/* \b inside a string while reading; never a literal byte */

enum { WB_BEFORE = 1, WB_AFTER = 2 };	/* a literal's flags: \b before it, after it */

enum kind { K_NONE, K_EXACT, K_REQ };

struct sset {
	enum kind kind;
	int n;
	unsigned char len[SET_MAX];
	char s[SET_MAX][LIT_MAX];
};

struct reader {
	const unsigned char *p, *end;
	int bail, depth;
	int sep;	/* the last escape read never matches a word character (\s \W \h \v \R) */
};

struct plit { uint32_t off, len, flags; };	/* a literal of one pattern, in the pool */

struct lit {
	uint32_t off, len, flags;	/* in the pool; WB_* */
	uint32_t owner0, nowners;	/* into owners[] */
	uint32_t next;			/* next literal in the same bucket, or UINT32_MAX */
};

struct prefilter {
	size_t n, cap;
	uint8_t *always;
	uint32_t *lit0, *nlit;		/* per pattern: its literals in plits */
	struct plit *plits;
	size_t nplits, capplits;
	char *pool;
	size_t npool, cappool;

	struct lit *lits;		/* after build: unique literals */
	size_t nlits;
	uint32_t *owners;
	struct index {
		uint32_t head2[NBUCKET2];	/* literals of two bytes */
		uint32_t head3[NBUCKET3];	/* of three bytes */
		uint32_t head4[NBUCKET4];	/* of four bytes or more, by the first four */
		uint32_t single[256];		/* of one byte */
	} any, word;	/* literals found anywhere; only at a word start (WB_BEFORE) */
	uint64_t *always_mask;
	size_t words;
	int ucp;			/* \b bounds are used (see prefilter_new) */
};

/* ---- case folding ---- */

/* lower(upper(c)) puts every pair PCRE2 matches caselessly (K and the Kelvin sign, s and
 * long s, the three sigmas, ...) on one code point; tests/unit/test_prefilter.c checks it
 * against PCRE2 itself for every code point that has a case. */
int32_t
prefilter_fold_cp(int32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	return utf8proc_tolower(utf8proc_toupper(cp));
}

size_t
prefilter_fold_size(size_t len)
{
	return 2 * len + 8;
}

size_t
prefilter_fold(const char *s, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			unsigned char c = p[i++];
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			continue;
		}
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (k <= 0) {	/* not UTF-8: the byte as it is */
			out[o++] = (char)p[i++];
			continue;
		}
		i += (size_t)k;
		o += (size_t)utf8proc_encode_char(prefilter_fold_cp(cp), (utf8proc_uint8_t *)out + o);
	}
	out[o] = '\0';
	return o;
}

/* ---- sets ---- */

static void
set_none(struct sset *s)
{
	s->kind = K_NONE;
	s->n = 0;
}

static void
set_empty_string(struct sset *s)	/* matches "" exactly: zero-width */
{
	s->kind = K_EXACT;
	s->n = 1;
	s->len[0] = 0;
}

static void
set_mark(struct sset *s)	/* \b: zero-width, remembered as MARK */
{
	s->kind = K_EXACT;
	s->n = 1;
	s->len[0] = 1;
	s->s[0][0] = MARK;
}

/* The length of a string without its marks: 0 when it matches the empty string. */
static size_t
real_len(const char *str, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += str[i] != MARK;
	return n;
}

static int
set_has(const struct sset *s, const char *str, size_t len)
{
	for (int i = 0; i < s->n; i++)
		if (s->len[i] == len && memcmp(s->s[i], str, len) == 0)
			return 1;
	return 0;
}

/* Adds a string; 0 when the set is full or the string too long. */
static int
set_add(struct sset *s, const char *str, size_t len)
{
	if (len > LIT_MAX)
		return 0;
	if (set_has(s, str, len))
		return 1;
	if (s->n == SET_MAX)
		return 0;
	memcpy(s->s[s->n], str, len);
	s->len[s->n++] = (unsigned char)len;
	return 1;
}

/* An exact set as a requirement: NONE when it can match "". */
static void
set_to_req(struct sset *s)
{
	if (s->kind == K_EXACT) {
		for (int i = 0; i < s->n; i++)
			if (real_len(s->s[i], s->len[i]) == 0) {
				set_none(s);
				return;
			}
		s->kind = s->n > 0 ? K_REQ : K_NONE;
	}
}

static int
set_score(const struct sset *s)
{
	int min = LIT_MAX;

	if (s->kind == K_NONE || s->n == 0)
		return -1;
	for (int i = 0; i < s->n; i++) {	/* a \b at an edge counts as a byte */
		int l = (int)real_len(s->s[i], s->len[i]) + (s->len[i] > 0 && s->s[i][0] == MARK) +
		    (s->len[i] > 0 && s->s[i][s->len[i] - 1] == MARK);
		if (l < min)
			min = l;
	}
	return (min > 6 ? 6 : min) * 100 - s->n;
}

/* *best = the more selective of *best and r (both requirements). */
static void
set_better(struct sset *best, const struct sset *r)
{
	if (set_score(r) > set_score(best))
		*best = *r;
}

/* out = a x b (every string of a followed by every string of b); 0 if it does not fit. */
static int
set_product(const struct sset *a, const struct sset *b, struct sset *out)
{
	if (a->n * b->n > SET_MAX)
		return 0;
	out->kind = K_EXACT;
	out->n = 0;
	for (int i = 0; i < a->n; i++)
		for (int j = 0; j < b->n; j++) {
			char buf[2 * LIT_MAX];
			size_t l = (size_t)a->len[i] + b->len[j];
			if (l > LIT_MAX)
				return 0;
			memcpy(buf, a->s[i], a->len[i]);
			memcpy(buf + a->len[i], b->s[j], b->len[j]);
			if (!set_add(out, buf, l))
				return 0;
		}
	return 1;
}

/* ---- the reader ---- */

struct seq {
	struct sset cur;	/* the exact run being built */
	struct sset best;	/* the best requirement so far */
	int broken;		/* the sequence is no longer one exact set */
};

static void
seq_init(struct seq *q)
{
	set_empty_string(&q->cur);
	set_none(&q->best);
	q->broken = 0;
}

static void
seq_flush(struct seq *q)
{
	struct sset r = q->cur;

	set_to_req(&r);
	set_better(&q->best, &r);
	set_empty_string(&q->cur);
}

static void
seq_feed(struct seq *q, const struct sset *it)
{
	if (it->kind == K_EXACT) {
		struct sset prod;
		if (set_product(&q->cur, it, &prod)) {
			q->cur = prod;
			return;
		}
		seq_flush(q);
		q->broken = 1;
		q->cur = *it;
		return;
	}
	seq_flush(q);
	q->broken = 1;
	if (it->kind == K_REQ)
		set_better(&q->best, it);
}

/* Feeds one item that occurs at least once. A character that is never a word character
 * (sep) bounds its neighbours as \b would: a mark on each side. */
static void
seq_feed_item(struct seq *q, const struct sset *it, int sep)
{
	struct sset m;

	if (sep) {
		set_mark(&m);
		seq_feed(q, &m);
	}
	seq_feed(q, it);
	if (sep)
		seq_feed(q, &m);
}

static void
seq_finish(struct seq *q, struct sset *out)
{
	if (!q->broken) {
		*out = q->cur;
		return;
	}
	seq_flush(q);
	*out = q->best;
}

static void parse_alt(struct reader *r, struct sset *out);

static int
peek(const struct reader *r)
{
	return r->p < r->end ? *r->p : -1;
}

/* One UTF-8 code point from the pattern; -1 on a bad sequence. */
static int32_t
next_cp(struct reader *r)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t k = utf8proc_iterate(r->p, r->end - r->p, &cp);

	if (k <= 0) {
		r->bail = 1;
		return -1;
	}
	r->p += k;
	return cp;
}

/* The set {fold(cp)}. */
static void
set_char(struct sset *s, int32_t cp)
{
	char buf[8];

	if (cp <= 0 || cp == MARK) {	/* MARK cannot be a literal byte: nothing known */
		set_none(s);
		return;
	}
	s->kind = K_EXACT;
	s->n = 0;
	set_add(s, buf, (size_t)utf8proc_encode_char(prefilter_fold_cp(cp), (utf8proc_uint8_t *)buf));
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \x{hhh} or \xhh (after "\x"); -1 and bail when malformed. */
static int32_t
read_hex(struct reader *r)
{
	int32_t v = 0;
	int n = 0;

	if (peek(r) == '{') {
		r->p++;
		while (peek(r) >= 0 && hexval(peek(r)) >= 0 && n < 8) {
			v = v * 16 + hexval(*r->p++);
			n++;
		}
		if (peek(r) != '}' || n == 0) {
			r->bail = 1;
			return -1;
		}
		r->p++;
		return v;
	}
	while (n < 2 && peek(r) >= 0 && hexval(peek(r)) >= 0) {
		v = v * 16 + hexval(*r->p++);
		n++;
	}
	return v;
}

/* \p{..}, \P{..}, \pL: skips the property. */
static void
skip_property(struct reader *r)
{
	if (peek(r) == '{') {
		while (r->p < r->end && *r->p != '}')
			r->p++;
		if (r->p == r->end)
			r->bail = 1;
		else
			r->p++;
	} else if (r->p < r->end) {
		r->p++;
	} else {
		r->bail = 1;
	}
}

/* An escape outside a class (after the backslash); assertions are the empty string. */
static void
parse_escape(struct reader *r, struct sset *out)
{
	int c = peek(r);

	if (c < 0) {
		r->bail = 1;
		return;
	}
	if (c >= 0x80) {	/* \ before a non-ASCII character: that character */
		set_char(out, next_cp(r));
		return;
	}
	r->p++;
	r->sep = c == 's' || c == 'W' || c == 'h' || c == 'v' || c == 'R';
	switch (c) {
	case 'b':
		set_mark(out);
		return;
	case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K': case 'E':
		set_empty_string(out);
		return;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
	case 'v': case 'V': case 'R': case 'X': case 'C':
		set_none(out);
		return;
	case 'N':
		if (peek(r) == '{')
			r->bail = 1;
		set_none(out);
		return;
	case 'p': case 'P':
		skip_property(r);
		set_none(out);
		return;
	case 't': set_char(out, '\t'); return;
	case 'n': set_char(out, '\n'); return;
	case 'r': set_char(out, '\r'); return;
	case 'f': set_char(out, '\f'); return;
	case 'e': set_char(out, 0x1b); return;
	case 'a': set_char(out, 0x07); return;
	case 'x': {
		int32_t v = read_hex(r);
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
			r->bail = 1;
		set_char(out, v);
		return;
	}
	default:
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			r->bail = 1;	/* back-references, \g, \k, \o, \c, \Q handled by caller */
			set_none(out);
			return;
		}
		set_char(out, c);	/* \. \? \\ \' ... */
	}
}

/* The end of a POSIX class name ("[:alpha:]") starting at p, as PCRE2 decides it: the
 * terminator before any ']' or "[:"; NULL when it is not one. */
static const unsigned char *
posix_end(const unsigned char *p, const unsigned char *end, unsigned char term)
{
	for (; p + 1 < end; p++) {
		if (*p == '\\' && (p[1] == ']' || p[1] == '\\'))
			p++;
		else if ((*p == '[' && p[1] == term) || *p == ']')
			return NULL;
		else if (*p == term && p[1] == ']')
			return p;
	}
	return NULL;
}

/* A class (after '['): a small set of plain characters, else NONE. */
static void
parse_class(struct reader *r, struct sset *out)
{
	int negated = 0, plain = 1, first = 1;
	int32_t cps[CLASS_MAX];
	int n = 0;

	if (peek(r) == '^') {
		negated = 1;
		r->p++;
	}
	for (;;) {
		int c = peek(r);
		if (c < 0) {
			r->bail = 1;
			return;
		}
		if (c == ']' && !first) {
			r->p++;
			break;
		}
		first = 0;
		if (c == '[' && r->p + 1 < r->end && (r->p[1] == ':' || r->p[1] == '.' || r->p[1] == '=')) {
			const unsigned char *e = posix_end(r->p + 2, r->end, r->p[1]);
			if (e != NULL) {	/* [:alpha:] and friends */
				r->p = e + 2;
				plain = 0;
				continue;
			}	/* else '[' is a plain member */
		}
		if (c == '\\') {
			r->p++;
			int e = peek(r);
			if (e < 0) {
				r->bail = 1;
				return;
			}
			if (e == 'Q' || e == 'E' || e == 'N' || e == 'c' || e == 'o' ||
			    (e >= '0' && e <= '9')) {
				r->bail = 1;
				return;
			}
			if (e == 'p' || e == 'P') {
				r->p++;
				skip_property(r);
				plain = 0;
				continue;
			}
			if (e == 'x') {
				r->p++;
				read_hex(r);
				plain = 0;
				continue;
			}
			if (e >= 0x80) {
				int32_t cp = next_cp(r);
				if (n < CLASS_MAX)
					cps[n] = cp;
				n++;
				continue;
			}
			r->p++;
			if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z'))
				plain = 0;	/* \d \w \s \b \t ...: not a plain character */
			else {
				if (n < CLASS_MAX)
					cps[n] = e;
				n++;
			}
			continue;
		}
		if (c == '-' && !first && r->p + 1 < r->end && r->p[1] != ']') {
			plain = 0;	/* a range */
			r->p++;
			continue;
		}
		int32_t cp = next_cp(r);
		if (cp < 0)
			return;
		if (n < CLASS_MAX)
			cps[n] = cp;
		n++;
	}
	if (negated || !plain || n == 0 || n > CLASS_MAX) {
		set_none(out);
		return;
	}
	out->kind = K_EXACT;
	out->n = 0;
	for (int i = 0; i < n; i++) {
		struct sset one;
		set_char(&one, cps[i]);
		if (one.kind != K_EXACT) {
			set_none(out);
			return;
		}
		set_add(out, one.s[0], one.len[0]);
	}
}

/* A group (after '('). */
static void
parse_group(struct reader *r, struct sset *out)
{
	int zero = 0;	/* lookaround: parsed, then counts as the empty string */

	if (peek(r) == '*') {	/* (*VERB), (*pla:...) */
		r->bail = 1;
		return;
	}
	if (peek(r) == '?') {
		r->p++;
		int c = peek(r);
		if (c == '#') {
			while (r->p < r->end && *r->p != ')')
				r->p++;
			if (r->p == r->end) {
				r->bail = 1;
				return;
			}
			r->p++;
			set_empty_string(out);
			return;
		}
		if (c == ':' || c == '|' || c == '>') {
			r->p++;
		} else if (c == '=' || c == '!') {
			r->p++;
			zero = 1;
		} else if (c == '<' && r->p + 1 < r->end && (r->p[1] == '=' || r->p[1] == '!')) {
			r->p += 2;
			zero = 1;
		} else if (c == '<' || c == '\'' || (c == 'P' && r->p + 1 < r->end && r->p[1] == '<')) {
			int close = c == '\'' ? '\'' : '>';
			r->p += c == 'P' ? 2 : 1;
			while (r->p < r->end && *r->p != close)
				r->p++;
			if (r->p == r->end) {
				r->bail = 1;
				return;
			}
			r->p++;
		} else {	/* (?flags) or (?flags:...) */
			const unsigned char *q = r->p;
			while (q < r->end && strchr("imnsJU^-", *q) != NULL && *q != '\0')
				q++;
			if (q == r->end || (*q != ')' && *q != ':')) {
				r->bail = 1;	/* x, recursion, conditionals, callouts, (?P=...) */
				return;
			}
			r->p = q + 1;
			if (*q == ')') {
				set_empty_string(out);
				return;
			}
		}
	}
	parse_alt(r, out);
	if (peek(r) != ')') {
		r->bail = 1;
		return;
	}
	r->p++;
	if (zero)
		set_empty_string(out);
}

/* A quantifier, if one follows: its bounds in *min and *max (-1: unbounded); 0 when none. */
static int
parse_quant(struct reader *r, int *min, int *max)
{
	int c = peek(r);

	if (c == '*' || c == '+' || c == '?') {
		r->p++;
		*min = c == '+';
		*max = c == '?' ? 1 : -1;
	} else if (c == '{') {
		const unsigned char *q = r->p + 1;
		long a = 0, b;
		int digits = 0;
		while (q < r->end && *q >= '0' && *q <= '9' && a < 100000) {
			a = a * 10 + (*q++ - '0');
			digits++;
		}
		if (digits == 0 || q == r->end) {
			r->bail = 1;	/* "{" that is not a quantifier */
			return 0;
		}
		b = a;
		if (*q == ',') {
			q++;
			b = -1;
			if (q < r->end && *q >= '0' && *q <= '9') {
				b = 0;
				while (q < r->end && *q >= '0' && *q <= '9' && b < 100000)
					b = b * 10 + (*q++ - '0');
			}
		}
		if (q == r->end || *q != '}') {
			r->bail = 1;
			return 0;
		}
		r->p = q + 1;
		*min = (int)a;
		*max = (int)b;
	} else {
		return 0;
	}
	if (peek(r) == '+' || peek(r) == '?')	/* possessive, lazy */
		r->p++;
	return 1;
}

static void
parse_seq(struct reader *r, struct sset *out)
{
	struct seq q;

	seq_init(&q);
	while (!r->bail && r->p < r->end && *r->p != '|' && *r->p != ')') {
		struct sset a;
		int c = *r->p, min, max, sep = 0;

		if (c == '\\' && r->p + 1 < r->end && r->p[1] == 'Q') {	/* \Q...\E */
			r->p += 2;
			while (r->p < r->end && !(r->p[0] == '\\' && r->p + 1 < r->end && r->p[1] == 'E')) {
				set_char(&a, next_cp(r));	/* quantifier characters are literal here */
				if (r->bail)
					break;
				seq_feed(&q, &a);
			}
			if (r->p < r->end)
				r->p += 2;
			c = peek(r);	/* a quantifier after \E applies to the last character alone */
			if (c == '*' || c == '+' || c == '?' || c == '{')
				r->bail = 1;
			continue;
		}
		if (c == '(') {
			r->p++;
			if (++r->depth > DEPTH_MAX) {
				r->bail = 1;
				break;
			}
			parse_group(r, &a);
			r->depth--;
		} else if (c == '[') {
			r->p++;
			parse_class(r, &a);
		} else if (c == '\\') {
			r->p++;
			r->sep = 0;
			parse_escape(r, &a);
			sep = r->sep;
		} else if (c == '.') {
			r->p++;
			set_none(&a);
		} else if (c == '^' || c == '$') {
			r->p++;
			set_empty_string(&a);
		} else if (c == '*' || c == '+' || c == '?' || c == '{') {
			r->bail = 1;
			break;
		} else {
			set_char(&a, next_cp(r));
		}
		if (r->bail)
			break;
		if (!parse_quant(r, &min, &max)) {
			seq_feed_item(&q, &a, sep);
			continue;
		}
		if (r->bail)
			break;
		if (peek(r) == '*' || peek(r) == '+' || peek(r) == '?' || peek(r) == '{') {
			r->bail = 1;
			break;
		}
		if (a.kind == K_EXACT && a.n == 1 && real_len(a.s[0], a.len[0]) == 0) {
			r->bail = 1;	/* after \E, (?#...) or (?i) it applies to the item before */
			break;
		}
		if (min == 0) {
			struct sset opt = a;
			if (max == 1 && a.kind == K_EXACT && set_add(&opt, "", 0)) {
				seq_feed(&q, &opt);
			} else {
				set_none(&opt);
				seq_feed(&q, &opt);
			}
			continue;
		}
		if (a.kind != K_EXACT) {
			seq_feed_item(&q, &a, sep);
			continue;
		}
		for (int i = 0; i < min && i < REP_MAX; i++)
			seq_feed(&q, &a);
		if (max != min || min > REP_MAX) {
			struct sset gap;
			set_none(&gap);
			seq_feed(&q, &gap);
		}
	}
	seq_finish(&q, out);
}

static void
parse_alt(struct reader *r, struct sset *out)
{
	struct sset br;
	int all_exact, any_none = 0;

	parse_seq(r, out);
	all_exact = out->kind == K_EXACT;
	while (!r->bail && peek(r) == '|') {
		r->p++;
		parse_seq(r, &br);
		if (all_exact && br.kind == K_EXACT) {
			int ok = 1;
			for (int i = 0; i < br.n && ok; i++)
				ok = set_add(out, br.s[i], br.len[i]);
			if (ok)
				continue;
		}
		/* from here on: a union of requirements */
		if (all_exact) {
			set_to_req(out);
			all_exact = 0;
		}
		set_to_req(&br);
		if (out->kind == K_NONE || br.kind == K_NONE) {
			any_none = 1;
			continue;
		}
		for (int i = 0; i < br.n; i++)
			if (!set_add(out, br.s[i], br.len[i])) {
				any_none = 1;
				break;
			}
	}
	if (any_none)
		set_none(out);
}

/* ---- the set of patterns ---- */

struct prefilter *
prefilter_new(int ucp)
{
	struct prefilter *pf = calloc(1, sizeof(struct prefilter));

	if (pf != NULL)
		pf->ucp = ucp;
	return pf;
}

void
prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	free(pf->always);
	free(pf->lit0);
	free(pf->nlit);
	free(pf->plits);
	free(pf->pool);
	free(pf->lits);
	free(pf->owners);
	free(pf->always_mask);
	free(pf);
}

static int
ascii_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/* Copies str without its marks into out; a mark before the first (after the last) byte
 * becomes WB_BEFORE (WB_AFTER) when that byte is an ASCII word character, the only case
 * where \b there rules out an ASCII word character beside it, with or without UCP (a
 * non-ASCII neighbour may or may not be a word character: the scan lets it through). */
static uint32_t
strip_marks(const char *str, size_t len, char *out, size_t *outlen)
{
	size_t n = 0;
	int before = 0, after = 0;

	for (size_t i = 0; i < len; i++) {
		if (str[i] != MARK)
			out[n++] = str[i];
		else if (n == 0)
			before = 1;
		else
			after = 1;	/* reset below when a byte follows */
		if (str[i] != MARK)
			after = 0;
	}
	*outlen = n;
	if (n == 0)
		return 0;
	return (before && ascii_word((unsigned char)out[0]) ? WB_BEFORE : 0) |
	    (after && ascii_word((unsigned char)out[n - 1]) ? WB_AFTER : 0);
}

static int
grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *p = realloc(*v, nc * size);
	if (p == NULL)
		return -1;
	*v = p;
	*cap = nc;
	return 0;
}

int
prefilter_add(struct prefilter *pf, const char *pattern)
{
	struct reader r = { (const unsigned char *)pattern,
		(const unsigned char *)pattern + strlen(pattern), 0, 0, 0 };
	struct sset s;
	size_t id = pf->n, cap = pf->cap;

	if (pf->lits != NULL)
		return -1;	/* already built */
	if (grow((void **)&pf->always, &cap, id + 1, 1) != 0)
		return -1;
	cap = pf->cap;
	if (grow((void **)&pf->lit0, &cap, id + 1, sizeof(uint32_t)) != 0)
		return -1;
	cap = pf->cap;
	if (grow((void **)&pf->nlit, &cap, id + 1, sizeof(uint32_t)) != 0)
		return -1;
	pf->cap = cap;

	parse_alt(&r, &s);
	if (!r.bail && r.p != r.end)
		r.bail = 1;	/* an unmatched ')' */
	if (!r.bail)
		set_to_req(&s);
	pf->lit0[id] = (uint32_t)pf->nplits;
	pf->nlit[id] = 0;
	pf->always[id] = r.bail || s.kind != K_REQ;
	if (!pf->always[id]) {
		for (int i = 0; i < s.n; i++) {
			char lit[LIT_MAX];
			size_t len;
			uint32_t flags = strip_marks(s.s[i], s.len[i], lit, &len);
			if (!pf->ucp)
				flags = 0;
			if (grow((void **)&pf->plits, &pf->capplits, pf->nplits + 1, sizeof(struct plit)) ||
			    grow((void **)&pf->pool, &pf->cappool, pf->npool + len, 1))
				return -1;
			memcpy(pf->pool + pf->npool, lit, len);
			pf->plits[pf->nplits].off = (uint32_t)pf->npool;
			pf->plits[pf->nplits].len = (uint32_t)len;
			pf->plits[pf->nplits].flags = flags;
			pf->npool += len;
			pf->nplits++;
			pf->nlit[id]++;
		}
	}
	pf->n++;
	return (int)id;
}

struct pair { uint32_t plit, owner; };

static const struct prefilter *sort_pf;	/* for the comparator; build is not reentrant */

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	const struct plit *px = &sort_pf->plits[x->plit], *py = &sort_pf->plits[y->plit];
	uint32_t l = px->len < py->len ? px->len : py->len;
	int c = memcmp(sort_pf->pool + px->off, sort_pf->pool + py->off, l);

	if (c != 0)
		return c;
	if (px->len != py->len)
		return px->len < py->len ? -1 : 1;
	if (px->flags != py->flags)
		return px->flags < py->flags ? -1 : 1;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static uint32_t
bucket2(const unsigned char *s)
{
	return (((uint32_t)s[0] << 8 | s[1]) * 2654435761u) >> (32 - 10);
}

static uint32_t
bucket3(const unsigned char *s)
{
	return (((uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2]) * 2654435761u) >> (32 - 12);
}

static uint32_t
bucket4(const unsigned char *s)
{
	uint32_t v = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];

	return (v * 2654435761u) >> (32 - 14);
}

int
prefilter_build(struct prefilter *pf)
{
	struct pair *pairs = NULL;
	size_t np = 0;

	pf->words = (pf->n + 63) / 64;
	if (pf->words == 0)
		pf->words = 1;
	pf->always_mask = calloc(pf->words, sizeof(uint64_t));
	pairs = calloc(pf->nplits ? pf->nplits : 1, sizeof(*pairs));
	pf->lits = calloc(pf->nplits ? pf->nplits : 1, sizeof(*pf->lits));
	pf->owners = calloc(pf->nplits ? pf->nplits : 1, sizeof(uint32_t));
	if (pf->always_mask == NULL || pairs == NULL || pf->lits == NULL || pf->owners == NULL) {
		free(pairs);
		return -1;
	}
	for (size_t id = 0; id < pf->n; id++) {
		if (pf->always[id])
			pf->always_mask[id >> 6] |= (uint64_t)1 << (id & 63);
		for (uint32_t k = 0; k < pf->nlit[id]; k++) {
			pairs[np].plit = pf->lit0[id] + k;
			pairs[np].owner = (uint32_t)id;
			np++;
		}
	}
	sort_pf = pf;
	qsort(pairs, np, sizeof(*pairs), pair_cmp);
	sort_pf = NULL;
	memset(&pf->any, 0xff, sizeof(pf->any));	/* every head UINT32_MAX */
	memset(&pf->word, 0xff, sizeof(pf->word));
	pf->nlits = 0;
	for (size_t i = 0; i < np; i++) {
		const struct plit *p = &pf->plits[pairs[i].plit];
		struct lit *last = pf->nlits ? &pf->lits[pf->nlits - 1] : NULL;
		if (last != NULL && last->len == p->len && last->flags == p->flags &&
		    memcmp(pf->pool + last->off, pf->pool + p->off, p->len) == 0) {
			if (pf->owners[last->owner0 + last->nowners - 1] != pairs[i].owner)
				pf->owners[last->owner0 + last->nowners++] = pairs[i].owner;
			continue;
		}
		struct lit *l = &pf->lits[pf->nlits++];
		l->off = p->off;
		l->len = p->len;
		l->flags = p->flags;
		l->owner0 = (uint32_t)i;
		l->nowners = 1;
		pf->owners[i] = pairs[i].owner;
	}
	/* owners of one literal are contiguous from owner0: the pairs were sorted by literal */
	for (size_t i = pf->nlits; i-- > 0;) {
		struct lit *l = &pf->lits[i];
		const unsigned char *s = (const unsigned char *)pf->pool + l->off;
		struct index *x = (l->flags & WB_BEFORE) ? &pf->word : &pf->any;
		uint32_t *h = l->len == 1 ? &x->single[s[0]] :
		    l->len == 2 ? &x->head2[bucket2(s)] : l->len == 3 ? &x->head3[bucket3(s)] :
		    &x->head4[bucket4(s)];
		l->next = *h;
		*h = (uint32_t)i;
	}
	free(pairs);
	return 0;
}

size_t
prefilter_count(const struct prefilter *pf)
{
	return pf->n;
}

size_t
prefilter_words(const struct prefilter *pf)
{
	return pf->words;
}

int
prefilter_always(const struct prefilter *pf, size_t id)
{
	return id < pf->n ? pf->always[id] : 1;
}

void
prefilter_describe(const struct prefilter *pf, size_t id, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (id >= pf->n)
		return;
	for (uint32_t k = 0; k < pf->nlit[id]; k++) {
		const struct plit *p = &pf->plits[pf->lit0[id] + k];
		if (o + p->len + 6 > size)
			break;
		if (k > 0)
			buf[o++] = '|';
		if (p->flags & WB_BEFORE)
			o += (size_t)snprintf(buf + o, size - o, "\\b");
		memcpy(buf + o, pf->pool + p->off, p->len);
		o += p->len;
		if (p->flags & WB_AFTER)
			o += (size_t)snprintf(buf + o, size - o, "\\b");
		buf[o] = '\0';
	}
}

static void
mark(const struct prefilter *pf, const struct lit *l, uint64_t *hits)
{
	for (uint32_t k = 0; k < l->nowners; k++) {
		uint32_t id = pf->owners[l->owner0 + k];
		hits[id >> 6] |= (uint64_t)1 << (id & 63);
	}
}

/* 1 when literal l found at t[i] may be where its pattern matches: no ASCII word character
 * on a side its pattern bounds by \b. */
static int
bounded(const struct lit *l, const unsigned char *t, size_t i, size_t n)
{
	if ((l->flags & WB_BEFORE) && i > 0 && ascii_word(t[i - 1]))
		return 0;
	if ((l->flags & WB_AFTER) && i + l->len < n && ascii_word(t[i + l->len]))
		return 0;
	return 1;
}

/* Marks the owners of the literals of x found at t[i]. */
static void
scan_at(const struct prefilter *pf, const struct index *x, const unsigned char *t, size_t i,
    size_t n, uint64_t *hits)
{
	for (uint32_t k = x->single[t[i]]; k != UINT32_MAX; k = pf->lits[k].next)
		if (bounded(&pf->lits[k], t, i, n))
			mark(pf, &pf->lits[k], hits);
	if (i + 1 == n)
		return;
	for (uint32_t k = x->head2[bucket2(t + i)]; k != UINT32_MAX; k = pf->lits[k].next) {
		const unsigned char *s = (const unsigned char *)pf->pool + pf->lits[k].off;
		if (s[0] == t[i] && s[1] == t[i + 1] && bounded(&pf->lits[k], t, i, n))
			mark(pf, &pf->lits[k], hits);
	}
	if (i + 2 == n)
		return;
	for (uint32_t k = x->head3[bucket3(t + i)]; k != UINT32_MAX; k = pf->lits[k].next) {
		const unsigned char *s = (const unsigned char *)pf->pool + pf->lits[k].off;
		if (s[0] == t[i] && s[1] == t[i + 1] && s[2] == t[i + 2] &&
		    bounded(&pf->lits[k], t, i, n))
			mark(pf, &pf->lits[k], hits);
	}
	if (i + 3 == n)
		return;
	for (uint32_t k = x->head4[bucket4(t + i)]; k != UINT32_MAX; k = pf->lits[k].next) {
		const struct lit *l = &pf->lits[k];
		const unsigned char *s = (const unsigned char *)pf->pool + l->off;
		if (l->len <= n - i && memcmp(s, t + i, l->len) == 0 && bounded(l, t, i, n))
			mark(pf, l, hits);
	}
}

void
prefilter_scan(const struct prefilter *pf, const char *text, size_t len, uint64_t *hits,
    char *fold)
{
	size_t n = prefilter_fold(text, len, fold);
	const unsigned char *t = (const unsigned char *)fold;

	memcpy(hits, pf->always_mask, pf->words * sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		scan_at(pf, &pf->any, t, i, n, hits);
		if (i == 0 || !ascii_word(t[i - 1]))	/* a word may start here */
			scan_at(pf, &pf->word, t, i, n, hits);
	}
}
