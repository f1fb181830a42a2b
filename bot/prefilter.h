/* prefilter.h - a literal prefilter for a set of PCRE2 patterns.
 *
 * Each pattern is read (as PCRE2 syntax, matched caselessly) for the literals that any match
 * of it must contain: "\bthank\s+you\b" needs "thank"; "(?:refund|money\s+back)" needs
 * "refund" or "money". A scan of a mention marks every pattern whose literals occur in it;
 * only those (and the patterns no literal could be read from) need PCRE2. The reading is
 * conservative: whatever it does not understand marks the pattern "always run", so a pattern
 * the prefilter rules out can never match. Literals and text are compared case-folded
 * (prefilter_fold), a superset of PCRE2's caseless equivalence. */
#ifndef ACKBOT_PREFILTER_H
#define ACKBOT_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

struct prefilter;

/* ucp: the patterns are compiled with PCRE2_UCP (Unicode \w and \b). Without it the scan
 * does not use \b: a non-ASCII letter that folds to ASCII (the Kelvin sign, long s,
 * dotless i) is no word character to PCRE2 but looks like one folded. */
struct prefilter *prefilter_new(int ucp);
void prefilter_free(struct prefilter *pf);	/* NULL-safe */

/* Adds a pattern; ids are given in order from 0. Returns the id, or -1 on allocation
 * failure. A pattern the reader does not understand is added as "always run". */
int prefilter_add(struct prefilter *pf, const char *pattern);

/* Freezes the set and builds the index. 0, or -1 on allocation failure. */
int prefilter_build(struct prefilter *pf);

size_t prefilter_count(const struct prefilter *pf);
/* 1 when pattern id has no literal requirement (it runs on every mention). */
int prefilter_always(const struct prefilter *pf, size_t id);
/* The literal alternatives read from pattern id, joined with '|' into buf (for `check`
 * and tests); "" for an always-run pattern. */
void prefilter_describe(const struct prefilter *pf, size_t id, char *buf, size_t size);

/* Number of uint64_t words a hit set needs. */
size_t prefilter_words(const struct prefilter *pf);

/* Scans text (valid UTF-8) and sets bit id in hits (prefilter_words() words, cleared by the
 * call) for every pattern that may match it. fold is scratch of at least
 * prefilter_fold_size(len) bytes. */
void prefilter_scan(const struct prefilter *pf, const char *text, size_t len, uint64_t *hits,
    char *fold);

static inline int
prefilter_hit(const uint64_t *hits, size_t id)
{
	return (int)((hits[id >> 6] >> (id & 63)) & 1);
}

/* Case folding used on both sides: per code point, lower(upper(c)), which joins every pair
 * of code points PCRE2 matches caselessly. */
size_t prefilter_fold_size(size_t len);
size_t prefilter_fold(const char *s, size_t len, char *out);
int32_t prefilter_fold_cp(int32_t cp);

#endif
