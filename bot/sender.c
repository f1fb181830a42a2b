/* sender.c - claim, post, record: the in-flight table, the outcome group commit, the
 * backoff and the HTTP classifier. */
#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"
#include "intents.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "store.h"
#include "text.h"

#define SEND_MAX_IN_FLIGHT 64
#define RETRY_AFTER_MAX_MS 3600000	/* a platform's wait is honoured up to an hour */
#define MISSING_SOURCE_WAIT_MS 60000	/* a configured source that is not running */

struct flight {
	int64_t row, claim;
	int attempts;
	int64_t mention_row;
	int64_t received_ms;
	char *source;
	char *text;
	int done;		/* its outcome arrived, to be committed */
	struct send_outcome o;
};

struct sender {
	uv_loop_t *loop;
	struct store *st;
	struct outbox *ob;
	const struct config *cfg;
	struct sender_hooks h;
	struct flight *fl;
	size_t nfl, capfl;
	size_t ndone;
	int need_send;
	int refusing;
	int store_failed;	/* the last transaction failed: retry on the timer */
	int open_handles;	/* sender_close: freed when the last one has closed */
	uv_timer_t send_timer;	/* the next due reply, or a retry after a store error */
	uv_timer_t renew_timer;	/* in-flight claims */
};

int64_t
sender_backoff_ms(int64_t min_ms, int64_t max_ms, int attempt)
{
	int64_t d = min_ms > 0 ? min_ms : 1;

	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return d / 2 + (d > 1 ? (int64_t)(random() % (d / 2 + 1)) : 0);
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3); -1 when absent or bad. */
static int64_t
retry_after_ms(const char *v, int64_t now_ms)
{
	struct tm tm;
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return -1;
	n = strtoll(v, &end, 10);
	if (end != v && *end == '\0' && n >= 0)
		return n > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : n * 1000;
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end != NULL && *end == '\0') {
		int64_t d = (int64_t)timegm(&tm) * 1000 - now_ms;
		return d < 0 ? 0 : d > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : d;
	}
	return -1;
}

/* X-RateLimit-Reset: an ISO 8601 time (Mastodon) or epoch seconds (X); -1 when bad. */
static int64_t
reset_ms(const char *v, int64_t now_ms)
{
	int64_t at, d;
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return -1;
	n = strtoll(v, &end, 10);
	if (end != v && *end == '\0') {
		if (n < 0)
			return -1;
		if (n < 1000000000LL)	/* seconds from now (some platforms), not a time */
			return n > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : n * 1000;
		at = n > INT64_MAX / 1000 ? INT64_MAX : (int64_t)n * 1000;
	} else {
		at = text_iso8601_ms(v);
	}
	if (at <= 0)
		return -1;
	d = at - now_ms;
	return d < 0 ? 0 : d > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : d;
}

void
sender_classify_http(const struct httpc_result *r, int64_t now_ms, struct send_outcome *o)
{
	long st = r->status;

	memset(o, 0, sizeof(*o));
	o->retry_after_ms = -1;
	if (r->curl_code != 0) {
		o->result = SEND_RETRY;
		snprintf(o->error, sizeof(o->error), "%s", r->error ? r->error : "transfer failed");
	} else if (st >= 200 && st < 300) {
		o->result = SEND_OK;
	} else if (st == 408 || st == 429 || st >= 500 || st == 401 || st == 403) {
		o->result = SEND_RETRY;
		o->retry_after_ms = retry_after_ms(r->retry_after, now_ms);
		if (o->retry_after_ms < 0 && st == 429)
			o->retry_after_ms = reset_ms(r->ratelimit_reset, now_ms);
		o->hold = st == 429 || o->retry_after_ms >= 0;
		snprintf(o->error, sizeof(o->error), "HTTP %ld", st);
	} else {
		o->result = SEND_FAIL;
		snprintf(o->error, sizeof(o->error), "HTTP %ld (not retried): %.160s", st,
		    r->body ? r->body : "");
	}
}

static void flush_done(struct sender *s);

static void
flight_free(struct flight *f)
{
	free(f->source);
	free(f->text);
}

