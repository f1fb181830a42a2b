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
	int64_t next_ms;
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

struct store_ops {
	const char *name;
	int  (*open)(struct store **out, const char *path, int readonly, struct ack_err *err);
	void (*close)(struct store *st);
	int  (*begin)(struct store *st, struct ack_err *err);
	int  (*commit)(struct store *st, struct ack_err *err);
	void (*rollback)(struct store *st);
	/* Group durability. With defer_sync on, commit makes a transaction atomic and safe from
	 * a crash of this process (kill -9), but not yet from a power loss; sync makes every
	 * transaction committed so far durable. The daemon commits its few transactions of one
	 * loop iteration and syncs once, before it acknowledges anything. Off (the default):
	 * every commit is durable by itself. */
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
	int  (*reply_due)(struct store *st, int64_t now_ms, int64_t lease_ms, size_t limit,
	    struct reply **out, size_t *n, struct ack_err *err);
	int  (*reply_next_due)(struct store *st, int64_t *ms, struct ack_err *err);
	int  (*reply_update)(struct store *st, int64_t row, int state, int attempts,
	    int64_t next_ms, const char *last_error, struct ack_err *err);
	int  (*reply_counts)(struct store *st, int64_t *pending, struct ack_err *err);
	/* At start-up of the only writer: pending replies leased by a dead process are due now. */
	int  (*reply_release_leases)(struct store *st, int64_t now_ms, struct ack_err *err);

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
	int  (*handoff_unlogged)(struct store *st, size_t limit, struct handoff **out, size_t *n,
	    struct ack_err *err);
	int  (*handoff_mark_logged)(struct store *st, int64_t row, struct ack_err *err);
	int  (*handoff_count)(struct store *st, int status, int64_t *n, struct ack_err *err);

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

/* Opens the backend named by uri ("sqlite:PATH" or a plain path = SQLite). */
int  store_open(struct store **out, const char *uri, int readonly, struct ack_err *err);
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
