/* text.c - Unicode text helpers on utf8proc: NFC, the text intents see, neutralised
 * captures, grapheme counting and grapheme-safe truncation. */
#include "text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#include "langcodes.h"

#define GAP (-2)	/* a removed span in a code point buffer */

struct cps {
	int32_t *v;
	size_t n, cap;
};

static int
cps_push(struct cps *c, int32_t cp)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		int32_t *v = realloc(c->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = cp;
	return 0;
}

/* Decodes s[0..len): invalid sequences become U+FFFD, NUL bytes are dropped. */
static int
decode(const char *s, size_t len, struct cps *out)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {
			cp = 0xFFFD;
			n = 1;
		}
		i += (size_t)n;
		if (cp == 0)
			continue;
		if (cps_push(out, cp) != 0) {
			free(out->v);
			return -1;
		}
	}
	return 0;
}

static char *
encode(const int32_t *v, size_t n)
{
	char *s = malloc(n * 4 + 1), *p = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 0)
			p += utf8proc_encode_char(v[i], (utf8proc_uint8_t *)p);
	*p = '\0';
	return s;
}

int
text_is_valid_utf8(const char *s, size_t len)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t i = 0;

	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0 || cp == 0)
			return 0;
		i += (size_t)n;
	}
	return 1;
}

static char *
nfc_cps(const int32_t *v, size_t n)
{
	char *raw = encode(v, n), *out;
	size_t i;

	if (raw == NULL)
		return NULL;
	/* below U+0300 (where combining marks begin) every character is already NFC and none
	 * composes with a neighbour: most text needs no normalisation pass */
	for (i = 0; i < n && v[i] < 0x300; i++)
		;
	if (i == n)
		return raw;
	out = (char *)utf8proc_NFC((const utf8proc_uint8_t *)raw);
	free(raw);
	return out;
}

char *
text_nfc(const char *s, size_t len)
{
	struct cps c;
	char *out;

	if (decode(s, len, &c) != 0)
		return NULL;
	out = nfc_cps(c.v, c.n);
	free(c.v);
	return out;
}

static int
is_space(int32_t cp)
{
	if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f')
		return 1;
	if (cp < 0x80)
		return 0;
	utf8proc_category_t cat = utf8proc_category(cp);
	return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
	    cat == UTF8PROC_CATEGORY_ZP || cp == 0x85;
}

static int
is_word(int32_t cp)
{
	if (cp < 0)
		return 0;
	if (cp < 0x80)
		return isalnum(cp) || cp == '_';
	utf8proc_category_t cat = utf8proc_category(cp);
	return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
	    (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) ||
	    (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME);
}

static int
is_handle_char(int32_t cp)
{
	return cp >= 0 && cp < 0x80 && (isalnum(cp) || cp == '_');
}

static int
is_domain_char(int32_t cp)
{
	return cp >= 0 && cp < 0x80 && (isalnum(cp) || cp == '-' || cp == '.');
}

/* Brackets and quotes a link is often written inside. */
static int
is_wrap_punct(int32_t cp)
{
	static const int32_t set[] = { '(', ')', '[', ']', '{', '}', '<', '>', '"', '\'', '`',
	    '*', '_', 0x2018, 0x2019, 0x201C, 0x201D, 0x201E, 0x00AB, 0x00BB, 0x2039, 0x203A,
	    0x300C, 0x300D, 0x300E, 0x300F, 0xFF08, 0xFF09 };

	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (cp == set[i])
			return 1;
	return 0;
}

static int
lower_ascii(int32_t cp)
{
	return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
}

/* Does v[i..] start with the ASCII word w, case-insensitively? */
static int
starts_with(const int32_t *v, size_t n, size_t i, const char *w)
{
	for (; *w; w++, i++)
		if (i >= n || lower_ascii(v[i]) != (unsigned char)*w)
			return 0;
	return 1;
}

/* Length of an own-handle mention at v[i] ('@' there), or 0. */
static size_t
own_handle_len(const int32_t *v, size_t n, size_t i, const char *const *handles, size_t nh)
{
	size_t j = i + 1, k;

	if (i > 0 && (is_word(v[i - 1]) || v[i - 1] == '@'))
		return 0;
	while (j < n && is_handle_char(v[j]))
		j++;
	if (j == i + 1)
		return 0;
	for (k = 0; k < nh; k++) {
		const char *h = handles[k];
		size_t hl;
		if (*h == '@')
			h++;
		hl = strlen(h);
		if (hl == j - i - 1) {
			size_t m = 0;
			while (m < hl && lower_ascii(v[i + 1 + m]) == tolower((unsigned char)h[m]))
				m++;
			if (m == hl)
				break;
		}
	}
	if (k == nh)
		return 0;
	/* "@brand@host.example": the domain goes too (not a trailing dot) */
	if (j < n && v[j] == '@' && j + 1 < n && is_domain_char(v[j + 1])) {
		size_t e = j + 1;
		while (e < n && is_domain_char(v[e]))
			e++;
		while (e > j + 1 && (v[e - 1] == '.' || v[e - 1] == '-'))
			e--;
		j = e;
	}
	return j - i;
}