static struct flight *
flight_find(struct sender *s, int64_t row)
{
	for (size_t i = 0; i < s->nfl; i++)
		if (s->fl[i].row == row)
			return &s->fl[i];
	return NULL;
}

static struct flight *
flight_add(struct sender *s, const struct reply *r)
{
	struct flight *f;

	if (s->nfl == s->capfl) {
		size_t cap = s->capfl ? s->capfl * 2 : 16;
		struct flight *n = realloc(s->fl, cap * sizeof(*n));
		if (n == NULL)
			return NULL;
		s->fl = n;
		s->capfl = cap;
	}
	f = &s->fl[s->nfl];
	memset(f, 0, sizeof(*f));
	f->row = r->row;
	f->claim = r->claim;
	f->attempts = r->attempts;
	f->mention_row = r->mention_row;
	f->received_ms = r->mention_received_ms;
	f->source = strdup(r->source);
	f->text = strdup(r->text);
	if (f->source == NULL || f->text == NULL) {
		flight_free(f);
		return NULL;
	}
	s->nfl++;
	return f;
}

static void
wake(struct sender *s)
{
	if (s->h.wake != NULL)
		s->h.wake(s->h.arg);
}

static void
send_timer_cb(uv_timer_t *t)
{
	struct sender *s = t->data;

	s->need_send = 1;
	s->store_failed = 0;
	wake(s);
}

static void
retry_soon(struct sender *s, const char *what, const struct ack_err *err)
{
	log_error("sender", "store_error", "during=%s error=%s retry_ms=1000", what,
	    log_q(err->msg));
	s->store_failed = 1;
	uv_timer_start(&s->send_timer, send_timer_cb, 1000, 0);
}

static void
schedule(struct sender *s)
{
	struct ack_err err;
	int64_t next = 0, delay, now = store_now_ms();

	ack_err_clear(&err);
	if (outbox_next_due(s->ob, now, &next, &err) != 0) {
		retry_soon(s, "next_due", &err);
		return;
	}
	if (next == 0) {
		uv_timer_stop(&s->send_timer);
		return;
	}
	delay = next - now;
	if (delay < 0)
		delay = 0;
	if (delay > 60000)
		delay = 60000;
	uv_timer_start(&s->send_timer, send_timer_cb, (uint64_t)delay + 1, 0);
}

static void
renew_cb(uv_timer_t *t)
{
	struct sender *s = t->data;
	struct store *st = s->st;
	struct ack_err err;
	int64_t now = store_now_ms();
	int rc;

	if (s->nfl == 0)
		return;
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	for (size_t i = 0; rc == 0 && i < s->nfl; i++) {
		int held = 1;
		rc = outbox_renew(s->ob, s->fl[i].row, s->fl[i].claim, now, &held, &err);
		if (rc == 0 && !held)
			log_warn("sender", "claim_lost", "source=%s reply=%lld", log_q(s->fl[i].source),
			    (long long)s->fl[i].row);
	}
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		st->ops->rollback(st);
		/* the lease is four renewals long: the next one will do */
		log_warn("sender", "renew_failed", "in_flight=%zu error=%s", s->nfl, log_q(err.msg));
	}
}

int
sender_open(struct sender **out, uv_loop_t *loop, struct store *st, struct outbox *ob,
    const struct config *cfg, const struct sender_hooks *h, struct ack_err *err)
{
	struct sender *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	s->loop = loop;
	s->st = st;
	s->ob = ob;
	s->cfg = cfg;
	s->h = *h;
	uv_timer_init(loop, &s->send_timer);
	s->send_timer.data = s;
	uv_timer_init(loop, &s->renew_timer);
	s->renew_timer.data = s;
	uv_timer_start(&s->renew_timer, renew_cb, OUTBOX_RENEW_MS, OUTBOX_RENEW_MS);
	s->need_send = 1;
	*out = s;
	return 0;
}

static void
sender_closed(uv_handle_t *h)
{
	struct sender *s = h->data;

	if (--s->open_handles == 0)
		free(s);
}

