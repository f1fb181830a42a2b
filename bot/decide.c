/* decide.c - the policy: who gets an automatic answer, who gets a person, and which
 * template. A pure function of the mention, the intents, the configuration and the
 * author's facts: no store, no clock of its own, no I/O. */
#include "decide.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

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
decide_plan_clear(struct plan *p)
{
	match_result_clear(&p->match);
	free(p->text);
	free(p->lang);
	free(p->captures_json);
	memset(p, 0, sizeof(*p));
}

int
decide_plan(const struct config *c, const struct intents *in, const struct mention *m,
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
