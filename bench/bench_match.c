/* bench_match.c - intent matching cost, for `make bench`.
 *
 *   bench_match INTENTS_DIR TSV WORKDIR
 *
 * Prints one JSON object: for the shipped intents (INTENTS_DIR) and for 1,000 synthetic
 * patterns (tests/unit/synth.h), the load time (YAML, PCRE2 compile + JIT, prefilter) and
 * the mean microseconds per mention with and without the prefilter, on the mentions of TSV
 * (the real-mention regression set: intent, language, text) and on generated
 * 280-character mentions. Every mention is matched both ways and the results compared:
 * a difference is an error (exit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "intents.h"
#include "prefilter.h"
#include "synth.h"
#include "text.h"

#define ROUNDS 5

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double
cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static struct intents *
load(const char *work, const char *dir, double *ms)
{
	char p[4200];
	struct diag d;
	FILE *f;

	snprintf(p, sizeof(p), "%s/bench.yaml", work);
	if ((f = fopen(p, "w")) == NULL)
		return NULL;
	fprintf(f, "bot: {handles: [brand]}\nintents: {paths: [%s]}\n", dir);
	fclose(f);
	diag_init(&d);
	double t0 = now_us();
	struct config *c = config_load(p, &d);
	struct intents *in = c ? intents_load(c, &d) : NULL;
	*ms = (now_us() - t0) / 1e3;
	if (in == NULL)
		diag_print(&d, stderr);
	diag_free(&d);
	config_free(c);
	return in;
}

static int
agree(const struct match_result *a, const struct match_result *b)
{
	if (a->intent != b->intent || a->pattern_index != b->pattern_index ||
	    a->limit_hit != b->limit_hit || a->ncaps != b->ncaps)
		return 0;
	for (size_t i = 0; i < a->ncaps; i++)
		if (strcmp(a->caps[i].value, b->caps[i].value) != 0)
			return 0;
	return 1;
}

/* Mean µs per mention over texts, prefilter on or off; counts disagreements. */
static double
run(struct intents *in, char **texts, size_t n, int prefilter, size_t *matched, size_t *diffs)
{
	struct match_result r, ref;
	double t0;

	*matched = 0;
	in->no_prefilter = !prefilter;
	t0 = now_us();
	for (int round = 0; round < ROUNDS; round++)
		for (size_t i = 0; i < n; i++) {
			struct match_input mi = { texts[i], "mastodon", NULL, 0 };
			intents_match(in, &mi, &r, NULL);
			*matched += r.intent != NULL;
			match_result_clear(&r);
		}
	double us = (now_us() - t0) / (double)(ROUNDS * n);
	*matched /= ROUNDS;
	if (diffs != NULL) {
		*diffs = 0;
		for (size_t i = 0; i < n; i++) {
			struct match_input mi = { texts[i], "mastodon", NULL, 0 };
			in->no_prefilter = 0;
			intents_match(in, &mi, &r, NULL);
			in->no_prefilter = 1;
			intents_match(in, &mi, &ref, NULL);
			*diffs += !agree(&r, &ref);
			match_result_clear(&r);
			match_result_clear(&ref);
		}
	}
	in->no_prefilter = 0;
	return us;
}

static size_t
read_tsv(const char *path, char **out, size_t max)
{
	static const char *const handles[] = { "brand" };
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t'), *text = tab ? strchr(tab + 1, '\t') : NULL;
		if (line[0] == '#' || text == NULL)
			continue;
		text++;
		char *end = text + strcspn(text, "\t\n");
		out[n++] = text_for_matching(text, (size_t)(end - text), handles, 1);
	}
	fclose(f);
	return n;
}

