/* pipeline.c - one mention from the inbox to a committed decision: the author's facts
 * from the store, decide (decide.c), render (render.c), then the handoff, the outbox row
 * and the decision, in the caller's transaction. */
#include "pipeline.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "render.h"

void
pipeline_reply_key(const char *source, const char *platform_id, char out[40])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(d, 0, sizeof(d));
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
		EVP_DigestUpdate(c, source, strlen(source) + 1);	/* the NUL separates */
		EVP_DigestUpdate(c, platform_id, strlen(platform_id));
		EVP_DigestFinal_ex(c, d, &dl);
	}
	EVP_MD_CTX_free(c);
	memcpy(out, "ack_", 4);
	for (int i = 0; i < 16; i++)
		snprintf(out + 4 + i * 2, 3, "%02x", d[i]);
}

static int
gather_facts(const struct config *c, struct store *st, const struct mention *m,
    struct author_facts *f, struct ack_err *err)
{
	int64_t count = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = st->ops->author_mentions(st, m->source, m->author_id, &count, err)) != 0)
		return rc;
	f->is_supporter = c->supporter_min > 0 && count - 1 >= c->supporter_min;
	if ((rc = st->ops->author_last_reply(st, m->source, m->author_id, &f->last_reply_ms, err)) != 0)
		return rc;
	if (m->thread != NULL && *m->thread != '\0' &&
	    (rc = st->ops->thread_replied(st, m->source, m->thread, &f->thread_replied, err)) != 0)
		return rc;
	return 0;
}

int
pipeline_apply(const struct config *c, const struct intents *in, struct store *st,
    struct mention *m, size_t max_graphemes, struct pipeline_result *res, struct ack_err *err)
{
	struct author_facts facts;
	struct plan p;
	struct handoff h;
	struct reply r;
	struct decision_rec d;
	char *text = NULL;
	char key[40];
	int64_t now = store_now_ms();
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&h, 0, sizeof(h));
	if ((rc = gather_facts(c, st, m, &facts, err)) != 0)
		return rc;
	if ((rc = decide_plan(c, in, m, &facts, now, &p, err)) != 0)
		goto out;
	if (p.handoff) {
		h.mention_row = m->row;
		h.reason = (char *)p.reason;
		h.intent = p.match.intent ? p.match.intent->name :
		    (p.match.limit_intent ? p.match.limit_intent->name : NULL);
		h.queue = (char *)(p.queue ? p.queue : "support");
		h.priority = p.priority;
		h.captures = p.captures_json;
		h.created_ms = now;
		rc = st->ops->handoff_put(st, &h, err);
		/* the fields above are borrowed: only the ticket is ours */
		h.reason = h.intent = h.queue = h.captures = NULL;
		if (rc != 0)
			goto out;
		snprintf(res->ticket, sizeof(res->ticket), "%s", h.ticket);
	}
	if (p.reply) {
		text = render_reply(&p, m, p.handoff ? res->ticket : NULL, max_graphemes, err);
		if (text == NULL || *text == '\0') {
			rc = err && err->code ? err->code : ACK_EINVAL;
			goto out;
		}
		pipeline_reply_key(m->source, m->platform_id, key);
		memset(&r, 0, sizeof(r));
		r.mention_row = m->row;
		r.source = m->source;
		r.idem_key = key;
		r.platform_id = m->platform_id;
		r.author_id = m->author_id;
		r.author_handle = m->author_handle;
		r.thread = m->thread;
		r.text = text;
		r.intent = p.match.intent ? p.match.intent->name : p.reply_intent->name;
		r.ticket = p.handoff ? res->ticket : NULL;
		r.extra = m->extra;
		/* the lowest priority (sent last, dropped when stale) is a thank-you's alone: an
		 * answer or a routing reply is never dropped for its age */
		r.priority = p.handoff && p.priority < HANDOFF_NORMAL ? p.priority :
		    p.reply_intent->kind == INTENT_THANKS && !p.handoff ? HANDOFF_LOW : HANDOFF_NORMAL;
		r.next_ms = now;
		r.created_ms = now;
		r.mention_received_ms = m->received_ms;
		if ((rc = st->ops->reply_put(st, &r, err)) != 0)
			goto out;
		res->reply_queued = 1;
		if (p.handoff && (rc = st->ops->handoff_set_reply(st, h.row, text, err)) != 0)
			goto out;
	}
	memset(&d, 0, sizeof(d));
	d.intent = p.match.intent ? p.match.intent->name : NULL;
	d.action = p.action;
	d.reason = p.reason;
	d.captures = p.captures_json;
	d.lang = p.reply ? p.reply_lang : NULL;
	if ((rc = st->ops->mention_finish(st, m->row, &d, err)) != 0)
		goto out;
	res->action = p.action;
	res->reason = p.reason;
	res->queue = p.handoff ? (p.queue ? p.queue : "support") : NULL;
	res->intent = d.intent;
	res->priority = p.priority;
	res->limit_hit = p.match.limit_hit;
	res->lang = p.lang ? (snprintf(res->langbuf, sizeof(res->langbuf), "%s", p.lang),
	    res->langbuf) : NULL;
	res->lang_detected = p.lang_detected[0] != '\0';
	res->guard = p.guard;	/* its strings are static or the intents' */
