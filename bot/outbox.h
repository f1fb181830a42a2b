/* outbox.h - the replies waiting to go out, as claims: a sender claims due rows under its
 * owner name with a lease, renews the lease while a post is in flight, and completes a row
 * only under the claim it holds. The next attempt (backoff, rate limits) is kept apart
 * from the lease, so a restart keeps every wait; a late outcome of an old claim changes
 * nothing. Several daemons sharing one store can claim from it without double sends. */
#ifndef ACKBOT_OUTBOX_H
#define ACKBOT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

#define OUTBOX_LEASE_MS 60000		/* a claim lives this long without renewal */
#define OUTBOX_RENEW_MS 15000		/* in-flight claims are renewed this often */

struct outbox;

/* owner: this process's name in the store's claims ("host:pid:random" when NULL). */
int  outbox_open(struct outbox **out, struct store *st, const char *owner, struct ack_err *err);
void outbox_close(struct outbox *ob);	/* NULL-safe */
const char *outbox_owner(const struct outbox *ob);

/* Start-up of the store's only writer (the data directory is locked): claims left by a
 * dead process end now; their replies keep their next attempt. */
int  outbox_recover(struct outbox *ob, struct ack_err *err);

/* The calls below run inside the caller's transaction. */
/* Claims up to limit due replies (priority, then age) for OUTBOX_LEASE_MS. */
int  outbox_claim(struct outbox *ob, int64_t now_ms, size_t limit, struct reply **out,
    size_t *n, struct ack_err *err);
/* Extends a claim; *held = 0 when it is no longer ours (the row moved on). */
int  outbox_renew(struct outbox *ob, int64_t row, int64_t claim, int64_t now_ms, int *held,
    struct ack_err *err);
/* Ends a claim with the row's new state; *matched = 0 when the claim was no longer the
 * row's, and then nothing changed. */
int  outbox_complete(struct outbox *ob, int64_t row, int64_t claim, int state, int attempts,
    int64_t next_ms, const char *last_error, int *matched, struct ack_err *err);
/* Every reply of source waits until until_ms (a platform's rate limit); survives restarts. */
int  outbox_hold(struct outbox *ob, const char *source, int64_t until_ms, const char *why,
    struct ack_err *err);
/* When a reply is next due (0: none waiting), outside a transaction. */
int  outbox_next_due(struct outbox *ob, int64_t now_ms, int64_t *ms, struct ack_err *err);

#endif