static void
report(const char *name, struct intents *in, double load_ms, char **texts, size_t n,
    const char *corpus, int last, size_t *total_diffs)
{
	size_t matched, m2, diffs, always = 0;
	double on = run(in, texts, n, 1, &matched, &diffs);
	double off = run(in, texts, n, 0, &m2, NULL);

	for (size_t i = 0; i < prefilter_count(in->pf); i++)
		always += (size_t)prefilter_always(in->pf, i);
	/* patterns the prefilter leaves to PCRE2, per mention (at most; matching stops early) */
	size_t words = prefilter_words(in->pf), cand = 0;
	uint64_t *hits = calloc(words, sizeof(uint64_t));
	char *fold = malloc(prefilter_fold_size(8192));
	double scan0 = now_us();
	for (size_t i = 0; i < n; i++)
		if (strlen(texts[i]) < 8192)
			prefilter_scan(in->pf, texts[i], strlen(texts[i]), hits, fold);
	double scan = (now_us() - scan0) / (double)n;
	for (size_t i = 0; i < n; i++) {
		if (strlen(texts[i]) >= 8192)
			continue;
		prefilter_scan(in->pf, texts[i], strlen(texts[i]), hits, fold);
		for (size_t w = 0; w < words; w++)
			cand += (size_t)__builtin_popcountll(hits[w]);
	}
	free(hits);
	free(fold);
	*total_diffs += diffs + (matched != m2);
	printf("  \"%s/%s\": {\"patterns\": %zu, \"always_run\": %zu, \"load_ms\": %.1f, "
	    "\"mentions\": %zu, \"matched\": %zu, \"us_per_mention\": %.2f, "
	    "\"us_per_mention_without_prefilter\": %.2f, \"scan_us\": %.2f, \"candidates\": %.1f, "
	    "\"differences\": %zu}%s\n",
	    name, corpus, prefilter_count(in->pf), always, load_ms, n, matched, on, off, scan,
	    (double)cand / (double)n, diffs,
	    last ? "" : ",");
}

int
main(int argc, char **argv)
{
	static char *real[4096], *gen[2000];
	struct synth *g = malloc(sizeof(*g));
	char p[4200], buf[1024];
	double ms, t0;
	size_t nreal, diffs = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_match INTENTS_DIR TSV WORKDIR\n");
		return 2;
	}
	nreal = read_tsv(argv[2], real, 4096);
	synth_init(g, 2026);
	for (size_t i = 0; i < 2000; i++) {
		synth_mention(g, buf, sizeof(buf), 280);
		gen[i] = strdup(buf);
	}
	printf("{\n");
	struct intents *shipped = load(argv[3], argv[1], &ms);
	if (shipped == NULL || nreal == 0)
		return 1;
	report("shipped", shipped, ms, real, nreal, "real", 0, &diffs);
	report("shipped", shipped, ms, gen, 2000, "generated", 0, &diffs);

	snprintf(p, sizeof(p), "%s/synth", argv[3]);
	mkdir(p, 0755);
	char yaml[4300];
	snprintf(yaml, sizeof(yaml), "%s/synth.yaml", p);
	FILE *f = fopen(yaml, "w");
	if (f == NULL)
		return 1;
	synth_init(g, 42);
	synth_intents(g, f, 1000);
	fclose(f);
	struct intents *big = load(argv[3], p, &ms);
	if (big == NULL)
		return 1;
	report("synthetic_1000", big, ms, gen, 2000, "generated", 0, &diffs);
	report("synthetic_1000", big, ms, real, nreal, "real", 0, &diffs);

	/* text preparation (NFC, handles and URLs out) per mention, for scale */
	static const char *const handles[] = { "brand" };
	t0 = cpu_us();
	for (int round = 0; round < ROUNDS; round++)
		for (size_t i = 0; i < 2000; i++)
			free(text_for_matching(gen[i], strlen(gen[i]), handles, 1));
	printf("  \"text_for_matching_us\": %.2f,\n", (cpu_us() - t0) / (ROUNDS * 2000.0));
	printf("  \"differences\": %zu\n}\n", diffs);
	intents_free(shipped);
	intents_free(big);
	for (size_t i = 0; i < nreal; i++)
		free(real[i]);
	for (size_t i = 0; i < 2000; i++)
		free(gen[i]);
	free(g);
	return diffs ? 1 : 0;
}
