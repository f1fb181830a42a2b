/* bench_guard.c - the second opinion's cost, for `make bench`.
 *
 *   bench_guard CONFIG CORPUS.jsonl
 *
 * Prints one JSON object: the model file's size, its load time (median of 20 loads), and
 * the mean microseconds per mention over the corpus texts (realistic mentions in ten
 * languages) of language identification alone, the classifier alone (features + liblinear),
 * both together, and the whole decision (text preparation, patterns, entities, signals,
 * language, guard: decide_plan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "decide.h"
#include "guard.h"
#include "intents.h"
#include "langid.h"
#include "text.h"
#include "train.h"

#define ROUNDS 20

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static const char *const handles[] = { "brand" };
	struct diag d;
	struct config *c;
	struct intents *in;
	struct guard_model *g;
	struct labelled *v;
	struct ack_err err;
	struct stat sb;
	double loads[ROUNDS], p[G_NCLASS], t0, lang_us, cls_us, both_us, decide_us;
	char **texts;
	size_t n;
	volatile double sink = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_guard CONFIG CORPUS.jsonl\n");
		return 2;
	}
	diag_init(&d);
	if ((c = config_load(argv[1], &d)) == NULL || (in = intents_load(c, &d)) == NULL) {
		diag_print(&d, stderr);
		return 1;
	}
	diag_free(&d);
	if (stat(c->guard_model, &sb) != 0) {
		fprintf(stderr, "bench_guard: no model at %s (make builds it)\n", c->guard_model);
		return 1;
	}
	for (int i = 0; i < ROUNDS; i++) {
		t0 = now_us();
		if (guard_model_load(&g, c->guard_model, &err) != 0) {
			fprintf(stderr, "bench_guard: %s\n", err.msg);
			return 1;
		}
		loads[i] = (now_us() - t0) / 1e3;
		if (i + 1 < ROUNDS)
			guard_model_free(g);
	}
	qsort(loads, ROUNDS, sizeof(loads[0]), cmp_double);
	in->guard = g;
	if (corpus_read(argv[2], &v, &n, &err) != 0 || n == 0) {
		fprintf(stderr, "bench_guard: %s\n", err.msg);
		return 1;
	}
	texts = calloc(n, sizeof(*texts));
	for (size_t i = 0; i < n; i++)
		texts[i] = text_for_matching(v[i].text, strlen(v[i].text), handles, 1);

	t0 = now_us();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++) {
			struct langid_guess lg[3];
			langid_detect(texts[i], strlen(texts[i]), NULL, lg);
			sink += lg[0].confidence;
		}
	lang_us = (now_us() - t0) / (ROUNDS * (double)n);
	t0 = now_us();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++) {
			guard_classify(g, texts[i], p, NULL);
			sink += p[0];
		}
	cls_us = (now_us() - t0) / (ROUNDS * (double)n);
	t0 = now_us();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++) {
			struct langid_guess lg[3];
			langid_detect(texts[i], strlen(texts[i]), NULL, lg);
			guard_classify(g, texts[i], p, NULL);
			sink += p[0] + lg[0].confidence;
		}
	both_us = (now_us() - t0) / (ROUNDS * (double)n);
	t0 = now_us();
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++) {
			struct mention m;
			struct plan pl;
			memset(&m, 0, sizeof(m));
			m.source = (char *)"webhook";
			m.platform_id = (char *)"bench";
			m.text = v[i].text;
			m.author_id = m.author_handle = (char *)"customer";
			if (decide_plan(c, in, &m, NULL, 0, &pl, NULL) == 0)
				sink += pl.reply;
			decide_plan_clear(&pl);
		}
	decide_us = (now_us() - t0) / (ROUNDS * (double)n);
	printf("{\"model_bytes\": %lld, \"model_load_ms\": %.2f, \"mentions\": %zu, "
	    "\"langid_us\": %.2f, \"classify_us\": %.2f, \"langid_and_classify_us\": %.2f, "
	    "\"decide_us\": %.2f, \"trained_on\": %zu, \"version\": \"%s\"}\n",
	    (long long)sb.st_size, loads[ROUNDS / 2], n, lang_us, cls_us, both_us, decide_us,
	    guard_model_trained_on(g), guard_model_version(g));
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	labelled_free(v, n);
	intents_free(in);
	config_free(c);
	return sink < 0;
}
