/* store.h - the durable store behind a small function table (OpenSMTPD queue backends):
 * mentions (the inbox), replies (the outbox), handoffs, and author history.
 * SQLite (store_sqlite.c) is the embedded default; another backend is one more table. */
#ifndef ACKBOT_STORE_H
#define ACKBOT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mention.h"

enum reply_state { REPLY_PENDING = 0, REPLY_SENT = 1, REPLY_FAILED = 2, REPLY_DROPPED = 3 };
enum handoff_status { HANDOFF_OPEN = 0, HANDOFF_CLAIMED = 1, HANDOFF_RESOLVED = 2, HANDOFF_ANY = 9 };

/* What the pipeline decided for a mention. */
struct decision_rec {
	const char *intent;	/* NULL: nothing matched */
	const char *action;	/* "reply", "handoff", "reply+handoff", "silent" */
	const char *reason;	/* why: "intent", "bot_author", "cooldown", "match_limit", ... */
	const char *captures;	/* JSON object text, may be NULL */
	const char *lang;	/* language the reply was written in, may be NULL */
};

struct reply {
	int64_t row;
	int64_t mention_row;
	char   *source;
	char   *idem_key;	/* stable per reply: every attempt carries it */
	char   *platform_id;	/* the mention's id on the platform (in_reply_to) */
	char   *author_id;
	char   *author_handle;
	char   *thread;
	char   *text;
	char   *intent;
	char   *ticket;		/* may be NULL */
	char   *extra;		/* the mention's source-specific JSON, may be NULL */
	int     priority;	/* HANDOFF_* scale: 1 urgent .. 4 low (thanks) */
	int     state;
	int     attempts;
	int64_t next_ms;	/* the next attempt, not before (backoff, rate limits) */
	int64_t claim;		/* the claim that holds it (reply_claim), 0 when none */
	int64_t created_ms;
	int64_t mention_received_ms;
	char   *last_error;
};

struct handoff {
	int64_t row;
	char   *ticket;
	int64_t mention_row;
	char   *reason;		/* "intent", "unmatched", "match_limit", "delivery_failed", ... */
	char   *intent;
	char   *queue;
	int     priority;	/* HANDOFF_* */
	int     status;		/* enum handoff_status */
	char   *reply;		/* the reply text sent or queued, may be NULL */
	char   *captures;	/* JSON object text, may be NULL */
	int64_t created_ms;
	int64_t resolved_ms;
	char   *note;
	int     logged;
	/* joined from the mention, for listing */
	char   *source, *platform_id, *author_id, *author_handle, *author_name, *text, *url;
	char   *extra;		/* the mention's source-specific JSON, may be NULL */
};

struct store;
struct labelled;	/* train.h */

struct store_ops {
	const char *name;
	int  (*open)(struct store **out, const char *path, int readonly, struct ack_err *err);
	void (*close)(struct store *st);
	int  (*begin)(struct store *st, struct ack_err *err);
	int  (*commit)(struct store *st, struct ack_err *err);
	void (*rollback)(struct store *st);
	/* Group durability. With defer_sync on, commit makes a transaction atomic and safe from
	 * a crash of this process (kill -9), but not yet from a power loss; sync makes every
	 * transaction committed before it started durable. sync is meant for a worker thread:
	 * it may run while the loop's transactions go on (one sync at a time). The daemon
	 * acknowledges a mention only after a sync that started after its commit. Off (the
	 * default): every commit is durable by itself and sync does nothing. */
	int  (*defer_sync)(struct store *st, int on, struct ack_err *err);
	int  (*sync)(struct store *st, struct ack_err *err);
	/* Background maintenance (SQLite: copying the write-ahead log into the database),
	 * meant for a worker thread: it uses its own connection and may run while the other
	 * calls go on, one call at a time. With defer_sync on it is the only checkpointer. */
	int  (*maintain)(struct store *st, struct ack_err *err);

	int  (*mention_put)(struct store *st, struct mention *m, int *is_dup, struct ack_err *err);
	int  (*mention_pending)(struct store *st, size_t limit, struct mention **out, size_t *n,
	    struct ack_err *err);
	int  (*mention_finish)(struct store *st, int64_t row, const struct decision_rec *d,
	    struct ack_err *err);
	int  (*author_mentions)(struct store *st, const char *source, const char *author_id,
	    int64_t *count, struct ack_err *err);
	int  (*author_last_reply)(struct store *st, const char *source, const char *author_id,
	    int64_t *ms, struct ack_err *err);
	int  (*thread_replied)(struct store *st, const char *source, const char *thread,
	    int *yes, struct ack_err *err);

