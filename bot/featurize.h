/* featurize.h - a mention's text as the second opinion's model sees it: case- and
 * accent-folded, digits as 0, links and handles as one token each, then hashed words,
 * word pairs and character n-grams (2 to 4; single ones for emoji and CJK), counted,
 * log-scaled and L2-normalised into liblinear feature nodes. */
#ifndef ACKBOT_FEATURIZE_H
#define ACKBOT_FEATURIZE_H

#include <stddef.h>
#include <linear.h>

#define FEATURES_BITS 16			/* 2^16 hashed features */
#define FEATURES_DIM  (1u << FEATURES_BITS)
#define FEATURES_MAX_CP 1000			/* longer texts: the first 1,000 characters */

struct features {
	struct feature_node *x;	/* index 1..FEATURES_DIM ascending, then the bias node (if
				 * bias >= 0), then index -1 */
	size_t n, cap;		/* nodes before the terminator */
};

/* Fills f from text (any UTF-8; invalid bytes are skipped). bias < 0: no bias node,
 * else a node with index FEATURES_DIM + 1 and that value. Returns 0 or -1 (no memory).
 * f is reused: its buffer grows, never shrinks; free it with features_free(). */
int  features_of(struct features *f, const char *text, double bias);
void features_free(struct features *f);

#endif
