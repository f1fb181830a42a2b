/* outbox.c - claims on the store's replies: owner, lease and claim number (store.h). */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct outbox {
	struct store *st;
	char owner[128];
};

int
outbox_open(struct outbox **out, struct store *st, const char *owner, struct ack_err *err)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	char host[64] = "localhost";

	*out = NULL;
	if (ob == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	ob->st = st;
	if (owner != NULL) {
		snprintf(ob->owner, sizeof(ob->owner), "%s", owner);
	} else {
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		snprintf(ob->owner, sizeof(ob->owner), "%s:%d:%08lx", host, (int)getpid(),
		    (unsigned long)random() & 0xffffffffUL);
	}
	*out = ob;
	return 0;
}

void
outbox_close(struct outbox *ob)
{
	free(ob);
}

const char *
outbox_owner(const struct outbox *ob)
{
	return ob->owner;
}

int
outbox_recover(struct outbox *ob, struct ack_err *err)
{
	struct store *st = ob->st;
	int rc;

	if ((rc = st->ops->begin(st, err)) != 0)
		return rc;
	if ((rc = st->ops->reply_release_leases(st, NULL, err)) != 0 ||
	    (rc = st->ops->commit(st, err)) != 0)
		st->ops->rollback(st);
	return rc;
}

int
outbox_claim(struct outbox *ob, int64_t now_ms, size_t limit, struct reply **out, size_t *n,
    struct ack_err *err)
{
	return ob->st->ops->reply_claim(ob->st, ob->owner, now_ms, now_ms + OUTBOX_LEASE_MS, limit,
	    out, n, err);
}

int
outbox_renew(struct outbox *ob, int64_t row, int64_t claim, int64_t now_ms, int *held,
    struct ack_err *err)
{
	return ob->st->ops->reply_renew(ob->st, row, claim, now_ms + OUTBOX_LEASE_MS, held, err);
}

int
outbox_complete(struct outbox *ob, int64_t row, int64_t claim, int state, int attempts,
    int64_t next_ms, const char *last_error, int *matched, struct ack_err *err)
{
	return ob->st->ops->reply_complete(ob->st, row, claim, state, attempts, next_ms, last_error,
	    matched, err);
}

int
outbox_hold(struct outbox *ob, const char *source, int64_t until_ms, const char *why,
    struct ack_err *err)
{
	return ob->st->ops->hold_set(ob->st, source, until_ms, why, err);
}

int
outbox_next_due(struct outbox *ob, int64_t now_ms, int64_t *ms, struct ack_err *err)
{
	return ob->st->ops->reply_next_due(ob->st, now_ms, ms, err);
}
