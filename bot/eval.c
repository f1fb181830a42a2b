/* eval.c - a labelled corpus through decide_plan: outcomes per true class, the guard's
 * confusion matrix, the failures that matter (a problem thanked, spam answered, praise
 * sent to a person) and the reply language. */
#include "eval.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "guard.h"
#include "intents.h"
#include "render.h"
#include "train.h"

enum { O_THANKS, O_ANSWER, O_REPLY_HANDOFF, O_HANDOFF, O_SILENT, O_N };
static const char *const outcome_names[O_N] = { "thanks", "answer", "reply+handoff", "handoff",
	"silent" };
enum { F_PROBLEM_THANKED, F_SPAM_REPLIED, F_PRAISE_TO_PERSON, F_URGENT_MISSED, F_WRONG_LANG, F_N };
static const char *const failure_names[F_N] = { "problem_thanked", "spam_replied",
	"praise_to_person", "safety_legal_not_handed_off", "reply_in_wrong_language" };

#define NLANG 16

struct tally {
	size_t n;
	size_t outcome[G_NCLASS][O_N];
	size_t confusion[G_NCLASS][G_NCLASS];
	int scored;
	char langs[NLANG][8];
	size_t lang_replies[NLANG], lang_right[NLANG];
	size_t failures[F_N];
	json_t *lists[F_N];
};

static int
outcome_of(const struct plan *p)
{
	if (p->reply && p->handoff)
		return O_REPLY_HANDOFF;
	if (p->reply)
		return p->reply_intent && p->reply_intent->kind == INTENT_THANKS ? O_THANKS : O_ANSWER;
	return p->handoff ? O_HANDOFF : O_SILENT;
}

static size_t
lang_slot(struct tally *t, const char *lang)
{
	for (size_t i = 0; i < NLANG; i++) {
		if (t->langs[i][0] == '\0')
			snprintf(t->langs[i], sizeof(t->langs[i]), "%s", lang);
		if (strcmp(t->langs[i], lang) == 0)
			return i;
	}
	return NLANG - 1;
}

static void
fail(struct tally *t, int kind, const struct labelled *x, const struct plan *p, size_t show)
{
	json_t *o;

	t->failures[kind]++;
	if (json_array_size(t->lists[kind]) >= show)
		return;
	o = json_pack("{s:i,s:s,s:s?,s:s,s:s?,s:s,s:s?,s:s?}", "line", x->line, "label",
	    guard_class_names[x->label], "lang", x->lang, "text", x->text, "intent",
	    p->match.intent ? p->match.intent->name : NULL, "action", p->action, "guard",
	    p->guard.changed, "reply_lang", p->reply ? p->reply_lang : NULL);
	json_array_append_new(t->lists[kind], o);
}

static void
tally_one(struct tally *t, const struct labelled *x, const struct plan *p, size_t show)
{
	int o = outcome_of(p), k = x->label;

	t->n++;
	t->outcome[k][o]++;
	if (p->guard.scored) {
		t->scored = 1;
		t->confusion[k][p->guard.top]++;
	}
	if (guard_class_is_problem(k) && o == O_THANKS)
		fail(t, F_PROBLEM_THANKED, x, p, show);
	if (k == G_SPAM && p->reply)
		fail(t, F_SPAM_REPLIED, x, p, show);
	if (k == G_PRAISE && p->handoff)
		fail(t, F_PRAISE_TO_PERSON, x, p, show);
	if ((k == G_SAFETY || k == G_LEGAL_PRIVACY) && !p->handoff)
		fail(t, F_URGENT_MISSED, x, p, show);
	if (p->reply && x->lang != NULL) {
		size_t s = lang_slot(t, x->lang);
		int right = p->reply_lang != NULL && strcmp(p->reply_lang, x->lang) == 0;
		t->lang_replies[s]++;
		t->lang_right[s] += right;
		if (!right)
			fail(t, F_WRONG_LANG, x, p, show);
	}
}

struct target {
	const char *name;
	size_t num, den;
	double goal;	/* a rate to reach, or -1: the count must be 0 */
};

static double
rate(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 1;
}

