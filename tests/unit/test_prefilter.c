/* test_prefilter.c - the literals read from patterns, case folding against PCRE2's own
 * caseless matching, and the differential tests: the shipped intents and 1,000 synthetic
 * patterns give the same result with and without the prefilter on a generated corpus. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <unistd.h>
#include <utf8proc.h>

#include "config.h"
#include "intents.h"
#include "prefilter.h"
#include "synth.h"
#include "text.h"
#include "unit.h"

static const char *
lits(const char *pattern)
{
	static char buf[512];
	struct prefilter *pf = prefilter_new(1);

	prefilter_add(pf, pattern);
	prefilter_build(pf);
	if (prefilter_always(pf, 0))
		snprintf(buf, sizeof(buf), "(always)");
	else
		prefilter_describe(pf, 0, buf, sizeof(buf));
	prefilter_free(pf);
	return buf;
}

TEST(literals_are_read_from_patterns)
{
	CHECK_STR(lits("\\bthank\\s+you\\b"), "\\bthank\\b");
	CHECK_STR(lits("\\bso\\b"), "\\bso\\b");
	CHECK_STR(lits("\\b(?:love|luv)"), "\\blove|\\bluv");
	CHECK_STR(lits("\\b(?:lo+ve|luv)"), "lo|luv");	/* a requirement, not a prefix */
	CHECK_STR(lits("x{2,}\\s+tea\\b"), "\\btea\\b");
	CHECK_STR(lits("(?:\\d+|\\s?)\\bcafé\\b"), "\\bcafé");
	CHECK_STR(lits("\\b#1\\b"), "#1\\b");
	CHECK_STR(lits("\\W+déjà\\W"), "\\bdéjà");	/* a bound only beside ASCII */
	CHECK_STR(lits("\\bévian\\b"), "évian\\b");
	CHECK_STR(lits("foo(?=\\b)bar"), "foobar");
	CHECK_STR(lits("(?:refund|money\\s+back)"), "refund|money\\b");
	CHECK_STR(lits("colou?r"), "colour|color");
	CHECK_STR(lits("[ée]t(?:é|e)"), "été|éte|eté|ete");
	CHECK_STR(lits("\\QA+B\\E"), "a+b");
	CHECK_STR(lits("x{3}"), "xxx");
	CHECK_STR(lits("ab{2,}c"), "abb");
	CHECK_STR(lits("Kelvin"), "kelvin");
	CHECK_STR(lits("ΣΟΦΙΑ"), "σοφια");
	CHECK_STR(lits("foo(?=bar)"), "foo");
	CHECK_STR(lits("(?<!not )great"), "great");
	CHECK_STR(lits("(?:a|b*)cd"), "cd");
	CHECK_STR(lits("\\d+ orders?"), " orders| order");
	CHECK_STR(lits("(?<order>#?[A-Z]\\d{4,})\\s+late"), "\\blate");
	CHECK_STR(lits("(?i)wow(?-i)WOW"), "wowwow");
	CHECK_STR(lits("a\\.b\\x{263a}"), "a.b\xe2\x98\xba");
	CHECK_STR(lits("(?#note)abc"), "abc");
	CHECK_STR(lits("❤️|<3"), "❤️|<3");
	CHECK_STR(lits("abc\\Kdef"), "abcdef");
}

TEST(unknown_constructs_run_always)
{
	static const char *const always[] = { "a|", "(?x) a b", "(a)\\1", "(?R)?x", "(?(1)a|b)",
		"(*UCP)abc", "\\Qab\\E?", "x{,3}", "a{2", ".*", "\\w+", "[^a]", "[a-z]+",
		"(?P=n)", "\\g{1}", "\\k<n>", "(?C1)abc", "\\N{U+41}", "a*", "(?|a|)", "(?:ab)?",
		"\\x{d800}", "B\\E?", "ab(?#c)+", "ab(?i)*", "a\\b?c", NULL };
	for (int i = 0; always[i]; i++) {
		if (strcmp(lits(always[i]), "(always)") != 0) {
			printf("    %s -> %s\n", always[i], lits(always[i]));
			CHECK(!"read literals from a pattern it must not");
		}
	}
}

