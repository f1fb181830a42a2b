/* fuzz_model.c - libFuzzer target: model files (guard.h). The bytes as a file: refused or
 * loaded, never a crash. Inputs starting with '!' also build a full-size file from the rest
 * (its first GUARD_HEADER bytes the header, zero-padded; the remaining bytes repeated as
 * small weights) with a correct SHA-256, so the checks past the checksum (class names) and
 * accepted models are reached too. An accepted model must classify a fixed text into
 * probabilities that sum to 1 (when its numbers are sane: a finite, moderate bias). */
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featurize.h"
#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FULL (GUARD_HEADER + ((size_t)FEATURES_DIM + 1) * G_NCLASS * 4 + SHA256_DIGEST_LENGTH)

static void
check_model(struct guard_model *g, int sane)
{
	static const char *const texts[] = { "my order never arrived, still waiting 😡", "" };
	const char *v = guard_model_version(g);
	struct ack_err err;
	double p[G_NCLASS];

	if (strlen(v) != 12 || strspn(v, "0123456789abcdef") != 12)
		abort();
	for (size_t t = 0; t < 2; t++) {
		double sum = 0;
		if (guard_classify(g, texts[t], p, &err) != 0)
			abort();
		for (int k = 0; k < G_NCLASS; k++)
			sum += p[k];
		if (sane && !(fabs(sum - 1) < 1e-6))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *full;
	struct guard_model *g = (struct guard_model *)1;
	struct ack_err err;
	int rc;

	rc = guard_model_parse(&g, data, size, "fuzz.model", &err);
	if ((rc == 0) != (g != NULL))
		abort();
	if (rc != 0 && (err.code != rc || strstr(err.msg, "fuzz.model") == NULL))
		abort();
	if (g != NULL) {
		check_model(g, 0);	/* weights straight from the input: anything goes */
		guard_model_free(g);
	}
	if (size == 0 || data[0] != '!')
		return 0;

	if (full == NULL && (full = malloc(FULL)) == NULL)
		return 0;
	size_t hn = size - 1 < GUARD_HEADER ? size - 1 : GUARD_HEADER;
	const uint8_t *rest = data + 1 + hn;
	size_t rn = size - 1 - hn;
	memset(full, 0, GUARD_HEADER);
	memcpy(full, data + 1, hn);
	for (size_t i = 0; i < ((size_t)FEATURES_DIM + 1) * G_NCLASS; i++) {
		float w = rn ? (float)(int8_t)rest[i % rn] / 16.0f : 0.0f;
		memcpy(full + GUARD_HEADER + 4 * i, &w, sizeof(w));
	}
	SHA256(full, FULL - SHA256_DIGEST_LENGTH, full + FULL - SHA256_DIGEST_LENGTH);
	g = (struct guard_model *)1;
	rc = guard_model_parse(&g, full, FULL, "fuzz.model", &err);
	if ((rc == 0) != (g != NULL))
		abort();
	if (rc == 0) {
		double bias;
		char hex[13];
		memcpy(&bias, full + 32, sizeof(bias));
		for (int i = 0; i < 6; i++)
			snprintf(hex + 2 * i, 3, "%02x", full[FULL - SHA256_DIGEST_LENGTH + i]);
		if (strcmp(hex, guard_model_version(g)) != 0)
			abort();
		check_model(g, isnan(bias) || (isfinite(bias) && fabs(bias) <= 1e6));
		guard_model_free(g);
	}
	return 0;
}
