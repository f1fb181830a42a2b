/* featurize.c - hashed words, word pairs and character n-grams of a mention's text. */
#include "featurize.h"
#include "text.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <utf8proc.h>

enum { T_WORD = 1, T_PAIR = 2, T_GRAM = 3, T_ONE = 4 };

struct tok {
	size_t at, len;		/* in the folded code points */
};

static uint32_t
hash_cps(int type, const int32_t *cp, size_t n, const int32_t *cp2, size_t n2)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)type;	/* FNV-1a over 32-bit units */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint32_t)cp[i]) * 1099511628211ULL;
	if (cp2 != NULL) {
		h = (h ^ 0x20) * 1099511628211ULL;
		for (size_t i = 0; i < n2; i++)
			h = (h ^ (uint32_t)cp2[i]) * 1099511628211ULL;
	}
	h ^= h >> 29;
	return (uint32_t)(h % FEATURES_DIM) + 1;
}

static int
is_wordish(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);

	return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
	    (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) ||
	    (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO) || c == '\'';
}

static int
is_cjk(int32_t c)
{
	return (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) ||
	    (c >= 0xac00 && c <= 0xd7af) || (c >= 0xff66 && c <= 0xff9f);
}

static int
push(struct features *f, uint32_t idx)
{
	if (f->n + 2 >= f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 512;
		struct feature_node *x = realloc(f->x, cap * sizeof(*x));
		if (x == NULL)
			return -1;
		f->x = x;
		f->cap = cap;
	}
	f->x[f->n].index = (int)idx;
	f->x[f->n].value = 1;
	f->n++;
	return 0;
}

/* Sorts the indices (1..FEATURES_DIM, 17 bits at most) by two byte-wise counting passes
 * and a last one for the top bit: linear in the number of features. */
static int
sort_nodes(struct features *f)
{
	struct feature_node *tmp = malloc(f->n * sizeof(*tmp) + 1), *a = f->x, *b = tmp;
	size_t count[256];

	if (f->n == 0) {
		free(tmp);
		return 0;
	}
	if (tmp == NULL)
		return -1;
	for (int shift = 0; shift < 24; shift += 8) {
		size_t sum = 0;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < f->n; i++)
			count[((unsigned)a[i].index >> shift) & 0xff]++;
		for (int k = 0; k < 256; k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < f->n; i++)
			b[count[((unsigned)a[i].index >> shift) & 0xff]++] = a[i];
		struct feature_node *t = a;
		a = b;
		b = t;
	}
	if (a != f->x)	/* three passes: the sorted run is in tmp */
		memcpy(f->x, a, f->n * sizeof(*a));
	free(tmp);
	return 0;
}

/* Folds s into code points: case and accents folded, digits 0, a link "<url>" token, an
 * @handle "@" alone, white space runs one space. Returns the count, or (size_t)-1 when
 * out of memory. */
static size_t
fold(const char *text, int32_t *out, size_t max)
{
	utf8proc_uint8_t *f = NULL;
	utf8proc_ssize_t len;
	size_t n = 0, i = 0;
	int space = 1;
	char *valid = text_nfc(text, strlen(text));	/* an invalid byte: U+FFFD, that alone */

	if (valid == NULL)
		return (size_t)-1;
	len = utf8proc_map((const utf8proc_uint8_t *)valid, 0, &f, UTF8PROC_NULLTERM |
	    UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
	    UTF8PROC_IGNORE);
	free(valid);
	if (len < 0)	/* valid UTF-8 by now: only memory can fail */
		return (size_t)-1;
	while (i < (size_t)len && n < max) {
		int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(f + i, len - (utf8proc_ssize_t)i, &c);
		if (k <= 0) {
			i++;
			continue;
		}
		if ((c == 'h' && strncmp((char *)f + i, "http", 4) == 0) ||
		    (c == 'w' && strncmp((char *)f + i, "www.", 4) == 0)) {
			static const int32_t url[] = { '<', 'u', 'r', 'l', '>' };
			while (i < (size_t)len && f[i] != ' ' && f[i] != '\n' && f[i] != '\t')
				i++;
			if (n + 7 > max)
				break;
			if (!space)
				out[n++] = ' ';
			memcpy(out + n, url, sizeof(url));
			n += 5;
			out[n++] = ' ';
			space = 1;
			continue;
		}
		i += (size_t)k;
		if (c == '@' && i < (size_t)len && f[i] != ' ') {
			while (i < (size_t)len && (isalnum(f[i]) || f[i] == '_' || f[i] == '.' ||
			    f[i] == '@'))
				i++;
			out[n++] = '@';
			space = 0;
			continue;
		}
		if (utf8proc_category(c) == UTF8PROC_CATEGORY_ZS || c == '\n' || c == '\t' ||
		    c == '\r') {
			if (!space)
				out[n++] = ' ';
			space = 1;
			continue;
		}
		if (c == 0xfe0f || c == 0x200d)
			continue;	/* emoji presentation selectors, joiners */
		if (utf8proc_category(c) == UTF8PROC_CATEGORY_ND)
			c = '0';
		out[n++] = c;
		space = 0;
	}
	free(f);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	return n;
}

