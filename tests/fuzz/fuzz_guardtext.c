/* fuzz_guardtext.c - libFuzzer target: what the second opinion reads from a mention's text.
 * Features (indices strictly ascending in 1..FEATURES_DIM, unit length, the bias node, the
 * terminator, the same result twice), language guesses (codes NUL-terminated, confidence
 * 0..1, the raw bytes with any NULs in them), personal data and link hosts (each host
 * non-empty lower-case domain characters, one callback per link counted). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featurize.h"
#include "langid.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_features(const struct features *f, double bias)
{
	size_t nf = f->n;
	double ss = 0;

	if (bias >= 0) {
		if (nf < 1 || f->x[nf - 1].index != (int)FEATURES_DIM + 1 || f->x[nf - 1].value != bias)
			abort();
		nf--;
	}
	if (f->x[f->n].index != -1)
		abort();
	for (size_t i = 0; i < nf; i++) {
		if (f->x[i].index < 1 || f->x[i].index > (int)FEATURES_DIM)
			abort();
		if (i > 0 && f->x[i].index <= f->x[i - 1].index)
			abort();
		if (!(f->x[i].value > 0) || !isfinite(f->x[i].value))
			abort();
		ss += f->x[i].value * f->x[i].value;
	}
	if (nf > 0 && fabs(ss - 1) > 1e-9)
		abort();
}

struct host_count {
	size_t n;
};

static void
on_host(const char *h, void *arg)
{
	struct host_count *c = arg;
	size_t len = strlen(h);

	if (len == 0 || len > 255 || h[len - 1] == '.')
		abort();
	for (size_t i = 0; i < len; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		    h[i] == '.'))
			abort();
	c->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct features f, g;	/* reused across runs, as the daemon does */
	static const char *const hints[] = { NULL, "en,es,fr,de,it,pt,nl,pl,tr,ja", "ja", "" };
	struct langid_guess lg[3];
	struct host_count hc = { 0 };
	double bias = size ? (data[0] % 3 == 0 ? -1 : data[0] % 3 == 1 ? 1.0 : 0.25) : 1.0;
	char *s = malloc(size + 1);
	int personal;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (features_of(&f, s, bias) != 0)
		abort();
	check_features(&f, bias);
	if (s[0] == '\0' && f.n != (bias >= 0 ? 1u : 0u))
		abort();	/* empty text: no feature nodes */
	if (features_of(&g, s, bias) != 0 || g.n != f.n)
		abort();
	for (size_t i = 0; i <= f.n; i++)
		if (g.x[i].index != f.x[i].index || g.x[i].value != f.x[i].value)
			abort();	/* deterministic */

	langid_detect((const char *)data, size, hints[size % 4], lg);
	for (int k = 0; k < 3; k++) {
		if (memchr(lg[k].code, '\0', sizeof(lg[k].code)) == NULL)
			abort();
		if (!(lg[k].confidence >= 0 && lg[k].confidence <= 1))
			abort();
		if (lg[k].code[0] == '\0' && lg[k].confidence != 0)
			abort();
	}
	if (size == 0 && lg[0].code[0] != '\0')
		abort();

	personal = text_looks_personal(s);
	if (personal != 0 && personal != 1)
		abort();
	if (text_link_hosts(s, on_host, &hc) != hc.n)
		abort();
	if (text_link_hosts(s, NULL, NULL) != hc.n)
		abort();
	free(s);
	return 0;
}
