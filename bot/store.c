/* store.c - backend selection and the helpers every backend shares. */
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int
store_open(struct store **out, const char *uri, int readonly, struct ack_err *err)
{
	const char *path = uri;
	int rc;

	*out = NULL;
	if (strncmp(uri, "sqlite:", 7) == 0)
		path = uri + 7;
	else if (strstr(uri, "://") != NULL)
		return ack_fail(err, ACK_EINVAL, "unsupported store '%s' (only sqlite)", uri);
	if ((rc = store_sqlite_ops.open(out, path, readonly, err)) != 0)
		return rc;
	if (!readonly && (rc = store_wrap(out, err)) != 0) {
		store_close(*out);
		*out = NULL;
	}
	return rc;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
reply_clear(struct reply *r)
{
	if (r == NULL)
		return;
	free(r->source);
	free(r->idem_key);
	free(r->platform_id);
	free(r->author_id);
	free(r->author_handle);
	free(r->thread);
	free(r->text);
	free(r->intent);
	free(r->ticket);
	free(r->extra);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void
reply_free_array(struct reply *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reply_clear(&v[i]);
	free(v);
}

void
handoff_clear(struct handoff *h)
{
	if (h == NULL)
		return;
	free(h->ticket);
	free(h->reason);
	free(h->intent);
	free(h->queue);
	free(h->reply);
	free(h->captures);
	free(h->note);
	free(h->source);
	free(h->platform_id);
	free(h->author_id);
	free(h->author_handle);
	free(h->author_name);
	free(h->text);
	free(h->url);
	free(h->extra);
	memset(h, 0, sizeof(*h));
}

void
handoff_free_array(struct handoff *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		handoff_clear(&v[i]);
	free(v);
}

void
mention_free_array(struct mention *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mention_clear(&v[i]);
	free(v);
}

const char *
handoff_status_name(int status)
{
	switch (status) {
	case HANDOFF_OPEN: return "open";
	case HANDOFF_CLAIMED: return "claimed";
	case HANDOFF_RESOLVED: return "resolved";
	default: return "all";
	}
}

int
handoff_status_parse(const char *s)
{
	if (strcmp(s, "open") == 0)
		return HANDOFF_OPEN;
	if (strcmp(s, "claimed") == 0)
		return HANDOFF_CLAIMED;
	if (strcmp(s, "resolved") == 0)
		return HANDOFF_RESOLVED;
	if (strcmp(s, "all") == 0)
		return HANDOFF_ANY;
	return -1;
}

void
store_ticket_for_row(int64_t row, char out[16])
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	/* An odd multiplier is a bijection on 30 bits: short ids that do not look sequential. */
	uint64_t v = ((uint64_t)row * 0x2545F491ULL + 0x1B873593ULL) & ((1ULL << 30) - 1);
	uint64_t hi = (uint64_t)row >> 30;
	int n = 0;
	char tmp[16];

	for (int i = 0; i < 6; i++) {
		tmp[n++] = b32[v & 31];
		v >>= 5;
	}
	while (hi > 0 && n < 12) {	/* beyond a billion handoffs the id simply grows */
		tmp[n++] = b32[hi & 31];
		hi >>= 5;
	}
	out[0] = 'T';
	out[1] = '-';
	for (int i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	out[2 + n] = '\0';
}
