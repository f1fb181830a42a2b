/* pipeline.h - one mention through decide (decide.h) and render (render.h) into the
 * store: handoff, outbox row and decision, inside the caller's transaction. */
#ifndef ACKBOT_PIPELINE_H
#define ACKBOT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decide.h"
#include "intents.h"
#include "mention.h"
#include "store.h"

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
	const char *lang;		/* the language matched and answered in, may be NULL */
	int lang_detected;		/* ... identified from the text */
	char langbuf[8];
	struct guard_verdict guard;	/* what the second opinion saw and changed */
};
int pipeline_apply(const struct config *c, const struct intents *in, struct store *st,
    struct mention *m, size_t max_graphemes, struct pipeline_result *res, struct ack_err *err);

/* What the daemon lends pipeline_process: the reply cap per source, and a look at each
 * decision once it is committed (logs, metrics, the console). */
struct pipeline_hooks {
	size_t (*max_len)(void *arg, const char *source);
	void (*decided)(void *arg, const struct mention *m, const struct pipeline_result *res);
	void *arg;
};

/* The pipeline's step of the loop: the inbox's unprocessed mentions, a batch per
 * transaction. A mention the pipeline cannot handle goes to a person (processing_failed)
 * and does not hold up the rest. *handoffs counts the handoffs committed. Returns 0 when
 * the inbox is done, 1 when more are waiting (call again), or a store error (nothing of
 * the failed batch was recorded: call again later). */
int pipeline_process(const struct config *c, const struct intents *in, struct store *st,
    const struct pipeline_hooks *h, size_t *handoffs, struct ack_err *err);

#endif