int
features_of(struct features *f, const char *text, double bias)
{
	int32_t cp[FEATURES_MAX_CP + 8];
	struct tok w[FEATURES_MAX_CP / 2 + 2];
	size_t n, nw = 0, out = 0;
	double norm = 0;

	f->n = 0;
	if ((n = fold(text ? text : "", cp, FEATURES_MAX_CP)) == (size_t)-1)
		return -1;
	/* tokens: runs of word characters; any other non-space character alone */
	for (size_t i = 0; i < n && nw < sizeof(w) / sizeof(w[0]);) {
		size_t j = i;
		if (cp[i] == ' ') {
			i++;
			continue;
		}
		if (cp[i] == '<' && i + 4 < n && cp[i + 4] == '>')
			j = i + 5;	/* <url> */
		else if (is_wordish(cp[i]) && !is_cjk(cp[i]))
			while (j < n && is_wordish(cp[j]) && !is_cjk(cp[j]))
				j++;
		else
			j = i + 1;
		w[nw].at = i;
		w[nw].len = j - i;
		nw++;
		i = j;
	}
	for (size_t i = 0; i < nw; i++) {
		if (push(f, hash_cps(T_WORD, cp + w[i].at, w[i].len, NULL, 0)) != 0)
			return -1;
		if (i + 1 < nw && push(f, hash_cps(T_PAIR, cp + w[i].at, w[i].len,
		    cp + w[i + 1].at, w[i + 1].len)) != 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (cp[i] != ' ' && !is_wordish(cp[i]) && push(f, hash_cps(T_ONE, cp + i, 1,
		    NULL, 0)) != 0)
			return -1;
		if (is_cjk(cp[i]) && push(f, hash_cps(T_ONE, cp + i, 1, NULL, 0)) != 0)
			return -1;
		for (size_t g = 2; g <= 4 && i + g <= n; g++)
			if (push(f, hash_cps(T_GRAM, cp + i, g, NULL, 0)) != 0)
				return -1;
	}
	/* merge: sorted, counted, log-scaled, unit length */
	if (sort_nodes(f) != 0)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		if (out > 0 && f->x[out - 1].index == f->x[i].index) {
			f->x[out - 1].value += 1;
			continue;
		}
		f->x[out++] = f->x[i];
	}
	f->n = out;
	for (size_t i = 0; i < f->n; i++) {
		f->x[i].value = 1 + log(f->x[i].value);
		norm += f->x[i].value * f->x[i].value;
	}
	norm = norm > 0 ? 1 / sqrt(norm) : 0;
	for (size_t i = 0; i < f->n; i++)
		f->x[i].value *= norm;
	if (push(f, 0) != 0)
		return -1;
	f->n--;
	if (bias >= 0) {
		f->x[f->n].index = (int)FEATURES_DIM + 1;
		f->x[f->n].value = bias;
		f->n++;
	}
	f->x[f->n].index = -1;
	f->x[f->n].value = 0;
	return 0;
}

void
features_free(struct features *f)
{
	free(f->x);
	f->x = NULL;
	f->n = f->cap = 0;
}