static void
targets(const struct tally *t, struct target v[5])
{
	size_t problems = 0, urgent = 0, spam = 0, praise = 0, praise_ok = 0, replies = 0, right = 0;

	for (int k = 0; k < G_NCLASS; k++)
		for (int o = 0; o < O_N; o++) {
			if (guard_class_is_problem(k))
				problems += t->outcome[k][o];
			if (k == G_SAFETY || k == G_LEGAL_PRIVACY)
				urgent += t->outcome[k][o];
			if (k == G_SPAM)
				spam += t->outcome[k][o];
			if (k == G_PRAISE) {
				praise += t->outcome[k][o];
				praise_ok += o == O_THANKS || o == O_ANSWER;
			}
		}
	for (size_t i = 0; i < NLANG; i++) {
		replies += t->lang_replies[i];
		right += t->lang_right[i];
	}
	(void)praise_ok;
	praise_ok = t->outcome[G_PRAISE][O_THANKS] + t->outcome[G_PRAISE][O_ANSWER];
	v[0] = (struct target){ "problem mentions answered with a plain thank-you",
		t->failures[F_PROBLEM_THANKED], problems, -1 };
	v[1] = (struct target){ "safety and legal mentions handed to a person",
		urgent - t->failures[F_URGENT_MISSED], urgent, 0.95 };
	v[2] = (struct target){ "spam replied to", t->failures[F_SPAM_REPLIED], spam, -1 };
	v[3] = (struct target){ "praise thanked without a handoff", praise_ok, praise, 0.90 };
	v[4] = (struct target){ "replies in the mention's language", right, replies, 0.95 };
}

static int
met(const struct target *x)
{
	return x->goal < 0 ? x->num == 0 : rate(x->num, x->den) >= x->goal;
}

static int
report_json(const struct tally *t, const struct intents *in, const char *path, FILE *out)
{
	json_t *o = json_object(), *oc = json_object(), *cm = json_object(), *tg = json_array(),
	    *lg = json_object(), *fl = json_object();
	struct target v[5];
	int all = 1;
	char *s;

	targets(t, v);
	for (int k = 0; k < G_NCLASS; k++) {
		json_t *row = json_object(), *crow = json_object();
		for (int j = 0; j < O_N; j++)
			json_object_set_new(row, outcome_names[j], json_integer((json_int_t)t->outcome[k][j]));
		for (int j = 0; j < G_NCLASS; j++)
			json_object_set_new(crow, guard_class_names[j],
			    json_integer((json_int_t)t->confusion[k][j]));
		json_object_set_new(oc, guard_class_names[k], row);
		json_object_set_new(cm, guard_class_names[k], crow);
	}
	for (int i = 0; i < 5; i++) {
		all &= met(&v[i]);
		json_array_append_new(tg, json_pack("{s:s,s:I,s:I,s:f,s:f,s:b}", "name", v[i].name,
		    "count", (json_int_t)v[i].num, "of", (json_int_t)v[i].den, "rate",
		    rate(v[i].num, v[i].den), "goal", v[i].goal, "met", met(&v[i])));
	}
	for (size_t i = 0; i < NLANG && t->langs[i][0]; i++)
		json_object_set_new(lg, t->langs[i], json_pack("{s:I,s:I,s:f}", "replies",
		    (json_int_t)t->lang_replies[i], "right", (json_int_t)t->lang_right[i], "rate",
		    rate(t->lang_right[i], t->lang_replies[i])));
	for (int f = 0; f < F_N; f++)
		json_object_set(fl, failure_names[f], t->lists[f]);
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "mentions", json_integer((json_int_t)t->n));
	json_object_set_new(o, "model", in->guard ? json_string(guard_model_version(in->guard)) :
	    json_null());
	json_object_set_new(o, "outcomes", oc);
	json_object_set_new(o, "guard_confusion", t->scored ? cm : json_null());
	if (!t->scored)
		json_decref(cm);
	json_object_set_new(o, "targets", tg);
	json_object_set_new(o, "reply_language", lg);
	json_object_set_new(o, "failures", fl);
	json_object_set_new(o, "all_met", json_boolean(all));
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL)
		fprintf(out, "%s\n", s);
	free(s);
	json_decref(o);
	return all ? 0 : 1;
}