	int  (*reply_put)(struct store *st, struct reply *r, struct ack_err *err);
	/* The outbox's claims (outbox.c). A claim takes pending rows that are due (next_ms <=
	 * now), that no live lease holds (lease_until <= now) and whose source is not on hold;
	 * it stamps each with owner and lease_until and a claim number one above the row's
	 * last, returned in r->claim: only that claim can renew or complete the row, so a late
	 * outcome cannot undo a newer one and several daemons sharing one store never take the
	 * same row at once. Rows come back in (priority, row) order. */
	int  (*reply_claim)(struct store *st, const char *owner, int64_t now_ms, int64_t lease_until,
	    size_t limit, struct reply **out, size_t *n, struct ack_err *err);
	/* Extends a claim's lease; *held = 0 when the claim is no longer the row's. */
	int  (*reply_renew)(struct store *st, int64_t row, int64_t claim, int64_t lease_until,
	    int *held, struct ack_err *err);
	/* Ends a claim: the row takes state, attempts, next_ms and last_error, and its lease is
	 * cleared. *matched = 0 (nothing changed) when the claim is no longer the row's. */
	int  (*reply_complete)(struct store *st, int64_t row, int64_t claim, int state, int attempts,
	    int64_t next_ms, const char *last_error, int *matched, struct ack_err *err);
	/* When the next pending reply may be claimed, seen at now_ms: the earliest attempt of
	 * a row no live lease holds and no hold keeps back, or the end of a hold that does;
	 * 0 when none is waiting. Leased rows are left out: their outcome comes first. */
	int  (*reply_next_due)(struct store *st, int64_t now_ms, int64_t *ms, struct ack_err *err);
	int  (*reply_counts)(struct store *st, int64_t *pending, struct ack_err *err);
	/* Leases held by owner (NULL: by anyone) end now; the next attempts stay as they are.
	 * The only writer of a store calls it at start-up for the leases of its dead past. */
	int  (*reply_release_leases)(struct store *st, const char *owner, struct ack_err *err);
	/* A source's replies wait until until_ms (a platform's rate limit); a hold only ever
	 * moves later. It survives restarts. */
	int  (*hold_set)(struct store *st, const char *source, int64_t until_ms, const char *why,
	    struct ack_err *err);

	int  (*handoff_put)(struct store *st, struct handoff *h, struct ack_err *err);
	int  (*handoff_set_reply)(struct store *st, int64_t row, const char *reply, struct ack_err *err);
	int  (*handoff_by_mention)(struct store *st, int64_t mention_row, struct handoff *out,
	    struct ack_err *err);
	int  (*handoff_list)(struct store *st, int status, size_t limit, struct handoff **out,
	    size_t *n, struct ack_err *err);
	int  (*handoff_get)(struct store *st, const char *ticket, struct handoff *out,
	    struct ack_err *err);
	int  (*handoff_set_status)(struct store *st, const char *ticket, int status,
	    const char *note, int64_t now_ms, struct ack_err *err);
	/* The true class staff gave a handoff (guard.h class name), for training. */
	int  (*handoff_set_label)(struct store *st, const char *ticket, const char *label,
	    int64_t now_ms, struct ack_err *err);
	/* Every labelled handoff's mention text and language, oldest first. */
	int  (*label_list)(struct store *st, struct labelled **out, size_t *n, struct ack_err *err);
	int  (*handoff_unlogged)(struct store *st, size_t limit, struct handoff **out, size_t *n,
	    struct ack_err *err);
	int  (*handoff_mark_logged)(struct store *st, int64_t row, struct ack_err *err);
	int  (*handoff_count)(struct store *st, int status, int64_t *n, struct ack_err *err);
	/* Deletes every handoff of the mentions of source (`handoff purge`); *n how many. */
	int  (*handoff_purge)(struct store *st, const char *source, int64_t *n, struct ack_err *err);

	/* A source's resume point (a stream cursor), written in the same transaction as the
	 * mentions it covers; it only moves forward (ids compare as length, then text).
	 * *value: new string or NULL when none; caller frees. */
	int  (*cursor_get)(struct store *st, const char *source, char **value, struct ack_err *err);
	int  (*cursor_set)(struct store *st, const char *source, const char *value,
	    struct ack_err *err);
};

struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

/* Opens the backend named by uri ("sqlite:PATH" or a plain path = SQLite), wrapped by
 * store_wrap when tracing or fault injection is asked for. */
int  store_open(struct store **out, const char *uri, int readonly, struct ack_err *err);
/* store_wrap.c: replaces *st by a wrapper that traces its calls (ACKBOT_STORE_TRACE=1) or,
 * in a torture build, fails the Nth (ACKBOT_STORE_FAULT); leaves it alone otherwise. */
int  store_wrap(struct store **st, struct ack_err *err);
void store_close(struct store *st);	/* NULL-safe */

void reply_clear(struct reply *r);
void reply_free_array(struct reply *v, size_t n);
void handoff_clear(struct handoff *h);
void handoff_free_array(struct handoff *v, size_t n);
void mention_free_array(struct mention *v, size_t n);

const char *handoff_status_name(int status);	/* "open", "claimed", "resolved" */
int handoff_status_parse(const char *s);	/* -1 if unknown; "all" -> HANDOFF_ANY */

/* Ticket id for a handoff row: "T-" + 6 Crockford base32 characters, a bijection of row. */
void store_ticket_for_row(int64_t row, char out[16]);

int64_t store_now_ms(void);

#endif