void
sender_close(struct sender *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nfl; i++)
		flight_free(&s->fl[i]);
	free(s->fl);
	s->fl = NULL;
	s->nfl = 0;
	s->open_handles = 2;
	uv_close((uv_handle_t *)&s->send_timer, sender_closed);
	uv_close((uv_handle_t *)&s->renew_timer, sender_closed);
}

void
sender_set_config(struct sender *s, const struct config *cfg)
{
	s->cfg = cfg;
}

void
sender_kick(struct sender *s)
{
	s->need_send = 1;
	wake(s);
}

void
sender_refuse(struct sender *s)
{
	s->refusing = 1;
}

void
sender_flush(struct sender *s)
{
	s->store_failed = 0;	/* one last try, whatever the retry timer said */
	flush_done(s);
}

size_t
sender_in_flight(const struct sender *s)
{
	return s->nfl;
}

void
sender_reply_done(struct sender *s, int64_t row, int64_t claim, const struct send_outcome *o)
{
	struct flight *f = flight_find(s, row);

	/* matched by row: a post is in flight at most once per row here, and when its lease
	 * lapsed and was claimed again, the flight holds the newer claim */
	if (f == NULL || f->done) {
		log_debug("sender", "outcome_ignored", "reply=%lld claim=%lld", (long long)row,
		    (long long)claim);
		return;
	}
	f->done = 1;
	f->o = *o;
	s->ndone++;
	wake(s);
}

/* A reply that cannot be delivered: a person gets the mention (unless one already has it). */
static int
hand_off(struct sender *s, const struct flight *f, const char *why, char ticket[24],
    struct ack_err *err)
{
	struct store *st = s->st;
	struct handoff h;
	int rc;

	ticket[0] = '\0';
	memset(&h, 0, sizeof(h));
	rc = st->ops->handoff_by_mention(st, f->mention_row, &h, err);
	if (rc == 0) {
		handoff_clear(&h);
		return 0;
	}
	if (rc != ACK_ENOENT)
		return rc;
	memset(&h, 0, sizeof(h));
	h.mention_row = f->mention_row;
	h.reason = (char *)"delivery_failed";
	h.queue = (char *)"support";
	h.priority = HANDOFF_HIGH;
	h.reply = f->text;
	h.captures = NULL;
	h.created_ms = store_now_ms();
	rc = st->ops->handoff_put(st, &h, err);
	if (rc == 0 && h.ticket != NULL)
		snprintf(ticket, 24, "%s", h.ticket);
	free(h.ticket);
	(void)why;
	return rc;
}

/* What an outcome does to its row (in the open transaction). f->o.result may turn from
 * retry into fail when the attempts are used up. */
static int
record(struct sender *s, struct flight *f, int64_t now, int *matched, char ticket[24],
    struct ack_err *err)
{
	const struct config *c = s->cfg;
	struct send_outcome *o = &f->o;
	int attempts = f->attempts + 1;
	int rc;

	ticket[0] = '\0';
	if (o->result == SEND_RETRY && attempts >= c->send_max_attempts)
		o->result = SEND_FAIL;
	if (o->hold && (rc = outbox_hold(s->ob, f->source, now + (o->retry_after_ms >= 0 ?
	    o->retry_after_ms : c->backoff_min_ms), o->error, err)) != 0)
		return rc;	/* the platform limits the account: every reply waits */
	if (o->result == SEND_OK)
		return outbox_complete(s->ob, f->row, f->claim, REPLY_SENT, attempts, 0, NULL,
		    matched, err);
	if (o->result == SEND_RETRY) {
		int64_t delay = o->retry_after_ms >= 0 ? o->retry_after_ms :
		    sender_backoff_ms(c->backoff_min_ms, c->backoff_max_ms, attempts);
		o->retry_after_ms = delay;
		return outbox_complete(s->ob, f->row, f->claim, REPLY_PENDING, attempts, now + delay,
		    o->error, matched, err);
	}
	if ((rc = outbox_complete(s->ob, f->row, f->claim, REPLY_FAILED, attempts, 0, o->error,
	    matched, err)) != 0)
		return rc;
	return *matched ? hand_off(s, f, o->error, ticket, err) : 0;
}

