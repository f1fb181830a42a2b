/* intents.h - intents: load intents/NN-name.yaml files, compile PCRE2 (caseless, UTF, UCP, JIT),
 * match a mention in priority order (first match wins), run the examples (verify). */
#ifndef ACKBOT_INTENTS_H
#define ACKBOT_INTENTS_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "err.h"

struct config;
struct guard_model;

enum { HANDOFF_URGENT = 1, HANDOFF_HIGH = 2, HANDOFF_NORMAL = 3, HANDOFF_LOW = 4 };
enum { INTENT_ANSWER = 0, INTENT_THANKS = 1 };

struct intent_pattern {
	char *src;		/* the pattern as written */
	char *lang;		/* language the pattern is written for, or NULL */
	void *re;		/* pcre2_code_8 * */
	int   line, col;	/* position of the pattern in its file */
	unsigned pf_id;		/* its id in the intents' prefilter */
};

struct intent_reply {
	char  *lang;		/* NULL: any language */
	char **variants;	/* templates; one is picked per mention, deterministically */
	size_t nvariants;
};

struct intent_example {
	char *text;
	char *lang;		/* may be NULL */
	char *source;		/* may be NULL */
	int   is_supporter;
	int   must_match;	/* 1: the whole set must pick this intent; 0: must not */
	char **cap_names, **cap_values;	/* expected captures (must_match only) */
	size_t ncaps;
	int   line, col;
};

struct intent {
	char  *name;
	int    priority;	/* ascending: lower runs first; ties keep file order */
	char  *file;
	int    line, col;

	struct intent_pattern *patterns;	/* any of them matches ... */
	size_t npatterns;
	struct intent_pattern *excludes;	/* ... and none of these */
	size_t nexcludes;

	char **when_sources;	/* NULL/0: any source */
	size_t nwhen_sources;
	char **when_langs;	/* mention language must be one of these (unknown passes) */
	size_t nwhen_langs;
	int    when_supporter;	/* -1 any, 1 only regular supporters, 0 only others */

	struct intent_reply *replies;	/* none: no reply (spam) */
	size_t nreplies;

	int    kind;		/* INTENT_ANSWER (default) or INTENT_THANKS: only a thank-you
				 * goes out at the lowest priority and is dropped when stale */
	int    handoff;		/* 1: hand off to a person */
	char  *queue;		/* handoff queue ("support" by default) */
	int    handoff_priority;	/* HANDOFF_* */

	struct intent_example *examples;
	size_t nexamples;

	int    guard_class;	/* `class:` the second opinion's class its examples teach
				 * (enum guard_class), -1 none */
};

/* A named extractor run on every mention, whatever intent fires: an entity (order
 * number, tracking number, email, ...; its value is a template variable everywhere and is
 * stored with the handoff) or a spam signal. */
struct intent_entity {
	char  *name;
	struct intent_pattern *patterns;	/* the first that matches gives the value: its
						 * group named like the entity, else the match */
	size_t npatterns;
	int    personal;	/* 1: never put in a public reply, masked in logs */
	int    signal;		/* 1: a spam signal (`signals:`), 0: an entity (`entities:`) */
	char  *file;
	int    line, col;
};

struct intents {
	struct intent *v;	/* sorted by priority, then load order */
	size_t n;
	uint32_t match_limit, depth_limit;
	void *gctx, *mctx;	/* pcre2 general/match contexts */
	void *jit_stack;
	struct intent_entity *entities;	/* `entities:` and `signals:` of every file, load order */
	size_t nentities;
	struct prefilter *pf;	/* required literals of every pattern and exclude */
	struct guard_model *guard;	/* the second opinion loaded with them (guard.h), owned;
					 * NULL: patterns and signals alone */
	int no_prefilter;	/* 1: run every pattern (the reference the prefilter must equal) */
};

/* Loads every intent file named by the config (files, or directories of *.yaml sorted by
 * name). Every problem goes into d with its position; returns NULL when d has errors. */
struct intents *intents_load(const struct config *c, struct diag *d);
void intents_free(struct intents *in);	/* NULL-safe */

struct match_input {
	const char *text;	/* prepared with text_for_matching() */
	const char *source;	/* source name, for `when.source` */
	const char *lang;	/* primary language of the mention, or NULL */
	int is_supporter;
};

struct match_capture {
	char *name;
	char *value;
	int   personal;	/* an entity marked personal: never in a public reply */
	int   signal;	/* a spam signal that fired (value: the text it saw) */
};

struct match_result {
	const struct intent *intent;	/* NULL: nothing matched */
	int    pattern_index;		/* index into intent->patterns */
	const char *pattern_lang;	/* the matching pattern's language, or NULL */
	struct match_capture *caps;	/* named groups that took part in the match */
	size_t ncaps;
	int    limit_hit;	/* a pattern hit the PCRE2 match/depth limit: matching stopped */
	const struct intent *limit_intent;	/* ... in this intent */
	int    limit_pattern;
};

/* Runs intents in order; patterns whose required literals (prefilter.h) are absent from
 * the text are known not to match and are not run. Returns 0 (result filled, possibly intent == NULL or limit_hit),
 * or ACK_ENOMEM. A limit hit stops matching at once (the mention must go to a person). */
int intents_match(const struct intents *in, const struct match_input *mi,
    struct match_result *out, struct ack_err *err);
void match_result_clear(struct match_result *r);
/* Runs every entity and signal on text (prepared as for intents_match): *out gets one
 * capture per entity or signal that matched, in load order. Returns 0 or ACK_ENOMEM;
 * free with captures_free. A pattern that hits the match limit gives no value. */
int  intents_extract(const struct intents *in, const char *text, struct match_capture **out,
    size_t *n, struct ack_err *err);
void captures_free(struct match_capture *v, size_t n);
/* The intent called name, or NULL. */
const struct intent *intents_find(const struct intents *in, const char *name);
/* The entity called name, or NULL. */
const struct intent_entity *intents_entity(const struct intents *in, const char *name);
/* Value of a named capture, or NULL. Borrowed from r. */
const char *match_result_capture(const struct match_result *r, const char *name);

/* Picks the reply template: the variants for lang (the mention's language), else for
 * pattern_lang, else for default_lang, else the language-less set, else the first set;
 * one variant chosen by seed. Returns NULL when the intent has no reply. *reply_lang gets
 * the chosen set's language (borrowed; may be NULL). */
const char *intent_pick_reply(const struct intent *it, const char *lang,
    const char *pattern_lang, const char *default_lang, uint64_t seed, const char **reply_lang);

const char *handoff_priority_name(int p);

/* Runs every example through the whole set (text prepared with text_for_matching and the
 * bot's handles): `match` examples must pick their intent with the expected captures,
 * `no_match` examples must not. Prints a diff-style report of failures and a final
 * "N examples passed, N failed" line to out (a FILE *). Returns 0 if all passed. */
int intents_verify(const struct intents *in, const char *const *handles, size_t nhandles,
    void *out, size_t *passed, size_t *failed);	/* "urgent", "high", "normal", "low" */

#endif
