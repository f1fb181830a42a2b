/* source.h - a platform is one file in bot/sources/ behind this ops table: it turns the
 * platform's events into struct mention (handing them to the app's durable intake) and
 * posts replies back. Nothing else in ackbot knows a platform's name. */
#ifndef ACKBOT_SOURCE_H
#define ACKBOT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

struct app;
struct source;

enum { SEND_OK = 0, SEND_RETRY = 1, SEND_FAIL = 2 };

struct send_outcome {
	int     result;		/* SEND_* */
	int64_t retry_after_ms;	/* SEND_RETRY: what the platform asked for, or -1 */
	char    error[256];	/* for logs and the handoff record (never secrets) */
};

/* What the pipeline decided, for sources that show it (the console). */
struct source_notice {
	const char *platform_id;
	const char *intent;	/* may be NULL */
	const char *action;	/* "reply", "handoff", "reply+handoff", "silent" */
	const char *reason;
	const char *ticket;	/* may be NULL */
	const char *queue;	/* may be NULL */
	const char *priority;	/* may be NULL */
};

struct source_ops {
	const char *type;
	size_t default_max_length;	/* reply cap in graphemes */
	/* Reads the entry's own keys (conf_src_* getters) and reports problems into d.
	 * app is NULL when only checking the configuration. */
	int  (*configure)(struct source **out, struct app *app, struct source_conf *sc,
	    const struct config *c, struct diag *d);
	/* Starts taking mentions. A source that cannot run without a missing secret logs one
	 * line and stays inactive (returns 0 with s->active == 0). */
	int  (*start)(struct source *s, struct ack_err *err);
	/* Stops taking new mentions (drain); replies may still be sent. */
	void (*stop)(struct source *s);
	void (*free)(struct source *s);
	/* Starts posting r; calls app_reply_done() exactly once, later or before returning.
	 * Returns 0, or an error when nothing was started (treated as a retry). */
	int  (*send)(struct source *s, const struct reply *r, struct ack_err *err);
	/* Optional: shows a decision (console). */
	void (*notice)(struct source *s, const struct source_notice *n);
};

/* A reply delivery a source has started: the context its transfer's callback gets. The
 * source keeps them listed so that those still out when it stops are freed with it. */
struct source_send {
	struct source_send *prev, *next;
	struct source *src;
	int64_t row;		/* the reply */
};

struct source {
	const struct source_ops *ops;
	char   *name;
	struct app *app;
	size_t  max_length;
	int     active;
	struct source_send *sends;	/* deliveries in flight */
};

/* The registry: every built-in source type. */
const struct source_ops *source_find_type(const char *type);
/* Fills the common fields; used by configure() implementations. */
int source_init_common(struct source *s, const struct source_ops *ops, struct app *app,
    const struct source_conf *sc);
void source_free_common(struct source *s);	/* also frees the sends still listed */

/* A delivery context for reply row, listed on s; NULL when out of memory. */
struct source_send *source_send_new(struct source *s, int64_t row);
/* Unlists and frees it (when its transfer ends). */
void source_send_done(struct source_send *c);

extern const struct source_ops source_console_ops;
extern const struct source_ops source_webhook_ops;
extern const struct source_ops source_mastodon_ops;

#endif