/* Length of a URL at v[i], or 0. */
static size_t
url_len(const int32_t *v, size_t n, size_t i)
{
	size_t j;

	if (i > 0 && is_word(v[i - 1]))
		return 0;
	if (!starts_with(v, n, i, "http://") && !starts_with(v, n, i, "https://") &&
	    !starts_with(v, n, i, "www."))
		return 0;
	for (j = i; j < n && !is_space(v[j]); j++)
		;
	return j - i;
}

/* Emits v without GAP markers: white space touching a gap folds to one space; trims. */
static char *
fold_gaps(const int32_t *v, size_t n)
{
	struct cps o;
	size_t i = 0;
	char *s;

	memset(&o, 0, sizeof(o));
	while (i < n) {
		if (v[i] == GAP) {
			while (o.n > 0 && is_space(o.v[o.n - 1]))
				o.n--;
			while (i < n && (v[i] == GAP || is_space(v[i])))
				i++;
			if (o.n > 0 && i < n && cps_push(&o, ' ') != 0)
				goto oom;
			continue;
		}
		if (cps_push(&o, v[i++]) != 0)
			goto oom;
	}
	{
		size_t a = 0, b = o.n;
		while (a < b && is_space(o.v[a]))
			a++;
		while (b > a && is_space(o.v[b - 1]))
			b--;
		s = nfc_cps(o.v + a, b - a);
	}
	free(o.v);
	return s;
oom:
	free(o.v);
	return NULL;
}

/* s[0..len) in NFC, as code points. */
static int
decode_nfc(const char *s, size_t len, struct cps *out)
{
	char *nfc = text_nfc(s, len);
	int rc;

	if (nfc == NULL)
		return -1;
	rc = decode(nfc, strlen(nfc), out);
	free(nfc);
	return rc;
}

char *
text_for_matching(const char *s, size_t len, const char *const *handles, size_t nhandles)
{
	struct cps c;
	char *out;
	size_t i;

	if (decode_nfc(s, len, &c) != 0)
		return NULL;
	for (i = 0; i < c.n;) {
		size_t k = 0;
		if (c.v[i] == '@')
			k = own_handle_len(c.v, c.n, i, handles, nhandles);
		else if (c.v[i] == 'h' || c.v[i] == 'H' || c.v[i] == 'w' || c.v[i] == 'W')
			k = url_len(c.v, c.n, i);
		if (k == 0) {
			i++;
			continue;
		}
		for (size_t j = i; j < i + k; j++)
			c.v[j] = GAP;
		i += k;
	}
	out = fold_gaps(c.v, c.n);
	free(c.v);
	return out;
}

static int
drop_char(const int32_t *v, size_t n, size_t i)
{
	int32_t cp = v[i];

	if (cp == 0x200D)	/* ZWJ: keep it inside emoji sequences only */
		return !(i > 0 && i + 1 < n && v[i - 1] >= 0x2000 && v[i + 1] >= 0x2000);
	if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
	    (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF)
		return 1;
	if (cp < 0x80)
		return strchr("<>[]*~`\\", (int)cp) != NULL && cp != 0;
	utf8proc_category_t cat = utf8proc_category(cp);
	return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
	    cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO;
}