/* Every code point PCRE2 matches caselessly against a literal must fold to the same code
 * point as the literal. Checked with PCRE2 itself over every code point with a case. */
static void
fold_check(int ucp, const char *unit_name)
{
	int32_t *cps = malloc(sizeof(int32_t) * 0x110000);
	size_t n = 0;
	char *subject;
	size_t len = 0;

	for (int32_t c = 1; c < 0x110000; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		const utf8proc_property_t *p = utf8proc_get_property(c);
		if (utf8proc_tolower(c) != c || utf8proc_toupper(c) != c || utf8proc_totitle(c) != c ||
		    p->casefold_seqindex != UINT16_MAX || (c >= 0x370 && c < 0x400) || c == 0x1fd3 ||
		    c == 0x1fe3 || c == 0xfb05)
			cps[n++] = c;
	}
	subject = malloc(n * 5 + 1);
	for (size_t i = 0; i < n; i++)
		len += (size_t)utf8proc_encode_char(cps[i], (utf8proc_uint8_t *)subject + len);
	subject[len] = '\0';
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		char pat[32];
		int ec;
		PCRE2_SIZE eo;
		snprintf(pat, sizeof(pat), "\\x{%x}", (unsigned)cps[i]);
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS |
		    PCRE2_UTF | (ucp ? PCRE2_UCP : 0), &ec, &eo, NULL);
		PCRE2_SIZE off = 0;
		while (re && pcre2_match(re, (PCRE2_SPTR)subject, len, off, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			utf8proc_int32_t got;
			utf8proc_iterate((const utf8proc_uint8_t *)subject + ov[0], 4, &got);
			if (prefilter_fold_cp(got) != prefilter_fold_cp(cps[i]) && bad++ < 10)
				printf("    U+%04X matches U+%04X caselessly but folds apart\n",
				    (unsigned)cps[i], (unsigned)got);
			off = ov[1];
		}
		pcre2_code_free(re);
	}
	pcre2_match_data_free(md);
	free(subject);
	free(cps);
	CHECK_INT(bad, 0);
}

TEST(case_folding_covers_pcre2_caseless_ucp) { fold_check(1, unit_name); }
TEST(case_folding_covers_pcre2_caseless_utf) { fold_check(0, unit_name); }

static char dir[64];

static struct intents *
load_dir(const char *intents_dir, const char *extra)
{
	char p[256];
	struct diag d;
	FILE *f;

	snprintf(p, sizeof(p), "%s/c.yaml", dir);
	f = fopen(p, "w");
	fprintf(f, "bot: {handles: [brand]}\nintents: {paths: [%s]%s}\n", intents_dir, extra);
	fclose(f);
	diag_init(&d);
	struct config *c = config_load(p, &d);
	struct intents *in = c ? intents_load(c, &d) : NULL;
	if (in == NULL)
		diag_print(&d, stdout);
	diag_free(&d);
	config_free(c);
	return in;
}

/* 1 when both runs agree on intent, pattern, captures and limit. */
static int
same(struct intents *in, const char *text, const char *lang)
{
	struct match_input mi = { text, "webhook", lang, 0 };
	struct match_result a, b;
	int ok;

	in->no_prefilter = 1;
	intents_match(in, &mi, &a, NULL);
	in->no_prefilter = 0;
	intents_match(in, &mi, &b, NULL);
	ok = a.intent == b.intent && a.pattern_index == b.pattern_index && a.ncaps == b.ncaps &&
	    a.limit_hit == b.limit_hit;
	for (size_t i = 0; ok && i < a.ncaps; i++)
		ok = strcmp(a.caps[i].name, b.caps[i].name) == 0 && strcmp(a.caps[i].value, b.caps[i].value) == 0;
	if (!ok)
		printf("    differs on \"%s\": %s/%d vs %s/%d\n", text, a.intent ? a.intent->name : "-",
		    a.pattern_index, b.intent ? b.intent->name : "-", b.pattern_index);
	match_result_clear(&a);
	match_result_clear(&b);
	return ok;
}

