/* train.h - the second opinion's model built with liblinear: L2-regularised logistic
 * regression over featurize.h, classes weighted against their frequency, written as a
 * checksummed model file (guard.h) by an atomic rename. The same inputs and seed give
 * the same file, byte for byte. */
#ifndef ACKBOT_TRAIN_H
#define ACKBOT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "guard.h"

struct intents;
struct store;

/* One labelled mention of a corpus file (JSON lines: {"text", "label", "lang"}). */
struct labelled {
	char *text;
	char *lang;	/* may be NULL */
	int   label;	/* enum guard_class */
	int   line;	/* in its file */
};

/* Reads a corpus file. A line that is not an object with a string "text" and a known
 * "label" is an error "path:line: ..." (blank lines and lines starting with '#' are
 * skipped). Returns 0 or an ACK_* code; *v is freed with labelled_free. */
int  corpus_read(const char *path, struct labelled **v, size_t *n, struct ack_err *err);
void labelled_free(struct labelled *v, size_t n);

struct train_opts {
	char *const *corpus;		/* corpus files */
	size_t ncorpus;
	const struct intents *in;	/* examples of intents with a `class` (may be NULL) */
	struct store *st;		/* staff labels (`handoff resolve --label`), may be NULL */
	uint64_t seed;
	double C;			/* inverse regularisation strength (0: the default, 16) */
	int folds;			/* > 1: also report that many-fold cross-validated accuracy */
	const char *out;		/* model file to write (NULL: train only) */
	int keep;			/* 1: also hand the model back in r->model */
};

struct train_report {
	size_t n, from_corpus, from_examples, from_labels;
	size_t per_class[G_NCLASS];
	double cv_accuracy;		/* -1 unless folds > 1 */
	char version[13];
	struct guard_model *model;	/* with keep: the model trained; the caller owns it */
};

int train_model(const struct train_opts *o, struct train_report *r, struct ack_err *err);

struct config;

/* The second opinion for in (in->guard): the configured model file, or, when it does not
 * exist yet, one trained from the configured corpus, the intents' examples and st's staff
 * labels (st may be NULL) and written there (with write = 1; else kept in memory only).
 * *trained says which. guard.enabled: false leaves in->guard NULL. */
int train_ensure(const struct config *c, struct intents *in, struct store *st, int write,
    int *trained, struct ack_err *err);

#endif
