/* decide.c - the policy: who gets an automatic answer, who gets a person, and which
 * template. A pure function of the mention, the intents, the configuration and the
 * author's facts: no store, no clock of its own, no I/O. */
#include "decide.h"

#include <ctype.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "langid.h"
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
captures_json(const struct match_result *r, const struct match_capture *ents, size_t nents)
{
	json_t *o = json_object();
	char *s;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < r->ncaps; i++)
		json_object_set_new(o, r->caps[i].name, json_string(r->caps[i].value));
	for (size_t i = 0; i < nents; i++)
		if (!ents[i].signal && json_object_get(o, ents[i].name) == NULL)
			json_object_set_new(o, ents[i].name, json_string(ents[i].value));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* ---- the second opinion ---- */

struct link_check {
	const struct config *c;
	int foreign;
};

static void
check_host(const char *host, void *arg)
{
	struct link_check *lc = arg;
	size_t hl = strlen(host);

	for (size_t i = 0; i < lc->c->nallow_domains; i++) {
		const char *d = lc->c->allow_domains[i];
		size_t dl = strlen(d);
		if (strcasecmp(host, d) == 0 || (hl > dl && host[hl - dl - 1] == '.' &&
		    strcasecmp(host + hl - dl, d) == 0))
			return;
	}
	lc->foreign = 1;
}

#define DAY_MS (24 * 3600 * 1000LL)

/* 1 when the text tags an account other than the bot's own after its first words: "ask
 * @trader_pro", "collab? write to @promo_xyz". The run of handles a text starts with is
 * the thread's participants (how Mastodon and X write replies), not a referral. */