/* Variants of a text: as is, upper case, words swapped in from other texts, cut. */
static void
mutate(struct synth *g, const char *src, char *out, size_t size, const char *const *pool, size_t npool)
{
	size_t n = 0;
	unsigned how = synth_below(g, 6);

	out[0] = '\0';
	if (how == 0 || how == 1) {
		snprintf(out, size, "%s", src);
		if (how == 1)
			for (char *p = out; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 32);
		return;
	}
	/* splice: a prefix of src, a piece of another text, the rest of src */
	const char *o = pool[synth_below(g, (unsigned)npool)];
	size_t ls = strlen(src), lo = strlen(o);
	size_t cut = ls ? synth_below(g, (unsigned)ls + 1) : 0, ocut = lo ? synth_below(g, (unsigned)lo + 1) : 0;
	n = (size_t)snprintf(out, size, "%.*s %s %s", (int)cut, src, o + ocut, src + cut);
	if (how == 5 && n > 4)	/* drop a byte: typos (and invalid UTF-8) */
		memmove(out + n / 2, out + n / 2 + 1, n - n / 2);
}

/* Every text PCRE2 matches must be a hit, around \b and \s above all: every string of up
 * to five symbols (ASCII word and non-word characters, non-ASCII letters and marks, the
 * Kelvin sign and long s, no-break space, emoji) against patterns bounded on either side,
 * with and without UCP. It must also rule some out, or it tests nothing. */
TEST(word_bounds_never_rule_out_a_match)
{
	static const char *const pats[] = { "\\bso\\b", "\\bso", "so\\b", "x\\s+so",
		"so\\s+x", "\\b5\\b", "\\b_s\\b", "\\bſo\\b", "\\bsé\\b", "\\béso\\b",
		"\\Wso\\W", "\\b(?:so|ko)\\b", "\\b(?=s)so", "(?<=\\s)so", "s\\b(?!\\s)",
		"\\b\\Kso\\b", "(?:\\bso|xo)\\b", "\\b(?:s\\b|o)", "so\\h+\\bx", NULL };
	static const char *const sym[] = { "s", "o", "x", "k", "5", "_", " ", "-", "é",
		"\xcc\x81", "\xe2\x84\xaa", "\xc5\xbf", "\xc2\xa0", "\xf0\x9f\x91\x8d", "S" };
	enum { NSYM = sizeof(sym) / sizeof(sym[0]), LEN = 5 };
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	size_t missed = 0, ruled_out = 0, matched = 0;
	char text[64], fold[160];

	for (int ucp = 0; ucp < 2; ucp++)
		for (int k = 0; pats[k]; k++) {
			int ec;
			PCRE2_SIZE eo;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)pats[k], PCRE2_ZERO_TERMINATED,
			    PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (ucp ? PCRE2_UCP : 0),
			    &ec, &eo, NULL);
			struct prefilter *pf = prefilter_new(ucp);
			CHECK(re != NULL);
			prefilter_add(pf, pats[k]);
			prefilter_build(pf);
			CHECK(!prefilter_always(pf, 0));
			for (int len = 1; len <= LEN; len++) {
				int idx[LEN] = { 0 };
				for (;;) {
					size_t n = 0;
					uint64_t hit;
					for (int i = 0; i < len; i++) {
						size_t l = strlen(sym[idx[i]]);
						memcpy(text + n, sym[idx[i]], l);
						n += l;
					}
					text[n] = '\0';
					prefilter_scan(pf, text, n, &hit, fold);
					int m = pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL) >= 0;
					matched += m;
					if (m && !prefilter_hit(&hit, 0) && missed++ < 10)
						printf("    %s (ucp %d) matches \"%s\" but was ruled out\n",
						    pats[k], ucp, text);
					ruled_out += !prefilter_hit(&hit, 0);
					int i = 0;
					while (i < len && ++idx[i] == NSYM)
						idx[i++] = 0;
					if (i == len)
						break;
				}
			}
			prefilter_free(pf);
			pcre2_code_free(re);
		}
	pcre2_match_data_free(md);
	printf("    %zu matches, %zu texts ruled out\n", matched, ruled_out);
	CHECK_INT(missed, 0);
	CHECK(matched > 1000);
	CHECK(ruled_out > 100000);
}

