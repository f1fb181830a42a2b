/* eval.h - `ackbot eval`: the whole decision (patterns, entities, language, guard) over
 * labelled mentions, against the targets a care bot must meet. */
#ifndef ACKBOT_EVAL_H
#define ACKBOT_EVAL_H

#include <stdio.h>

struct config;
struct intents;

struct eval_opts {
	const char *source;	/* the source name mentions seem to come from ("webhook") */
	int with_lang;		/* pass each line's lang as the platform's (default: detect) */
	int as_json;
	size_t show;		/* examples listed per failure kind (20) */
};

/* Runs every line of path; prints the report to out. Returns 0 when every target is met,
 * 1 when one is missed, 2 when path cannot be read (the error on stderr). */
int eval_run(const struct config *c, const struct intents *in, const char *path,
    const struct eval_opts *o, FILE *out);

#endif