static int
tags_another_account(const char *t, char *const *handles, size_t nhandles)
{
	const char *q = t;
	int lead = 1;

	while (*q) {
		size_t n;
		/* a tag starts a word: not "ana@shop.example", "josé@correo.es", nor a profile
		 * link's "youtube.com/@anna" */
		if (*q != '@' || (q > t && !isspace((unsigned char)q[-1]) &&
		    !strchr("(,;\"'@", q[-1]))) {
			if (!isspace((unsigned char)*q))
				lead = 0;
			q++;
			continue;
		}
		n = strspn(q + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (n == 0) {	/* "@ 5pm", "@@name" */
			q++;
			continue;
		}
		if (!lead) {
			int own = 0;
			for (size_t i = 0; i < nhandles && !own; i++) {
				const char *h = handles[i][0] == '@' ? handles[i] + 1 : handles[i];
				own = strlen(h) == n && strncasecmp(h, q + 1, n) == 0;
			}
			if (!own)
				return 1;
		}
		q += 1 + n;
		while (*q == '@' || *q == '.' || isalnum((unsigned char)*q) || *q == '-')
			q++;	/* @user@host.example */
	}
	return 0;
}

/* The spam signals: the intents' `signals:` that fired, links outside the allow list,
 * and what the platform says about the account. */
static void
spam_signals(const struct config *c, const struct intents *in, const struct mention *m,
    const struct plan *p, int64_t now_ms, struct guard_verdict *g)
{
	struct link_check lc = { c, 0 };
	const size_t max = sizeof(g->signals) / sizeof(g->signals[0]);

	for (size_t i = 0; i < p->nents && g->nsignals < max; i++)
		if (p->ents[i].signal)	/* the intents' copy of the name outlives the plan */
			g->signals[g->nsignals++] = intents_entity(in, p->ents[i].name)->name;
	text_link_hosts(m->text, check_host, &lc);
	if (lc.foreign && g->nsignals < max)
		g->signals[g->nsignals++] = "link";
	if (tags_another_account(m->text, c->handles, c->nhandles) && g->nsignals < max)
		g->signals[g->nsignals++] = "tags_account";
	if (m->author_since_ms > 0 && now_ms - m->author_since_ms < 7 * DAY_MS && g->nsignals < max)
		g->signals[g->nsignals++] = "new_account";
	if ((m->author_flags & MENTION_FOLLOWERS) && m->author_followers < 5 && g->nsignals < max)
		g->signals[g->nsignals++] = "few_followers";
}

/* Spam: the model is sure, or it leans that way and two signals agree (SPAM_SURE). Three
 * signals whatever the model says, or spam the model's likeliest class at half the
 * threshold (SPAM_SUSPECT): no public reply either, but a person looks, since a genuine
 * mention silenced would be lost. */
enum { SPAM_NO, SPAM_SUSPECT, SPAM_SURE };

static int
is_spam(const struct config *c, const struct guard_verdict *g)
{
	double ps = g->scored ? g->p[G_SPAM] : 0;

	if (ps >= c->guard_spam || (g->nsignals >= 2 && ps >= c->guard_spam / 2))
		return SPAM_SURE;
	/* signals the model does not back (a complaint with a link, a new account, a "cc
	 * @courier"), or a model that only leans: a person decides */
	if (g->nsignals >= 3 || (g->scored && g->top == G_SPAM && ps >= c->guard_spam / 2))
		return SPAM_SUSPECT;
	return SPAM_NO;
}

static int
guard_score(const struct config *c, const struct intents *in, const struct mention *m,
    int64_t now_ms, struct plan *p, struct ack_err *err)
{
	struct guard_verdict *g = &p->guard;
	int rc;

	memset(g, 0, sizeof(*g));
	if (!c->guard_on)
		return 0;
	if (in->guard != NULL) {
		if ((rc = guard_classify(in->guard, p->text, g->p, err)) != 0)
			return rc;
		g->scored = 1;
		for (int k = 0; k < G_NCLASS; k++) {
			if (g->p[k] > g->p[g->top])
				g->top = k;
			if (guard_class_is_problem(k))
				g->problem += g->p[k];
		}
	}
	spam_signals(c, in, m, p, now_ms, g);
	return 0;
}

/* The vetoes, after the patterns have chosen: no thank-you for a problem, no reply to
 * spam, a person for safety and legal matters, a thank-you for praise no pattern knew. */
static void
guard_veto(const struct config *c, const struct intents *in, struct plan *p)
{
	struct guard_verdict *g = &p->guard;
	const struct intent *it = p->match.intent;
	int unmatched = it == NULL || (c->guard_ack_intent && strcmp(it->name, c->guard_ack_intent) == 0);
	int spam;

	if (!c->guard_on)
		return;
	if ((spam = is_spam(c, g)) != SPAM_NO) {
		/* never a public reply; a person still looks when an urgent intent fired (a
		 * phishing text may name a real danger), when the verdict is only a suspicion,
		 * or when spam_handoff says so */
		g->changed = "spam";
		p->reason = spam == SPAM_SURE ? "spam" : "spam_suspect";
		p->reply_intent = NULL;
		if (p->handoff && (p->priority == HANDOFF_URGENT || (spam == SPAM_SUSPECT &&
		    !unmatched)))
			return;	/* the intent's ticket stays as it was: a phishing report, a
				 * complaint with a link */
		p->handoff = spam == SPAM_SUSPECT || c->guard_spam_handoff;
		p->queue = "spam";
		p->priority = HANDOFF_LOW;
		return;
	}
	if (!g->scored)
		return;
	if (it != NULL && it->kind == INTENT_THANKS && g->problem >= c->guard_problem) {
		g->changed = "no_thanks";
		p->reason = "guard_problem";
		p->reply_intent = intents_find(in, c->guard_ack_intent);
		p->handoff = 1;
		p->queue = "support";
		p->priority = HANDOFF_NORMAL;
	} else if (unmatched && g->top == G_PRAISE && g->p[G_PRAISE] >= c->guard_praise &&
	    g->problem < c->guard_praise_problem &&
	    intents_find(in, c->guard_praise_intent) != NULL) {
		g->changed = "praise";
		p->reason = "guard_praise";
		p->reply_intent = intents_find(in, c->guard_praise_intent);
		p->handoff = 0;
		p->queue = NULL;
	}
	if ((g->p[G_SAFETY] >= c->guard_urgent || g->p[G_LEGAL_PRIVACY] >= c->guard_urgent) &&
	    (!p->handoff || p->priority > HANDOFF_HIGH)) {
		if (!p->handoff)
			p->queue = g->p[G_SAFETY] >= g->p[G_LEGAL_PRIVACY] ? "safety" : "legal";
		g->changed = g->changed ? g->changed : "urgent";
		if (p->reply_intent != NULL && p->reply_intent->kind == INTENT_THANKS)
			p->reply_intent = intents_find(in, c->guard_ack_intent);
		p->reason = p->reason && strcmp(p->reason, "intent") != 0 ? p->reason : "guard_urgent";
		p->handoff = 1;
		p->priority = HANDOFF_HIGH;
	}
}

/* The language of the text when the platform gave none. */
static void
detect_language(const struct config *c, struct plan *p)
{
	struct langid_guess g[3];
	char hint[128];
	size_t o = 0;

	if (p->lang != NULL || !c->detect_lang)
		return;
	hint[0] = '\0';
	for (size_t k = 0; k < c->nlanguages && o + 12 < sizeof(hint); k++)
		o += (size_t)snprintf(hint + o, sizeof(hint) - o, "%s%.8s", k ? "," : "",
		    c->languages[k]);
	langid_detect(p->text, strlen(p->text), o ? hint : NULL, g);
	/* the likeliest of the languages the bot speaks (CLD2 tells Spanish from Galician
	 * or Portuguese by a few points on short texts; intents.languages settles it) */
	for (int i = 0; i < 3 && g[i].code[0] != '\0'; i++) {
		int known = c->nlanguages == 0;
		for (size_t k = 0; k < c->nlanguages && !known; k++)
			known = strcasecmp(c->languages[k], g[i].code) == 0;
		if (!known)
			continue;
		memcpy(p->lang_detected, g[i].code, sizeof(p->lang_detected));
		p->lang_confidence = i == 0 ? g[i].confidence : g[i].confidence + g[0].confidence;
		break;
	}
	if (p->lang_detected[0] != '\0' && p->lang_confidence >= c->lang_confidence)
		p->lang = strdup(p->lang_detected);
}

void
decide_plan_clear(struct plan *p)
{
	match_result_clear(&p->match);
	captures_free(p->ents, p->nents);
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
	detect_language(c, p);
	memset(&mi, 0, sizeof(mi));
	mi.text = p->text;
	mi.source = m->source;
	mi.lang = p->lang;
	mi.is_supporter = facts ? facts->is_supporter : 0;
	if ((rc = intents_match(in, &mi, &p->match, err)) != 0 ||
	    (rc = intents_extract(in, p->text, &p->ents, &p->nents, err)) != 0 ||
	    (rc = guard_score(c, in, m, now_ms, p, err)) != 0)
		return rc;
	p->captures_json = captures_json(&p->match, p->ents, p->nents);
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
	} else {
		p->reason = "intent";
		p->reply_intent = it;
		if (it->handoff) {
			p->handoff = 1;
			p->queue = it->queue;
			p->priority = it->handoff_priority;
		}
	}
	guard_veto(c, in, p);
	if (p->reply_intent != NULL)
		p->tmpl = intent_pick_reply(p->reply_intent, p->lang, p->reply_intent == it ?
		    p->match.pattern_lang : NULL, c->default_lang, seed_of(m), &p->reply_lang);
	if (p->reply_intent == NULL) {
		;	/* nothing to say: unmatched, or silenced */
	} else if (p->tmpl == NULL) {
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