TEST(shipped_intents_same_with_and_without_prefilter)
{
	char shipped[4096];
	struct intents *in = load_dir(realpath("intents", shipped) ? shipped : "intents", "");
	const char *pool[4096];
	size_t npool = 0, checked = 0, matched = 0, bad = 0;
	struct synth *g = malloc(sizeof(*g));
	char text[2048];

	CHECK(in != NULL);
	synth_init(g, 7);
	for (size_t i = 0; i < in->n; i++)
		for (size_t e = 0; e < in->v[i].nexamples && npool < 4096; e++)
			pool[npool++] = in->v[i].examples[e].text;
	CHECK(npool > 100);
	int rounds = getenv("ACKBOT_TEST_WRAPPER") ? 2 : 60;	/* under valgrind: a sample */
	for (int round = 0; round < rounds; round++)
		for (size_t i = 0; i < npool; i++) {
			mutate(g, pool[i], text, sizeof(text), pool, npool);
			char *m = text_for_matching(text, strlen(text), (const char *const[]){ "brand" }, 1);
			struct match_input mi = { m, "webhook", NULL, 0 };
			struct match_result r;
			intents_match(in, &mi, &r, NULL);
			matched += r.intent != NULL;
			match_result_clear(&r);
			bad += !same(in, m, round % 2 ? "en" : NULL);
			bad += !same(in, text, NULL);	/* and the raw text, not NFC */
			checked += 2;
			free(m);
		}
	printf("    %zu texts compared, %zu matched an intent\n", checked, matched);
	intents_free(in);
	free(g);
	CHECK_INT(bad, 0);
	CHECK(matched > checked / 4);
}

TEST(thousand_synthetic_patterns_same_with_and_without_prefilter)
{
	char p[128], text[1024];
	size_t bad = 0, matched = 0, always = 0;
	struct synth *g = malloc(sizeof(*g));

	snprintf(p, sizeof(p), "mkdir -p %s/synth", dir);
	CHECK(system(p) == 0);
	snprintf(p, sizeof(p), "%s/synth/synth.yaml", dir);
	FILE *f = fopen(p, "w");
	synth_init(g, 42);
	synth_intents(g, f, 1000);
	fclose(f);
	snprintf(p, sizeof(p), "%s/synth", dir);
	struct intents *in = load_dir(p, "");
	CHECK(in != NULL);
	for (size_t i = 0; i < prefilter_count(in->pf); i++)
		always += (size_t)prefilter_always(in->pf, i);
	printf("    %zu patterns and excludes, %zu run always\n", prefilter_count(in->pf), always);
	CHECK(always < prefilter_count(in->pf) / 20);
	int nm = getenv("ACKBOT_TEST_WRAPPER") ? 150 : 4000;
	for (int i = 0; i < nm; i++) {
		synth_mention(g, text, sizeof(text), 280);
		struct match_input mi = { text, "webhook", NULL, 0 };
		struct match_result r;
		intents_match(in, &mi, &r, NULL);
		matched += r.intent != NULL;
		match_result_clear(&r);
		bad += !same(in, text, NULL);
	}
	printf("    %d mentions compared, %zu matched an intent\n", nm, matched);
	intents_free(in);
	free(g);
	CHECK_INT(bad, 0);
	CHECK(matched > (size_t)nm / 20);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ackbot-unit-pf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(literals_are_read_from_patterns);
	RUN(word_bounds_never_rule_out_a_match);
	RUN(unknown_constructs_run_always);
	RUN(case_folding_covers_pcre2_caseless_ucp);
	RUN(case_folding_covers_pcre2_caseless_utf);
	RUN(shipped_intents_same_with_and_without_prefilter);
	RUN(thousand_synthetic_patterns_same_with_and_without_prefilter);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	UNIT_DONE("test_prefilter");
}
