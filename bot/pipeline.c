/* pipeline.c - one mention from text to a committed decision: normalise, match, decide
 * (self, bots, blocked, cooldown, thread), render, and write handoff + outbox rows. */
#include "pipeline.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "template.h"
#include "text.h"

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

static uint64_t
seed_of(const struct mention *m)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a: the same mention picks the same variant */

	for (const char *p = m->platform_id ? m->platform_id : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static int
listed(char *const *v, size_t n, const char *a, const char *b)
{
	for (size_t i = 0; i < n; i++) {
		const char *x = v[i][0] == '@' ? v[i] + 1 : v[i];
		if ((a != NULL && strcasecmp(x, a) == 0) || (b != NULL && strcmp(v[i], b) == 0))
			return 1;
	}
	return 0;
}

static int
is_self(const struct config *c, const struct mention *m)
{
	const char *h = m->author_handle ? m->author_handle : "";
	size_t hl;

	if (*h == '@')
		h++;
	hl = strcspn(h, "@");	/* "brand@host" is us too */
	for (size_t i = 0; i < c->nhandles; i++)
		if (strlen(c->handles[i]) == hl && strncasecmp(c->handles[i], h, hl) == 0)
			return 1;
	return 0;
}

static char *
captures_json(const struct match_result *r)
{
	json_t *o = json_object();
	char *s;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < r->ncaps; i++)
		json_object_set_new(o, r->caps[i].name, json_string(r->caps[i].value));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

void
pipeline_plan_clear(struct plan *p)
{
	match_result_clear(&p->match);
	free(p->text);
	free(p->lang);
	free(p->captures_json);
	memset(p, 0, sizeof(*p));
}

int
pipeline_plan(const struct config *c, const struct intents *in, const struct mention *m,
    const struct author_facts *facts, int64_t now_ms, struct plan *p, struct ack_err *err)
{
	struct match_input mi;
	const struct intent *it;
	size_t len = strlen(m->text);
	int rc;

	memset(p, 0, sizeof(*p));
	if (c->max_text > 0 && len > c->max_text)
		len = c->max_text;	/* text_for_matching repairs a cut UTF-8 sequence */
	p->text = text_for_matching(m->text, len, (const char *const *)c->handles, c->nhandles);
	p->lang = text_lang_primary(m->lang);
	if (p->text == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	memset(&mi, 0, sizeof(mi));
	mi.text = p->text;
	mi.source = m->source;
	mi.lang = p->lang;
	mi.is_supporter = facts ? facts->is_supporter : 0;
	if ((rc = intents_match(in, &mi, &p->match, err)) != 0)
		return rc;
	p->captures_json = captures_json(&p->match);
	if (p->captures_json == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");

	it = p->match.intent;
	p->queue = NULL;
	p->priority = HANDOFF_NORMAL;

	/* Who must never get an automatic answer: the bot itself, bots, blocked authors. */
	if ((m->author_flags & MENTION_SELF) || is_self(c, m)) {
		p->reason = "self";
		goto silent;
	}
	if ((m->author_flags & MENTION_BOT) && !c->reply_to_bots) {
		p->reason = "bot_author";
		goto silent;
	}
	if (m->author_flags & MENTION_NOBOT) {
		p->reason = "nobot";
		goto silent;
	}
	if (listed(c->blocked, c->nblocked, m->author_handle, m->author_id)) {
		p->reason = "blocked";
		goto silent;
	}
	if (p->match.limit_hit) {
		const struct intent *li = p->match.limit_intent;
		p->reason = "match_limit";
		p->handoff = 1;
		p->queue = li && li->handoff ? li->queue : "support";
		p->priority = HANDOFF_HIGH;
		p->action = "handoff";
		return 0;
	}
	if (it == NULL) {
		p->reason = "unmatched";
		p->handoff = c->handoff_unmatched;
		p->queue = "support";
		p->action = p->handoff ? "handoff" : "silent";
		return 0;
	}
	p->reason = "intent";
	if (it->handoff) {
		p->handoff = 1;
		p->queue = it->queue;
		p->priority = it->handoff_priority;
	}
	p->tmpl = intent_pick_reply(it, p->lang, p->match.pattern_lang, c->default_lang,
	    seed_of(m), &p->reply_lang);
	if (p->tmpl == NULL) {
		p->reason = "no_reply_intent";
	} else if (facts != NULL && facts->last_reply_ms > 0 &&
	    now_ms - facts->last_reply_ms < config_cooldown_ms(c, m->source)) {
		p->reason = "cooldown";
		p->tmpl = NULL;
	} else if (facts != NULL && c->one_per_thread && facts->thread_replied) {
		p->reason = "thread_replied";
		p->tmpl = NULL;
	} else {
		p->reply = 1;
	}
	p->action = p->reply ? (p->handoff ? "reply+handoff" : "reply") :
	    (p->handoff ? "handoff" : "silent");
	return 0;
silent:
	p->tmpl = NULL;
	p->reply = 0;
	p->handoff = 0;
	p->action = "silent";
	return 0;
}

char *
pipeline_render(const struct plan *p, const struct mention *m, const char *ticket,
    size_t max_graphemes, struct ack_err *err)
{
	struct tmpl_var vars[40];
	char author[300], user[300];
	const char *display;
	size_t n = 0;

	if (p->tmpl == NULL)
		return NULL;
	snprintf(author, sizeof(author), "@%s", m->author_handle[0] == '@' ?
	    m->author_handle + 1 : m->author_handle);
	vars[n++] = (struct tmpl_var){ "author", author, 1 };
	vars[n++] = (struct tmpl_var){ "name", m->author_name, 0 };
	/* display: the display name, or the local part of the handle when it is blank */
	display = m->author_name;
	for (const char *q = display; q != NULL && *q; q++)
		if (*q != ' ')
			goto have_display;
	snprintf(user, sizeof(user), "%s", author + 1);
	user[strcspn(user, "@")] = '\0';
	display = user;
have_display:
	vars[n++] = (struct tmpl_var){ "display", display, 0 };
	vars[n++] = (struct tmpl_var){ "ticket", ticket, 1 };
	vars[n++] = (struct tmpl_var){ "intent", p->match.intent ? p->match.intent->name : NULL, 1 };
	for (size_t i = 0; i < p->match.ncaps && n < sizeof(vars) / sizeof(vars[0]); i++)
		vars[n++] = (struct tmpl_var){ p->match.caps[i].name, p->match.caps[i].value, 0 };
	return template_render(p->tmpl, vars, n, max_graphemes, err);
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
	if ((rc = pipeline_plan(c, in, m, &facts, now, &p, err)) != 0)
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
		text = pipeline_render(&p, m, p.handoff ? res->ticket : NULL, max_graphemes, err);
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
		r.intent = p.match.intent->name;
		r.ticket = p.handoff ? res->ticket : NULL;
		r.extra = m->extra;
		r.priority = p.handoff ? p.priority : HANDOFF_LOW;
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
out:
	free(text);
	free(h.ticket);
	pipeline_plan_clear(&p);
	return rc;
}
