/* test_intents.c - loading (forms, errors with positions), ordering, excludes, conditions,
 * captures, the PCRE2 limits, reply picking, verify. */
#include <stdlib.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "intents.h"
#include "unit.h"

static char dir[64];

static void
put(const char *name, const char *text)
{
	char p[160];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

static struct intents *
load(const char *yaml, struct diag *d, struct config **cout)
{
	struct config *c;
	char p[160];

	put("i/x.yaml", yaml);
	put("c.yaml", "bot: {handles: [brand]}\nintents: {paths: [i], match_limit: 5000, depth_limit: 200}\n");
	snprintf(p, sizeof(p), "%s/c.yaml", dir);
	diag_init(d);
	c = config_load(p, d);
	if (c == NULL)
		return NULL;
	struct intents *in = intents_load(c, d);
	if (cout)
		*cout = c;
	else
		config_free(c);
	return in;
}

static const struct intent *
match(const struct intents *in, const char *text, const char *source, const char *lang, int sup,
    struct match_result *r)
{
	struct match_input mi = { text, source, lang, sup };

	if (intents_match(in, &mi, r, NULL) != 0)
		return NULL;
	return r->intent;
}

static const char set[] =
    "intents:\n"
    "  - name: late\n"
    "    priority: 20\n"
    "    patterns: ['\\bstill\\s+waiting\\b']\n"
    "    reply: 'sorry'\n"
    "  - name: order\n"
    "    priority: 10\n"
    "    patterns:\n"
    "      - '#(?<order>[A-Z]\\d{5})'\n"
    "      - {lang: de, pattern: 'bestellung\\s+(?<order>\\d+)'}\n"
    "    reply: {en: 'order {{order}}', de: ['Bestellung {{order}}']}\n"
    "    handoff: {queue: shipping, priority: urgent}\n"
    "  - name: thanks\n"
    "    priority: 30\n"
    "    patterns: {en: ['\\bthanks\\b'], de: ['\\bdanke\\b'], any: ['❤️']}\n"
    "    exclude: ['\\bnothing\\b', '🙄']\n"
    "    reply: {en: ['a', 'b', 'c'], de: 'danke!'}\n"
    "  - name: vip\n"
    "    priority: 25\n"
    "    patterns: ['\\bhello\\b']\n"
    "    when: {source: [webhook], language: [en], supporter: true}\n"
    "    reply: 'welcome back'\n"
    "  - name: tie_a\n"
    "    priority: 40\n"
    "    patterns: ['tie']\n"
    "  - name: tie_b\n"
    "    priority: 40\n"
    "    patterns: ['tie']\n";

TEST(order_captures_excludes)
{
	struct diag d;
	struct intents *in = load(set, &d, NULL);
	struct match_result r;
	const char *lang;

	CHECK(in != NULL);
	CHECK_INT(in->n, 6);
	CHECK_STR(in->v[0].name, "order");	/* sorted by priority */
	CHECK_STR(match(in, "still waiting for #A12345", "x", NULL, 0, &r)->name, "order");
	CHECK_STR(match_result_capture(&r, "order"), "A12345");
	CHECK_INT(r.pattern_index, 0);
	match_result_clear(&r);
	CHECK_STR(match(in, "wo ist Bestellung 4711", "x", NULL, 0, &r)->name, "order");
	CHECK_STR(r.pattern_lang, "de");
	CHECK_STR(intent_pick_reply(r.intent, NULL, r.pattern_lang, "en", 0, &lang), "Bestellung {{order}}");
	CHECK_STR(lang, "de");
	match_result_clear(&r);
	CHECK_STR(match(in, "STILL   WAITING", "x", NULL, 0, &r)->name, "late");	/* caseless */
	match_result_clear(&r);
	CHECK_STR(match(in, "THANKS a lot", "x", NULL, 0, &r)->name, "thanks");
	match_result_clear(&r);
	CHECK(match(in, "thanks for nothing", "x", NULL, 0, &r) == NULL);
	match_result_clear(&r);
	CHECK(match(in, "thanks 🙄", "x", NULL, 0, &r) == NULL);
	match_result_clear(&r);
	CHECK_STR(match(in, "❤️", "x", NULL, 0, &r)->name, "thanks");
	CHECK(r.pattern_lang == NULL);
	match_result_clear(&r);
	CHECK_STR(match(in, "tie", "x", NULL, 0, &r)->name, "tie_a");	/* ties: file order */
	match_result_clear(&r);
	intents_free(in);
	diag_free(&d);
}

TEST(conditions)
{
	struct diag d;
	struct intents *in = load(set, &d, NULL);
	struct match_result r;

	CHECK(in != NULL);
	CHECK_STR(match(in, "hello", "webhook", "en", 1, &r)->name, "vip");
	match_result_clear(&r);
	CHECK_STR(match(in, "hello", "webhook", NULL, 1, &r)->name, "vip");	/* unknown language passes */
	match_result_clear(&r);
	CHECK(match(in, "hello", "console", "en", 1, &r) == NULL);
	match_result_clear(&r);
	CHECK(match(in, "hello", "webhook", "fr", 1, &r) == NULL);
	match_result_clear(&r);
	CHECK(match(in, "hello", "webhook", "en", 0, &r) == NULL);
	match_result_clear(&r);
	intents_free(in);
	diag_free(&d);
}

TEST(reply_picking)
{
	struct diag d;
	struct intents *in = load(set, &d, NULL);
	const struct intent *t = NULL;
	const char *lang;
	int seen[3] = { 0, 0, 0 };

	CHECK(in != NULL);
	for (size_t i = 0; i < in->n; i++)
		if (strcmp(in->v[i].name, "thanks") == 0)
			t = &in->v[i];
	CHECK(t != NULL);
	CHECK_STR(intent_pick_reply(t, "de", NULL, "en", 7, &lang), "danke!");
	CHECK_STR(intent_pick_reply(t, "fr", "de", "en", 7, &lang), "danke!");
	for (uint64_t s = 0; s < 30; s++)
		seen[intent_pick_reply(t, "fr", NULL, "en", s, &lang)[0] - 'a'] = 1;
	CHECK(seen[0] && seen[1] && seen[2]);
	CHECK_STR(intent_pick_reply(t, "en", NULL, "en", 4, &lang), intent_pick_reply(t, "en", NULL, "en", 4, &lang));
	intents_free(in);
	diag_free(&d);
}

TEST(limits_stop_catastrophic_patterns)
{
	struct diag d;
	struct intents *in = load(
	    "intents:\n  - name: evil\n    priority: 1\n    patterns: ['^(a+)+$', '(x+x+)+y']\n"
	    "  - name: after\n    priority: 2\n    patterns: ['a']\n", &d, NULL);
	struct match_result r;
	char text[20001];
	struct timespec t0, t1;

	CHECK(in != NULL);
	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '!';
	text[sizeof(text) - 1] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(match(in, text, "x", NULL, 0, &r) == NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(r.limit_hit, 1);
	CHECK_STR(r.limit_intent->name, "evil");
	/* bounded by the limits, not by the text (a generous bound, not a benchmark) */
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	match_result_clear(&r);
	intents_free(in);
	diag_free(&d);
}

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* With the default limits, adversarial patterns (exponential and polynomial backtracking)
 * on 20 KB mentions cost at most 10 ms of matching each; the limit hit is reported. */
TEST(redos_costs_at_most_10ms_per_mention)
{
	static const char *const shapes[] = { "a", "ab", "a ", "x1", "é" };
	static const char *const evil[] = { "^(a+)+$", "(\\w+\\s?)*!", "(x+x+)+y", "(.*a){12}z",
		"\\s*\\w+\\s*\\w+\\s*=$", "(?:a|ab)*c", "([a-zé]+)*\\d", "(?:a*)*b", NULL };
	double bound = getenv("ACKBOT_TEST_WRAPPER") ? 1e9 : 10.0, worst = 0;
	size_t hits = 0, warned = 0;
	static char text[20480 + 8];

	for (int e = 0; evil[e]; e++) {
		struct diag d;
		struct config *c;
		char p[160], yaml[512];

		snprintf(yaml, sizeof(yaml), "intents:\n  - name: evil\n    priority: 1\n"
		    "    patterns: ['%s']\n  - name: after\n    priority: 2\n    patterns: ['zzz']\n",
		    evil[e]);
		put("i/x.yaml", yaml);
		put("c.yaml", "bot: {handles: [brand]}\nintents: {paths: [i]}\n");	/* default limits */
		snprintf(p, sizeof(p), "%s/c.yaml", dir);
		diag_init(&d);
		c = config_load(p, &d);
		CHECK(c != NULL);
		struct intents *in = intents_load(c, &d);
		CHECK(in != NULL);
		warned += d.warnings > 0;
		in->no_prefilter = 1;	/* PCRE2 itself, every time */
		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
			size_t n = 0, l = strlen(shapes[k]);
			while (n + l < 20480) {
				memcpy(text + n, shapes[k], l);
				n += l;
			}
			text[n++] = '!';
			text[n] = '\0';
			struct match_result r;
			double t0 = cpu_ms();
			match(in, text, "x", NULL, 0, &r);
			double ms = cpu_ms() - t0;
			if (ms > worst)
				worst = ms;
			hits += (size_t)r.limit_hit;
			match_result_clear(&r);
		}
		intents_free(in);
		config_free(c);
		diag_free(&d);
	}
	printf("    worst %.2f ms of matching on a 20 KB mention, %zu limit hits, %zu of 8 warned\n",
	    worst, hits, warned);
	CHECK(worst <= bound);
	CHECK(hits >= 4);
	CHECK(warned >= 4);	/* `check` names the nested repeats */
}

TEST(load_errors)
{
	struct diag d;
	struct intents *in = load(
	    "intents:\n"
	    "  - name: a\n"
	    "    priority: 1\n"
	    "    patterns: ['(']\n"
	    "  - name: a\n"
	    "    priority: x\n"
	    "    patterns: ['b']\n"
	    "  - name: Bad-Name\n"
	    "    patterns: ['c']\n"
	    "  - name: d\n"
	    "    priority: 4\n"
	    "    patterns: ['d']\n"
	    "    reply: 'hi {{author'\n"
	    "    handoff: {queue: q, priority: asap}\n"
	    "    colour: red\n"
	    "  - name: e\n"
	    "    priority: 5\n"
	    "    patterns: ['(?<ordr>x)']\n"
	    "    reply: '{{order}}'\n", &d, NULL);

	CHECK(in == NULL);
	CHECK(diag_has(&d, 4, 16, "pattern '(' does not compile: missing closing parenthesis at offset 1"));
	CHECK(diag_has(&d, 6, 15, "invalid value 'x' for 'priority' (expected an integer from -1000000 to 1000000)"));
	CHECK(diag_has(&d, 8, 11, "invalid intent name 'Bad-Name'"));
	CHECK(diag_has(&d, 13, 12, "template: unclosed '{{' at offset 3"));
	CHECK(diag_has(&d, 14, 35, "invalid value 'asap' for 'handoff.priority' (expected urgent, high, normal or low)"));
	CHECK(diag_has(&d, 15, 5, "unknown key 'colour' in an intent"));
	CHECK(diag_has(&d, 19, 13, "unknown template variable 'order' in intent 'e'"));
	/* an unknown variable is an error, and the hint names the closest group */
	CHECK_INT(d.items[d.n - 1].severity, DIAG_ERROR);
	CHECK(d.items[d.n - 1].hint != NULL && strstr(d.items[d.n - 1].hint, "did you mean {{ordr}}?") != NULL);
	diag_free(&d);
}

TEST(verify_reports)
{
	struct diag d;
	struct intents *in = load(
	    "intents:\n  - name: t\n    priority: 1\n    patterns: ['#(?<order>\\w+)']\n"
	    "    examples:\n      match: [{text: '#abc', captures: {order: abd}}, '@brand #x']\n"
	    "      no_match: ['hello']\n", &d, NULL);
	const char *const h[] = { "brand" };
	size_t ok, bad;
	char buf[2048] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	CHECK(in != NULL);
	CHECK_INT(intents_verify(in, h, 1, f, &ok, &bad), 1);
	fclose(f);
	CHECK_INT(ok, 2);
	CHECK_INT(bad, 1);
	CHECK(strstr(buf, "  - expected: t with order=abd\n  + got:      t with order=abc") != NULL);
	CHECK(strstr(buf, "2 examples passed, 1 failed") != NULL);
	intents_free(in);
	diag_free(&d);
}

int
main(void)
{
	char p[96];

	snprintf(dir, sizeof(dir), "/tmp/ackbot-test-intents-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(p, sizeof(p), "%s/i", dir);
	mkdir(p, 0700);
	RUN(order_captures_excludes);
	RUN(conditions);
	RUN(reply_picking);
	RUN(limits_stop_catastrophic_patterns);
	RUN(redos_costs_at_most_10ms_per_mention);
	RUN(load_errors);
	RUN(verify_reports);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", dir);
	}
	UNIT_DONE("test_intents");
}