/* A whitespace-delimited token that is a link or a bare domain. */
static int
is_linkish(const int32_t *v, size_t a, size_t b)
{
	size_t end = b, dot = (size_t)-1, slash = b, letters = 0, label = 0;

	while (a < b && is_wrap_punct(v[a]))	/* "(evil.example)", «evil.example» */
		a++;
	if (starts_with(v, b, a, "www."))
		return 1;
	for (size_t i = a; i + 2 < b; i++)
		if (v[i] == ':' && v[i + 1] == '/' && v[i + 2] == '/')
			return 1;
	while (end > a && (v[end - 1] == '.' || v[end - 1] == ',' || v[end - 1] == '!' ||
	    v[end - 1] == '?' || v[end - 1] == ';' || v[end - 1] == ':' ||
	    is_wrap_punct(v[end - 1])))
		end--;
	for (size_t i = a; i < end; i++)
		if (v[i] == '/') {
			slash = i;
			break;
		}
	if (slash > end)
		slash = end;
	for (size_t i = a; i < slash; i++)
		if (v[i] == '.')
			dot = i;
	if (dot == (size_t)-1 || dot == a)
		return 0;
	for (size_t i = dot + 1; i < slash; i++) {
		if (v[i] >= 0x80 || !isalpha(v[i]))
			return 0;
		letters++;
	}
	for (size_t i = dot; i > a && v[i - 1] != '.'; i--) {
		if (!(v[i - 1] < 0x80 && (isalnum(v[i - 1]) || v[i - 1] == '-')))
			return 0;
		label++;
	}
	return letters >= 2 && label >= 2;
}

