/* fuzz_text.c - libFuzzer target: text prepared for matching, neutralisation, truncation.
 * Checks the promises: valid UTF-8 out, no '@' or '<' in neutralised text, caps kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const handles[] = { "brand", "acme" };
	char *m = text_for_matching((const char *)data, size, handles, 2);
	char *n, *in;
	size_t cap = size ? data[0] % 40 + 1 : 5;

	if (m == NULL)
		return 0;
	if (!text_is_valid_utf8(m, strlen(m)))
		abort();
	in = malloc(size + 1);
	if (in == NULL) {
		free(m);
		return 0;
	}
	memcpy(in, data, size);
	in[size] = '\0';
	n = text_neutralize(in, cap);
	if (n != NULL) {
		if (!text_is_valid_utf8(n, strlen(n)) || strchr(n, '@') || strchr(n, '<') ||
		    strchr(n, '\n') || text_graphemes(n) > cap)
			abort();
		free(n);
	}
	text_truncate(m, cap, "…");
	if (!text_is_valid_utf8(m, strlen(m)) || text_graphemes(m) > cap)
		abort();
	free(in);
	free(m);
	return 0;
}
