/* source.h - a platform is one file in bot/sources/ behind this ops table: it turns the
 * platform's events into struct mention (handing them to the durable inbox, inbox.h) and
 * posts the outbox's replies back (reporting each outcome to the sender, sender.h).
 * Sources see only what struct source_env gives them: nothing else in ackbot knows a
 * platform's name, and a source never touches the store or the daemon. */
#ifndef ACKBOT_SOURCE_H
#define ACKBOT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

#include <uv.h>

struct http_server;
struct httpc;
struct inbox;
struct sender;
struct source;

enum { SEND_OK = 0, SEND_RETRY = 1, SEND_FAIL = 2 };

struct send_outcome {
	int     result;		/* SEND_* */
	int64_t retry_after_ms;	/* SEND_RETRY: what the platform asked for, or -1 */
	int     hold;		/* the platform limits the whole account (429, Retry-After):
				 * every reply of the source waits, not just this one */
	char    error[256];	/* for logs and the handoff record (never secrets) */
};

/* What the daemon lends every source: the loop, the HTTP server (listeners, websockets),
 * the HTTP client, the inbox (intake) and the sender (outcomes), and one way to give up. */
struct source_env {
	uv_loop_t *loop;
	struct http_server *http;
	struct httpc *httpc;
	struct inbox *inbox;
	struct sender *sender;
	/* A source found it can never work (a rejected token at start-up): the daemon logs
	 * why and stops with exit code 3. */
	void (*fail)(void *arg, const char *source, const char *why);
	void *arg;
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
	 * env is NULL when only checking the configuration. */
	int  (*configure)(struct source **out, const struct source_env *env, struct source_conf *sc,
	    const struct config *c, struct diag *d);
	/* Starts taking mentions. A source that cannot run without a missing secret logs one
	 * line and stays inactive (returns 0 with s->active == 0). */
	int  (*start)(struct source *s, struct ack_err *err);
	/* Stops taking new mentions (drain); replies may still be sent. */
	void (*stop)(struct source *s);
	void (*free)(struct source *s);
	/* Starts posting r; calls source_reply_done() exactly once, later or before
	 * returning, unless it returns an error: then nothing was started (a retry). */
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
	int64_t claim;		/* the outbox claim it was sent under */
};

struct source {
	const struct source_ops *ops;
	char   *name;
	const struct source_env *env;	/* NULL when only checking the configuration */
	size_t  max_length;
	int     active;
	struct source_send *sends;	/* deliveries in flight */
	char    state[200];		/* what it is doing, in words, for `ackbot status` */
	int     connecting;		/* on, but not taking mentions yet (`status --wait` waits) */
	int     finished;		/* takes no more mentions (the console's input ended); the
				 * daemon stops once every source is off or finished */
};

/* Sets s->state ("streaming", "off: ...") and whether it is still connecting; bumps
 * source_state_gen (the daemon writes its status file when it changes). Never put
 * secrets in it. */
void source_set_state(struct source *s, int connecting, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern unsigned source_state_gen;

/* The registry: every built-in source type. */
const struct source_ops *source_find_type(const char *type);
/* "known types: console, webhook, mastodon", for error hints. */
const char *source_type_hint(void);
/* Fills the common fields; used by configure() implementations. */
int source_init_common(struct source *s, const struct source_ops *ops,
    const struct source_env *env, const struct source_conf *sc);
void source_free_common(struct source *s);	/* also frees the sends still listed */

/* A delivery context for reply r, listed on s; NULL when out of memory. */
struct source_send *source_send_new(struct source *s, const struct reply *r);
/* Unlists and frees it (when its transfer ends). */
void source_send_done(struct source_send *c);

/* How sending r ended (exactly once per started send). */
void source_reply_done(struct source *s, const struct reply *r, const struct send_outcome *o);
/* The same from a delivery context, which it then frees. */
void source_send_finish(struct source_send *c, const struct send_outcome *o);

/* The inbox's put, for a source (see inbox.h). */
int source_intake(struct source *s, struct mention *m, int flags,
    void (*cb)(void *arg, int result, const struct mention *m), void *arg);

extern const struct source_ops source_console_ops;
extern const struct source_ops source_webhook_ops;
extern const struct source_ops source_mastodon_ops;

#endif