/* Group commit of the outcomes that arrived; a flight leaves the table only once its
 * outcome is recorded, so nothing can claim and post it again meanwhile. */
static void
flush_done(struct sender *s)
{
	struct store *st = s->st;
	struct ack_err err;
	int64_t now = store_now_ms();
	char (*tickets)[24] = NULL;
	int *matched = NULL;
	int rc, handed = 0;
	size_t i, j;

	if (s->ndone == 0 || s->store_failed)
		return;
	tickets = calloc(s->nfl, sizeof(*tickets));
	matched = calloc(s->nfl, sizeof(*matched));
	if (tickets == NULL || matched == NULL) {
		free(tickets);
		free(matched);
		return;		/* tried again at the next iteration */
	}
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	for (i = 0; rc == 0 && i < s->nfl; i++)
		if (s->fl[i].done)
			rc = record(s, &s->fl[i], now, &matched[i], tickets[i], &err);
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		/* nothing recorded: the flights stay (and keep their claims) until it is;
		 * record() is safe to run again */
		st->ops->rollback(st);
		retry_soon(s, "record_outcomes", &err);
		free(tickets);
		free(matched);
		return;
	}
	for (i = 0, j = 0; i < s->nfl; i++) {
		struct flight *f = &s->fl[i];
		if (!f->done) {
			s->fl[j++] = *f;
			continue;
		}
		if (!matched[i]) {
			log_warn("sender", "outcome_stale", "source=%s reply=%lld claim=%lld",
			    log_q(f->source), (long long)f->row, (long long)f->claim);
		} else if (f->o.result == SEND_OK) {
			metrics_inc(M_REPLIES_SENT, f->source);
			metrics_observe(M_REPLY_LATENCY, (double)(now - f->received_ms) / 1000.0);
			log_debug("sender", "sent", "source=%s reply=%lld attempts=%d", log_q(f->source),
			    (long long)f->row, f->attempts + 1);
		} else if (f->o.result == SEND_RETRY) {
			metrics_inc(M_REPLIES_RETRIED, f->source);
			log_warn("sender", "retry", "source=%s reply=%lld attempt=%d retry_ms=%lld hold=%d error=%s",
			    log_q(f->source), (long long)f->row, f->attempts + 1,
			    (long long)f->o.retry_after_ms, f->o.hold, log_q(f->o.error));
		} else {
			metrics_inc(M_REPLIES_FAILED, f->source);
			log_warn("sender", "failed", "source=%s reply=%lld attempts=%d error=%s ticket=%s",
			    log_q(f->source), (long long)f->row, f->attempts + 1, log_q(f->o.error),
			    tickets[i][0] ? tickets[i] : "-");
			if (tickets[i][0]) {
				metrics_inc(M_HANDOFFS_CREATED, "support");
				handed = 1;
			}
		}
		flight_free(f);
	}
	s->nfl = j;
	s->ndone = 0;
	free(tickets);
	free(matched);
	if (handed && s->h.handed_off != NULL)
		s->h.handed_off(s->h.arg);
	s->need_send = 1;
}

/* In the claim's transaction: a reply that will not be posted now. Returns 1 when r was
 * settled here (not to be posted), 0 to post it, <0 on a store error. */
static int
settle(struct sender *s, struct reply *r, struct source **src, int64_t now, int *handed,
    struct ack_err *err)
{
	const struct config *c = s->cfg;
	int configured = 0, matched = 0, rc;