/* Luhn's check over the digits of s. */
static int
luhn_ok(const char *s)
{
	int sum = 0, dbl = 0;

	for (const char *q = s + strlen(s); q-- > s;) {
		int d;
		if (*q < '0' || *q > '9')
			continue;
		d = *q - '0';
		if (dbl && (d *= 2) > 9)
			d -= 9;
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

static int looks_personal(const char *s, int id);

int
text_looks_personal(const char *s)
{
	return looks_personal(s, 0);
}

int
text_id_looks_personal(const char *s)
{
	return looks_personal(s, 1);
}

static int
looks_personal(const char *s, int id)
{
	size_t digits = 0, other = 0, run = 0, best = 0;
	const char *at;

	if (s == NULL)
		return 0;
	if ((at = strchr(s, '@')) != NULL && at > s && strchr(at, '.') != NULL)
		return 1;	/* name@host.example */
	for (const char *q = s; *q; q++) {
		if (*q >= '0' && *q <= '9') {
			digits++;
			run++;
			best = run > best ? run : best;
		} else if (*q == ' ' || *q == '-' || *q == '.' || *q == '(' || *q == ')' ||
		    *q == '+' || *q == '/') {
			;	/* separators inside a number */
		} else {
			other++;
			run = 0;
		}
	}
	if (other > 0)
		return 0;	/* letters: an order or tracking number, not a phone or a card */
	if (digits >= 13 && digits <= 19 && luhn_ok(s))
		return 1;	/* a card number */
	if (id)		/* "4417-2291", "100238871": an id unless written the way phones are */
		return digits >= 7 && (s[0] == '+' || strncmp(s, "00", 2) == 0 ||
		    strchr(s, ' ') || strchr(s, '(') || strchr(s, '/'));
	return digits >= 7 && (s[0] == '+' || s[0] == '0' || strchr(s, ' ') || strchr(s, '(') ||
	    strchr(s, '-') || digits >= 10);
}

size_t
text_link_hosts(const char *s, void (*fn)(const char *host, void *arg), void *arg)
{
	struct cps c;
	size_t i = 0, links = 0;

	if (decode(s ? s : "", s ? strlen(s) : 0, &c) != 0)
		return 0;
	while (i < c.n) {
		size_t a, b, h, e;
		char host[256];
		int email = 0;
		while (i < c.n && (is_space(c.v[i]) || is_wrap_punct(c.v[i])))
			i++;
		a = i;
		while (i < c.n && !is_space(c.v[i]))
			i++;
		b = i;
		if (a == b || !is_linkish(c.v, a, b))
			continue;
		h = a;
		for (size_t j = a; j + 2 < b; j++)
			if (c.v[j] == ':' && c.v[j + 1] == '/' && c.v[j + 2] == '/') {
				h = j + 3;
				break;
			}
		for (size_t j = h; j < b && c.v[j] != '/' && c.v[j] != '\\' && c.v[j] != '?' &&
		    c.v[j] != '#'; j++)	/* browsers read '\\' as '/' */
			if (c.v[j] == '@') {
				email = 1;	/* name@host.example: an address, not a link */
				if (h != a) {	/* scheme://user@host: the host is after the '@' */
					h = j + 1;
					email = 0;
				}
			}
		if (email)
			continue;
		for (e = 0; h < b && e + 1 < sizeof(host) && is_domain_char(c.v[h]); h++)
			host[e++] = (char)lower_ascii(c.v[h]);
		while (e > 0 && host[e - 1] == '.')
			e--;
		host[e] = '\0';
		if (e == 0)
			continue;
		links++;
		if (fn != NULL)
			fn(host, arg);
	}
	free(c.v);
	return links;
}

char *
text_neutralize(const char *s, size_t max_graphemes)
{
	struct cps c, o;
	char *out;
	size_t i = 0;

	if (decode_nfc(s ? s : "", s ? strlen(s) : 0, &c) != 0)
		return NULL;
	memset(&o, 0, sizeof(o));
	/* first: control/format/markup characters out, '@' defused, white space unified */
	for (i = 0; i < c.n; i++) {
		int32_t cp = c.v[i];
		if (is_space(cp) || (cp < 0x80 && cp > 0 && strchr("<>[]*~`\\", (int)cp)))
			cp = ' ';	/* markup splits words: "[click](http://x)" -> "click" */
		else if (drop_char(c.v, c.n, i))
			continue;
		else if (cp == '@' || cp == 0xFE6B)
			cp = 0xFF20;
		if (cps_push(&o, cp) != 0)
			goto oom;
	}
	/* then: links and bare domains out, token by token; white space folded */
	c.n = 0;
	for (i = 0; i < o.n;) {
		size_t a, b;
		while (i < o.n && o.v[i] == ' ')
			i++;
		a = i;
		while (i < o.n && o.v[i] != ' ')
			i++;
		b = i;
		if (a == b || is_linkish(o.v, a, b))
			continue;
		if (c.n > 0 && cps_push(&c, ' ') != 0)
			goto oom;
		for (size_t j = a; j < b; j++)
			if (cps_push(&c, o.v[j]) != 0)
				goto oom;
	}
	out = encode(c.v, c.n);
	free(c.v);
	free(o.v);
	if (out != NULL && max_graphemes > 0)
		text_truncate(out, max_graphemes, "…");
	return out;
oom:
	free(c.v);
	free(o.v);
	return NULL;
}

/* Walks the extended grapheme clusters of s[0..len): returns the byte offset where cluster
 * number `stop` (1-based) ends, or len; *count gets the clusters seen up to there. */
static size_t
grapheme_walk(const char *s, size_t len, size_t stop, size_t *count)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t prev = -1, cp, state = 0;
	size_t i = 0, seen = 0;

	while (i < len) {
		utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {
			cp = 0xFFFD;
			n = 1;
		}
		if (prev < 0 || utf8proc_grapheme_break_stateful(prev, cp, &state)) {
			if (seen == stop)
				break;
			seen++;
		}
		prev = cp;
		i += (size_t)n;
	}
	if (count != NULL)
		*count = seen;
	return i;
}

size_t
text_graphemes(const char *s)
{
	size_t n;

	grapheme_walk(s, strlen(s), SIZE_MAX, &n);
	return n;
}

void
text_truncate(char *s, size_t max_graphemes, const char *ellipsis)
{
	size_t len, elen, eg, keep, cut;

	if (max_graphemes == 0 || s == NULL || text_graphemes(s) <= max_graphemes)
		return;
	len = strlen(s);
	elen = ellipsis ? strlen(ellipsis) : 0;
	eg = elen ? text_graphemes(ellipsis) : 0;
	keep = max_graphemes > eg ? max_graphemes - eg : 0;
	/* the ellipsis must fit where the cut text was: keep fewer clusters if needed */
	for (;;) {
		cut = keep ? grapheme_walk(s, len, keep, NULL) : 0;
		while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == '\n' || s[cut - 1] == '\t'))
			cut--;
		if (cut + elen <= len || keep == 0)
			break;
		keep--;
	}
	if (cut + elen > len)
		elen = 0;
	memcpy(s + cut, ellipsis ? ellipsis : "", elen);
	s[cut + elen] = '\0';
}

