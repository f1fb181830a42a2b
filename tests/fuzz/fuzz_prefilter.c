/* fuzz_prefilter.c - libFuzzer target: the prefilter against plain PCRE2. The input is a
 * pattern, a newline, a text. Whenever PCRE2 (caseless, UTF, UCP, as intents compile)
 * matches the text, the prefilter must have marked the pattern: a miss would be an intent
 * silently skipped. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	static pcre2_match_context *mctx;
	int ec;
	PCRE2_SIZE eo;

	if (nl == NULL || memchr(data, '\0', (size_t)(nl - data)) != NULL)
		return 0;
	if (mctx == NULL) {
		mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(mctx, 20000);
		pcre2_set_depth_limit(mctx, 500);
	}
	char *pat = strndup((const char *)data, (size_t)(nl - data));
	const char *text = (const char *)nl + 1;
	size_t len = size - (size_t)(nl - data) - 1;
	uint32_t ucp = (size & 1) ? PCRE2_UCP : 0;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS |
	    PCRE2_UTF | ucp | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
	if (re == NULL) {
		free(pat);
		return 0;
	}
	struct prefilter *pf = prefilter_new(ucp != 0);
	if (prefilter_add(pf, pat) != 0 || prefilter_build(pf) != 0)
		abort();
	char *fold = malloc(prefilter_fold_size(len));
	uint64_t hits[1];
	prefilter_scan(pf, text, len, hits, fold);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)text, len, 0, 0, md, mctx);
	if (rc >= 0 && !prefilter_hit(hits, 0))
		abort();	/* PCRE2 matched a pattern the prefilter ruled out */
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	prefilter_free(pf);
	free(fold);
	free(pat);
	return 0;
}
