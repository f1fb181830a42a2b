/* synth.h - a seeded generator of synthetic intents and mentions, for the prefilter's
 * differential test and for `make bench`. Words are pronounceable nonsense from a
 * 4,000-word vocabulary (so no pattern is tuned to them; patterns draw on half of it, mentions
 * mostly on the other half); patterns take the shapes real
 * intents use (alternations, stems with suffixes, optional words, gaps, captures, classes,
 * a few with no literal at all); mentions are about 280 characters of vocabulary words,
 * punctuation, digits, emoji, upper case and Unicode case variants. */
#ifndef ACKBOT_SYNTH_H
#define ACKBOT_SYNTH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SYNTH_VOCAB 4000

struct synth {
	uint64_t s;
	char words[SYNTH_VOCAB][16];
};

static inline uint64_t
synth_next(struct synth *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline unsigned
synth_below(struct synth *g, unsigned n)
{
	return (unsigned)(synth_next(g) % n);
}

static inline void
synth_init(struct synth *g, uint64_t seed)
{
	static const char *const on[] = { "b", "k", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t",
		"v", "z", "br", "st", "tr", "pl", "gr", "ch", "sh", "fl" };
	static const char *const nu[] = { "a", "e", "i", "o", "u", "ai", "ou", "ee", "é", "ö" };

	g->s = seed;
	for (int w = 0; w < SYNTH_VOCAB; w++) {
		char *p = g->words[w];
		int syl = 2 + (int)synth_below(g, 2);
		p[0] = '\0';
		for (int i = 0; i < syl; i++) {
			strcat(p, on[synth_below(g, sizeof(on) / sizeof(on[0]))]);
			strcat(p, nu[synth_below(g, sizeof(nu) / sizeof(nu[0]))]);
		}
		if (synth_below(g, 3) == 0)
			strcat(p, synth_below(g, 2) ? "n" : "r");
	}
}

/* Patterns use the first half of the vocabulary; mentions are mostly the other half (the
 * words no pattern cares about) with one word in ten from the first. */
static inline const char *
synth_word(struct synth *g)
{
	return g->words[synth_below(g, SYNTH_VOCAB / 2)];
}

static inline const char *
synth_filler(struct synth *g)
{
	if (synth_below(g, 10) == 0)
		return synth_word(g);
	return g->words[SYNTH_VOCAB / 2 + synth_below(g, SYNTH_VOCAB / 2)];
}

/* One pattern (single-quoted YAML safe: no ' in it) into buf. */
static inline void
synth_pattern(struct synth *g, char *buf, size_t size)
{
	const char *a = synth_word(g), *b = synth_word(g), *c = synth_word(g), *d = synth_word(g);

	switch (synth_below(g, 12)) {
	case 0: snprintf(buf, size, "\\b(?:%s|%s|%s)\\s+%s\\b", a, b, c, d); break;
	case 1: snprintf(buf, size, "\\b%s\\w*\\s+(?:%s|%s)s?\\b", a, b, c); break;
	case 2: snprintf(buf, size, "\\b%s\\b.{0,20}\\b%s\\b", a, b); break;
	case 3: snprintf(buf, size, "(?<ref>#?[A-Z]{1,2}\\d{4,8})\\s+%s", a); break;
	case 4: snprintf(buf, size, "\\b%s(?:ing|ed|s)?\\b", a); break;
	case 5: snprintf(buf, size, "%s\\s*[-,]\\s*(?:%s|%s)+", a, b, c); break;
	case 6: snprintf(buf, size, "\\b(?:%s\\s+)?%s\\s+%s\\b", a, b, c); break;
	case 7: snprintf(buf, size, "(?:^|\\s)%s(?:!+|\\?+)", a); break;
	case 8: snprintf(buf, size, "\\b%s[ée]?%s\\b|\\b%s\\b", a, b, c); break;
	case 9: snprintf(buf, size, "(?:\xf0\x9f\x98\xa1|\xf0\x9f\x91\x8e)\\s*%s|%s\\s*(?:\xf0\x9f\x98\xa1|\xf0\x9f\x91\x8e)", a, b); break;
	case 10: snprintf(buf, size, "\\b%s\\s+(?!%s)\\w+\\s+%s", a, b, c); break;
	default:
		if (synth_below(g, 4) == 0)	/* a few have no literal at all */
			snprintf(buf, size, "\\b\\d{5,}\\b\\s+\\w+");
		else
			snprintf(buf, size, "\\b%s\\b", a);
	}
}

/* Writes an intents file with npatterns patterns, 8 per intent, a few excludes. */
static inline void
synth_intents(struct synth *g, FILE *f, int npatterns)
{
	char buf[256];

	fputs("intents:\n", f);
	for (int i = 0; i < npatterns; i += 8) {
		fprintf(f, "  - name: synth_%d\n    priority: %d\n    patterns:\n", i / 8, 100 + i / 8);
		for (int k = i; k < npatterns && k < i + 8; k++) {
			synth_pattern(g, buf, sizeof(buf));
			fprintf(f, "      - '%s'\n", buf);
		}
		if (synth_below(g, 3) == 0) {
			synth_pattern(g, buf, sizeof(buf));
			fprintf(f, "    exclude: ['%s']\n", buf);
		}
		fputs("    reply: 'ok'\n", f);
	}
}

/* A mention of about target bytes into buf. */
static inline void
synth_mention(struct synth *g, char *buf, size_t size, size_t target)
{
	static const char *const extra[] = { " #A12345", "!", "?", " 😡", " 👎", " 🙏", "…", ",",
		" 2026-11-24", " @someone", " 12345678", " KEVIN", " ſtop", " ΣΟΦΙΑ" };
	size_t n = 0;

	buf[0] = '\0';
	while (n + 40 < size && n < target) {
		const char *w = synth_filler(g);
		char tmp[64];
		unsigned r = synth_below(g, 20);
		if (r == 0) {
			snprintf(tmp, sizeof(tmp), "%s", extra[synth_below(g, sizeof(extra) / sizeof(extra[0]))]);
		} else if (r == 1) {	/* upper case */
			size_t k = 0;
			tmp[k++] = ' ';
			for (const char *p = w; *p && k < sizeof(tmp) - 1; p++)
				tmp[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
			tmp[k] = '\0';
		} else if (r == 2) {	/* a Kelvin sign or long s where k / s was */
			size_t k = 0;
			tmp[k++] = ' ';
			for (const char *p = w; *p && k < sizeof(tmp) - 4; p++) {
				if (*p == 'k') { memcpy(tmp + k, "\xe2\x84\xaa", 3); k += 3; }
				else if (*p == 's') { memcpy(tmp + k, "\xc5\xbf", 2); k += 2; }
				else tmp[k++] = *p;
			}
			tmp[k] = '\0';
		} else {
			snprintf(tmp, sizeof(tmp), " %s", w);
		}
		size_t l = strlen(tmp);
		if (n + l + 1 >= size)
			break;
		memcpy(buf + n, tmp, l + 1);
		n += l;
	}
}

#endif