char *
text_lang_primary(const char *lang)
{
	char buf[8];
	size_t n = 0;

	if (lang == NULL)
		return NULL;
	while (lang[n] && lang[n] != '-' && lang[n] != '_' && n < sizeof(buf) - 1) {
		if (!isalpha((unsigned char)lang[n]))
			return NULL;
		buf[n] = (char)tolower((unsigned char)lang[n]);
		n++;
	}
	if (n < 2 || n > 3 || (lang[n] != '\0' && lang[n] != '-' && lang[n] != '_'))
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* "2026-01-02T03:04:05.678Z" (fractions optional) as ms since the epoch; 0 if bad. */
int64_t
text_iso8601_ms(const char *s)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	const char *rest;
	int64_t ms = 0, scale = 100, off = 0;
	int year;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	year = tm.tm_year + 1900;
	if (tm.tm_mday > mdays[tm.tm_mon] || (tm.tm_mon == 1 && tm.tm_mday == 29 &&
	    !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))))
		return 0;	/* 2026-02-30: strptime takes it, timegm would roll it over */
	if (*rest == '.')	/* fractions of a second, as Mastodon writes them */
		for (rest++; isdigit((unsigned char)*rest); rest++, scale /= 10)
			ms += (*rest - '0') * scale;
	/* the zone: Z, or +hh:mm / -hh:mm / +hhmm (RFC 3339); nothing after it */
	if (*rest == 'Z' || *rest == 'z') {
		rest++;
	} else if (*rest == '+' || *rest == '-') {
		int sign = *rest == '-' ? -1 : 1, hh, mm;
		if (!isdigit((unsigned char)rest[1]) || !isdigit((unsigned char)rest[2]))
			return 0;
		hh = (rest[1] - '0') * 10 + (rest[2] - '0');
		rest += 3;
		if (*rest == ':')
			rest++;
		if (!isdigit((unsigned char)rest[0]) || !isdigit((unsigned char)rest[1]))
			return 0;
		mm = (rest[0] - '0') * 10 + (rest[1] - '0');
		rest += 2;
		if (hh > 23 || mm > 59)
			return 0;
		off = sign * (hh * 3600 + mm * 60);
	}
	if (*rest != '\0')
		return 0;
	return ((int64_t)timegm(&tm) - off) * 1000 + ms;
}

static int
alpha_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

static const struct langcode *
lang_code(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(langcodes) / sizeof(langcodes[0]); i++)
		if (n == 2 && strncasecmp(langcodes[i].code, s, 2) == 0)
			return &langcodes[i];
	return NULL;
}

int
text_lang_valid(const char *s)
{
	size_t p, r;

	if (s == NULL)
		return 0;
	p = strcspn(s, "-_");
	if ((p != 2 && p != 3) || !alpha_run(s, p) || (p == 2 && lang_code(s, 2) == NULL))
		return 0;
	if (s[p] == '\0')
		return 1;
	s += p + 1;
	r = strlen(s);
	if (r == 4 || r == 2)
		return alpha_run(s, r);
	return r == 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' &&
	    s[2] >= '0' && s[2] <= '9';
}

const char *
text_lang_suggest(const char *s)
{
	/* country codes and native names people write for a language */
	static const char *const alias[][2] = {
		{ "sp", "es" }, { "jp", "ja" }, { "ge", "de" }, { "gr", "el" }, { "cn", "zh" },
		{ "cz", "cs" }, { "dk", "da" }, { "se", "sv" }, { "ua", "uk" }, { "kr", "ko" },
		{ "vn", "vi" }, { "us", "en" }, { "gb", "en" }, { "eng", "en" }, { "spa", "es" },
		{ "ger", "de" }, { "deu", "de" }, { "fra", "fr" }, { "fre", "fr" }, { "por", "pt" },
		{ "ita", "it" }, { "nld", "nl" }, { "dut", "nl" }, { "pol", "pl" }, { "tur", "tr" },
		{ "jpn", "ja" }, { "deutsch", "de" }, { "espanol", "es" }, { "español", "es" },
		{ "castellano", "es" }, { "francais", "fr" }, { "français", "fr" },
		{ "portugues", "pt" }, { "português", "pt" }, { "italiano", "it" },
		{ "nederlands", "nl" }, { "polski", "pl" }, { "turkce", "tr" }, { "türkçe", "tr" },
		{ "nihongo", "ja" }, { "日本語", "ja" },
	};
	char low[64];
	size_t n = 0, p;

	if (s == NULL)
		return NULL;
	for (; s[n] && n < sizeof(low) - 1; n++)
		low[n] = (char)((s[n] >= 'A' && s[n] <= 'Z') ? s[n] + 32 : s[n]);
	low[n] = '\0';
	p = strcspn(low, "-_");
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(low, alias[i][0]) == 0 || (strlen(alias[i][0]) == p &&
		    strncmp(low, alias[i][0], p) == 0))
			return alias[i][1];
	for (size_t i = 0; i < sizeof(langcodes) / sizeof(langcodes[0]); i++)
		if (strcasecmp(langcodes[i].name, low) == 0)
			return langcodes[i].code;
	if (p == 2 || p == 3) {	/* "en_garbage": the primary subtag alone */
		const struct langcode *lc = lang_code(low, 2);
		if (lc != NULL)
			return lc->code;
	}
	return NULL;
}
