/* sender.h - the outbox's replies onto the platforms: claims due rows (outbox.h), hands
 * each to its source, keeps it in the in-flight table (renewing its claim) until its
 * outcome is committed, and decides what an outcome means: sent; retried after one
 * backoff with jitter or the platform's Retry-After; failed and handed to a person.
 * One HTTP classifier serves every source. */
#ifndef ACKBOT_SENDER_H
#define ACKBOT_SENDER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "source.h"

struct httpc_result;
struct outbox;
struct sender;
struct store;

struct sender_hooks {
	/* The running source named name, or NULL; *configured tells whether the
	 * configuration still has an entry of that name (its replies then wait for it). */
	struct source *(*find)(void *arg, const char *name, int *configured);
	void (*wake)(void *arg);	/* the sender has work for the loop's next iteration */
	void (*handed_off)(void *arg);	/* it committed a handoff (the handoff log has work) */
	void *arg;
};

int  sender_open(struct sender **out, uv_loop_t *loop, struct store *st, struct outbox *ob,
    const struct config *cfg, const struct sender_hooks *h, struct ack_err *err);
/* Outcomes not committed yet are lost (their claims end at the next start). NULL-safe. */
void sender_close(struct sender *s);
void sender_set_config(struct sender *s, const struct config *cfg);	/* on reload */

/* New replies may be due. */
void sender_kick(struct sender *s);
/* The loop's work point: commits the outcomes that arrived, then claims and starts what
 * is due. Returns 1 when it wants another iteration soon. */
int  sender_work(struct sender *s);
/* Claims no new replies from now on (drain); outcomes are still recorded. */
void sender_refuse(struct sender *s);
/* Records the outcomes that arrived, now (at close). */
void sender_flush(struct sender *s);
/* Posts started and not yet recorded. */
size_t sender_in_flight(const struct sender *s);

/* A source reports how the post of reply row (under claim) ended; an outcome for a row
 * that is not in flight under that claim is ignored. */
void sender_reply_done(struct sender *s, int64_t row, int64_t claim, const struct send_outcome *o);

/* The one classifier of an HTTP answer: 2xx sent; 408, 429, 5xx, 401, 403 and transport
 * errors retried (401/403 may be a token being rotated: a person hears of it once the
 * attempts run out); any other 4xx failed. Retry-After (delta-seconds or HTTP-date, RFC
 * 9110) sets the wait, else on a 429 X-RateLimit-Reset (ISO 8601 or epoch seconds); a
 * 429 or a Retry-After holds the whole source. */
void sender_classify_http(const struct httpc_result *r, int64_t now_ms, struct send_outcome *o);

/* "Equal jitter" exponential backoff: attempt 1 waits about min, each next one twice as
 * long up to max; half fixed, half random, so the retries of many replies spread out. */
int64_t sender_backoff_ms(int64_t min_ms, int64_t max_ms, int attempt);

#endif