static int
report_text(const struct tally *t, const struct intents *in, const char *path, FILE *out)
{
	struct target v[5];
	int all = 1;

	targets(t, v);
	fprintf(out, "ackbot eval %s: %zu mentions; model %s\n\n", path, t->n,
	    in->guard ? guard_model_version(in->guard) : "(none: patterns and signals only)");
	fprintf(out, "%-16s", "label \\ outcome");
	for (int j = 0; j < O_N; j++)
		fprintf(out, " %13s", outcome_names[j]);
	fputc('\n', out);
	for (int k = 0; k < G_NCLASS; k++) {
		fprintf(out, "%-16s", guard_class_names[k]);
		for (int j = 0; j < O_N; j++)
			fprintf(out, " %13zu", t->outcome[k][j]);
		fputc('\n', out);
	}
	if (t->scored) {
		fprintf(out, "\nguard: label (rows) \\ most likely class (columns)\n%-16s", "");
		for (int j = 0; j < G_NCLASS; j++)
			fprintf(out, " %6.6s", guard_class_names[j]);
		fputc('\n', out);
		for (int k = 0; k < G_NCLASS; k++) {
			fprintf(out, "%-16s", guard_class_names[k]);
			for (int j = 0; j < G_NCLASS; j++)
				fprintf(out, " %6zu", t->confusion[k][j]);
			fputc('\n', out);
		}
	}
	fprintf(out, "\ntargets\n");
	for (int i = 0; i < 5; i++) {
		all &= met(&v[i]);
		if (v[i].goal < 0)
			fprintf(out, "  %-4s %-50s %zu of %zu (target 0)\n", met(&v[i]) ? "ok" : "MISS",
			    v[i].name, v[i].num, v[i].den);
		else
			fprintf(out, "  %-4s %-50s %.1f%% (%zu/%zu; target %.0f%%)\n",
			    met(&v[i]) ? "ok" : "MISS", v[i].name, 100 * rate(v[i].num, v[i].den),
			    v[i].num, v[i].den, 100 * v[i].goal);
	}
	fprintf(out, "\nreply language by mention language:");
	for (size_t i = 0; i < NLANG && t->langs[i][0]; i++)
		fprintf(out, " %s %.0f%% (%zu/%zu)", t->langs[i],
		    100 * rate(t->lang_right[i], t->lang_replies[i]), t->lang_right[i], t->lang_replies[i]);
	fputc('\n', out);
	for (int f = 0; f < F_N; f++) {
		size_t i;
		json_t *e;
		if (t->failures[f] == 0)
			continue;
		fprintf(out, "\n%s: %zu\n", failure_names[f], t->failures[f]);
		json_array_foreach(t->lists[f], i, e)
			fprintf(out, "  line %lld [%s/%s] %s -> %s %s%s%s\n",
			    (long long)json_integer_value(json_object_get(e, "line")),
			    json_string_value(json_object_get(e, "label")),
			    json_string_value(json_object_get(e, "lang")) ?
			    json_string_value(json_object_get(e, "lang")) : "-",
			    json_string_value(json_object_get(e, "text")),
			    json_string_value(json_object_get(e, "action")),
			    json_string_value(json_object_get(e, "intent")) ?
			    json_string_value(json_object_get(e, "intent")) : "(none)",
			    json_object_get(e, "reply_lang") ? " in " : "",
			    json_object_get(e, "reply_lang") ?
			    json_string_value(json_object_get(e, "reply_lang")) : "");
	}
	return all ? 0 : 1;
}

int
eval_run(const struct config *c, const struct intents *in, const char *path,
    const struct eval_opts *o, FILE *out)
{
	struct labelled *v;
	struct tally t;
	struct ack_err err;
	size_t n;
	int rc;

	if (corpus_read(path, &v, &n, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		return 2;
	}
	memset(&t, 0, sizeof(t));
	for (int f = 0; f < F_N; f++)
		t.lists[f] = json_array();
	for (size_t i = 0; i < n; i++) {
		struct mention m;
		struct plan p;
		char id[32];

		snprintf(id, sizeof(id), "eval-%zu", i);
		memset(&m, 0, sizeof(m));
		m.source = (char *)(o->source ? o->source : "webhook");
		m.platform_id = id;
		m.text = v[i].text;
		m.author_id = (char *)"eval";
		m.author_handle = (char *)"customer";
		m.lang = o->with_lang ? v[i].lang : NULL;
		if (decide_plan(c, in, &m, NULL, 0, &p, &err) != 0) {
			fprintf(stderr, "ackbot: line %d: %s\n", v[i].line, err.msg);
			continue;
		}
		tally_one(&t, &v[i], &p, o->show ? o->show : 20);
		decide_plan_clear(&p);
	}
	rc = o->as_json ? report_json(&t, in, path, out) : report_text(&t, in, path, out);
	for (int f = 0; f < F_N; f++)
		json_decref(t.lists[f]);
	labelled_free(v, n);
	return rc;
}
