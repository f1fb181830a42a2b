/* guard.h - the second opinion beside the patterns: a logistic-regression model (trained
 * with liblinear, see train.h) over the mention's hashed words and character n-grams, and
 * spam signals (off-platform contact, follower/crypto/giveaway/phishing wording, links
 * outside the allow list, account facts). It never picks a reply; decide.c lets it veto:
 * no thank-you for a problem, no reply to spam, a thank-you for praise no pattern knew. */
#ifndef ACKBOT_GUARD_H
#define ACKBOT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum guard_class {
	G_PRAISE, G_COMPLAINT, G_ORDER_ISSUE, G_REFUND_RETURN, G_QUESTION, G_SAFETY,
	G_LEGAL_PRIVACY, G_SPAM, G_FEATURE_REQUEST, G_NEUTRAL, G_NCLASS
};

extern const char *const guard_class_names[G_NCLASS];	/* "praise", "complaint", ... */
int guard_class_of(const char *name);	/* its enum value, or -1 */
int guard_class_is_problem(int k);	/* complaint, order_issue, refund_return, safety, legal */

/* The model file: "ACKGUARD", u32 format (1), u32 classes, u32 hash bits, u32 examples,
 * u64 seed, f64 bias, the class names (24 bytes each, in weight order), f32 weights
 * feature-major ((2^bits + 1) x classes, the last row the bias), then the SHA-256 of all
 * before it. Little-endian. */
#define GUARD_MAGIC "ACKGUARD"
#define GUARD_FORMAT 1
#define GUARD_NAME_LEN 24
#define GUARD_HEADER (8 + 4 * 4 + 8 + 8 + G_NCLASS * GUARD_NAME_LEN)

struct guard_model;

/* Reads a model file written by train_write_model(): checks its magic, format version,
 * size and SHA-256, so a torn or foreign file is refused whole. */
int  guard_model_load(struct guard_model **out, const char *path, struct ack_err *err);
/* The same from a model file's bytes (name for messages). */
int  guard_model_parse(struct guard_model **out, const unsigned char *buf, size_t len,
    const char *name, struct ack_err *err);
void guard_model_free(struct guard_model *g);	/* NULL-safe */
const char *guard_model_version(const struct guard_model *g);	/* 12 hex digits */
size_t guard_model_trained_on(const struct guard_model *g);	/* training examples */

/* Probabilities of every class (they sum to 1). Returns 0, or ACK_ENOMEM. */
int guard_classify(const struct guard_model *g, const char *text, double p[G_NCLASS],
    struct ack_err *err);

#endif
