/* pipeline.h - match -> decide -> render for one mention. The daemon runs it inside a store
 * transaction (pipeline_apply); `ackbot intents test` runs the same plan without a store. */
#ifndef ACKBOT_PIPELINE_H
#define ACKBOT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "intents.h"
#include "mention.h"
#include "store.h"

/* Facts about the author that need the store (zero without one). */
struct author_facts {
	int     is_supporter;
	int64_t last_reply_ms;	/* 0: never */
	int     thread_replied;
};

struct plan {
	struct match_result match;
	char   *text;		/* text as matched (normalised) */
	char   *lang;		/* mention's primary language, may be NULL */
	int     reply;		/* an auto-reply goes out */
	int     handoff;	/* a person gets a ticket */
	const char *action;	/* "reply", "handoff", "reply+handoff", "silent" */
	const char *reason;	/* "intent", "unmatched", "self", "bot_author", "blocked",
				 * "cooldown", "thread_replied", "match_limit", "no_reply_intent" */
	const char *queue;
	int     priority;	/* HANDOFF_* */
	const char *tmpl;	/* chosen template (borrowed from the intents), or NULL */
	const char *reply_lang;
	char   *captures_json;	/* {"order":"A12345"}; never NULL after a successful plan */
};

/* Match and decide. facts may be NULL (no store: nothing is on cooldown). */
int  pipeline_plan(const struct config *c, const struct intents *in, const struct mention *m,
    const struct author_facts *facts, int64_t now_ms, struct plan *p, struct ack_err *err);
/* Renders p's template for m. ticket may be NULL. New string; caller frees. */
char *pipeline_render(const struct plan *p, const struct mention *m, const char *ticket,
    size_t max_graphemes, struct ack_err *err);
void pipeline_plan_clear(struct plan *p);

/* The stable idempotency key of the (single) reply to a mention: "ack_" + 32 hex. */
void pipeline_reply_key(const char *source, const char *platform_id, char out[40]);

/* Inside an open transaction: plans m, writes the handoff (ticket), the rendered reply
 * into the outbox and the decision on the mention; res says what was done. */
struct pipeline_result {
	char ticket[24];	/* "" when no handoff */
	const char *action, *reason, *queue, *intent;
	int priority;
	int reply_queued;
	int limit_hit;
};
int pipeline_apply(const struct config *c, const struct intents *in, struct store *st,
    struct mention *m, size_t max_graphemes, struct pipeline_result *res, struct ack_err *err);

#endif