	*src = s->h.find(s->h.arg, r->source, &configured);
	if (r->priority >= HANDOFF_LOW && c->stale_low_ms > 0 &&
	    now - r->mention_received_ms > c->stale_low_ms) {
		/* a thank-you hours late helps nobody; its mention stays recorded */
		rc = outbox_complete(s->ob, r->row, r->claim, REPLY_DROPPED, r->attempts, 0,
		    "too old to send", &matched, err);
		log_info("sender", "dropped_stale", "source=%s reply=%lld age_ms=%lld",
		    log_q(r->source), (long long)r->row, (long long)(now - r->mention_received_ms));
		return rc ? rc : 1;
	}
	if (*src != NULL && (*src)->active)
		return 0;
	if (configured) {
		/* configured but not running (no secret yet, stopped): it waits, no attempt */
		rc = outbox_complete(s->ob, r->row, r->claim, REPLY_PENDING, r->attempts,
		    now + MISSING_SOURCE_WAIT_MS, "source not running", &matched, err);
		return rc ? rc : 1;
	}
	/* the source is gone from the configuration: an attempt that failed; after the
	 * usual attempts a person gets the mention */
	{
		struct flight f;
		char ticket[24];

		memset(&f, 0, sizeof(f));
		f.row = r->row;
		f.claim = r->claim;
		f.attempts = r->attempts;
		f.mention_row = r->mention_row;
		f.source = r->source;
		f.text = r->text;
		f.o.result = SEND_RETRY;
		f.o.retry_after_ms = -1;
		snprintf(f.o.error, sizeof(f.o.error), "source '%s' is not in the configuration",
		    r->source);
		rc = record(s, &f, now, &matched, ticket, err);
		if (rc == 0)
			log_warn("sender", f.o.result == SEND_FAIL ? "failed" : "retry",
			    "source=%s reply=%lld attempt=%d error=%s ticket=%s", log_q(r->source),
			    (long long)r->row, r->attempts + 1, log_q(f.o.error),
			    ticket[0] ? ticket : "-");
		if (rc == 0 && ticket[0])
			*handed = 1;
		return rc ? rc : 1;
	}
}

static void
send_due(struct sender *s)
{
	struct store *st = s->st;
	struct reply *v = NULL;
	struct source **srcs = NULL;
	size_t n = 0;
	struct ack_err err;
	int64_t now = store_now_ms();
	int rc, handed = 0;

	s->need_send = 0;
	if (s->refusing || s->store_failed || s->nfl >= SEND_MAX_IN_FLIGHT)
		return;
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	if (rc == 0)
		rc = outbox_claim(s->ob, now, SEND_MAX_IN_FLIGHT - s->nfl, &v, &n, &err);
	if (rc == 0 && n > 0 && (srcs = calloc(n, sizeof(*srcs))) == NULL)
		rc = ack_fail(&err, ACK_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct flight *f = flight_find(s, v[i].row);
		if (f != NULL) {
			/* our own post is still out (its lease lapsed): it now runs under the new
			 * claim, and is not posted twice */
			f->claim = v[i].claim;
			v[i].row = 0;
			continue;
		}
		rc = settle(s, &v[i], &srcs[i], now, &handed, &err);
		if (rc == 1) {
			v[i].row = 0;
			rc = 0;
		}
	}
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0) {
		st->ops->rollback(st);
		reply_free_array(v, n);
		free(srcs);
		retry_soon(s, "claim", &err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct flight *f;
		if (v[i].row == 0)
			continue;
		if ((f = flight_add(s, &v[i])) == NULL) {
			log_error("sender", "oom", "reply=%lld", (long long)v[i].row);
			continue;	/* the claim runs out and it is tried again */
		}
		ack_err_clear(&err);
		if (srcs[i]->ops->send(srcs[i], &v[i], &err) != 0) {
			struct send_outcome o;
			memset(&o, 0, sizeof(o));
			o.result = SEND_RETRY;
			o.retry_after_ms = -1;
			snprintf(o.error, sizeof(o.error), "%s", err.msg);
			sender_reply_done(s, v[i].row, v[i].claim, &o);
		}
	}
	reply_free_array(v, n);
	free(srcs);
	if (handed && s->h.handed_off != NULL)
		s->h.handed_off(s->h.arg);
	schedule(s);
}

int
sender_work(struct sender *s)
{
	if (s->ndone > 0)
		flush_done(s);
	if (s->need_send)
		send_due(s);
	return (s->ndone > 0 && !s->store_failed) || (s->need_send && !s->store_failed &&
	    !s->refusing && s->nfl < SEND_MAX_IN_FLIGHT);
}