out:
	free(text);
	free(h.ticket);
	decide_plan_clear(&p);
	return rc;
}

#define PROCESS_BATCH 256

/* The last resort for a mention the pipeline could not handle: a person looks at it. */
static int
fail_to_person(struct store *st, struct mention *m, const char *why)
{
	struct handoff h;
	struct decision_rec d;
	struct ack_err err;
	int rc;

	memset(&h, 0, sizeof(h));
	memset(&d, 0, sizeof(d));
	h.mention_row = m->row;
	h.reason = (char *)"processing_failed";
	h.queue = (char *)"support";
	h.priority = HANDOFF_HIGH;
	h.created_ms = store_now_ms();
	d.action = "handoff";
	d.reason = "processing_failed";
	ack_err_clear(&err);
	rc = st->ops->begin(st, &err);
	if (rc == 0)
		rc = st->ops->handoff_put(st, &h, &err);
	if (rc == 0)
		rc = st->ops->mention_finish(st, m->row, &d, &err);
	if (rc == 0)
		rc = st->ops->commit(st, &err);
	if (rc != 0)
		st->ops->rollback(st);
	log_error("pipeline", "processing_failed", "source=%s mention=%s error=%s handed_off=%d",
	    log_q(m->source), log_q(m->platform_id), log_q(why), rc == 0);
	h.reason = h.queue = NULL;
	handoff_clear(&h);
	return rc;
}

static int
transient(int rc)
{
	return rc == ACK_EIO || rc == ACK_ETEMP || rc == ACK_ENOMEM;
}

int
pipeline_process(const struct config *c, const struct intents *in, struct store *st,
    const struct pipeline_hooks *hk, size_t *handoffs, struct ack_err *err)
{
	struct mention *v = NULL;
	struct pipeline_result *res = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = st->ops->begin(st, err)) != 0)
		return rc;
	if ((rc = st->ops->mention_pending(st, PROCESS_BATCH, &v, &n, err)) != 0 || n == 0) {
		st->ops->rollback(st);
		free(v);
		return rc;
	}
	if ((res = calloc(n, sizeof(*res))) == NULL) {
		st->ops->rollback(st);
		mention_free_array(v, n);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = pipeline_apply(c, in, st, &v[i], hk->max_len(hk->arg, v[i].source), &res[i], err);
	if (rc == 0)
		rc = st->ops->commit(st, err);
	if (rc != 0) {
		st->ops->rollback(st);
		if (transient(rc))
			goto out;
		/* one mention the pipeline cannot handle must not hold up the rest */
		for (i = 0; i < n; i++) {
			memset(&res[i], 0, sizeof(res[i]));
			ack_err_clear(err);
			rc = st->ops->begin(st, err);
			if (rc == 0)
				rc = pipeline_apply(c, in, st, &v[i], hk->max_len(hk->arg, v[i].source),
				    &res[i], err);
			if (rc == 0)
				rc = st->ops->commit(st, err);
			if (rc == 0) {
				*handoffs += res[i].ticket[0] != '\0';
				hk->decided(hk->arg, &v[i], &res[i]);
				continue;
			}
			st->ops->rollback(st);
			if (transient(rc) || (rc = fail_to_person(st, &v[i], err->msg)) != 0)
				goto out;
			++*handoffs;
		}
	} else {
		for (i = 0; i < n; i++) {
			*handoffs += res[i].ticket[0] != '\0';
			hk->decided(hk->arg, &v[i], &res[i]);
		}
	}
	rc = n == PROCESS_BATCH ? 1 : 0;
out:
	free(res);
	mention_free_array(v, n);
	return rc;
}
