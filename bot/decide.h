/* decide.h - the policy as a pure function: match the mention against the intents, then
 * decide reply / handoff / silence (self, bots, blocked, cooldown, one per thread, match
 * limits). The daemon (pipeline.c) and `ackbot intents test` share it. */
#ifndef ACKBOT_DECIDE_H
#define ACKBOT_DECIDE_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "guard.h"
#include "intents.h"
#include "mention.h"

/* Facts about the author that need the store (zero without one). */
struct author_facts {
	int     is_supporter;
	int64_t last_reply_ms;	/* 0: never */
	int     thread_replied;
};

/* What the second opinion saw and what it changed. */
struct guard_verdict {
	int     scored;		/* a model gave the probabilities below */
	double  p[G_NCLASS];
	int     top;		/* the most likely class */
	double  problem;	/* P(complaint + order_issue + refund_return + safety + legal) */
	const char *signals[8];	/* spam signals that fired ("offplatform", "link", ...) */
	size_t  nsignals;
	const char *changed;	/* NULL, or what it changed: "no_thanks" (a thank-you became a
				 * neutral acknowledgement and a person), "spam" (no reply),
				 * "praise" (an unmatched mention thanked), "urgent" (a person) */
};

struct plan {
	struct match_result match;
	struct match_capture *ents;	/* entities and signals (intents_extract) */
	size_t  nents;
	const struct intent *reply_intent;	/* whose template goes out: the matched intent,
						 * or the one the guard chose */
	char    lang_detected[8];	/* the detector's answer, "" when it was not asked */
	double  lang_confidence;
	struct guard_verdict guard;
	char   *text;		/* text as matched (normalised) */
	char   *lang;		/* mention's primary language, may be NULL */
	int     reply;		/* an auto-reply goes out */
	int     handoff;	/* a person gets a ticket */
	const char *action;	/* "reply", "handoff", "reply+handoff", "silent" */
	const char *reason;	/* "intent", "unmatched", "self", "bot_author", "blocked",
				 * "cooldown", "thread_replied", "match_limit", "no_reply_intent",
				 * "spam", "guard_problem", "guard_praise", "guard_urgent" */
	const char *queue;
	int     priority;	/* HANDOFF_* */
	const char *tmpl;	/* chosen template (borrowed from the intents), or NULL */
	const char *reply_lang;
	char   *captures_json;	/* {"order":"A12345"}: captures and entities (personal ones
				 * too: staff need them); never NULL after a successful plan */
};

/* Match and decide. facts may be NULL (no store: nothing is on cooldown). */
int  decide_plan(const struct config *c, const struct intents *in, const struct mention *m,
    const struct author_facts *facts, int64_t now_ms, struct plan *p, struct ack_err *err);
void decide_plan_clear(struct plan *p);

#endif
