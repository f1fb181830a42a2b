/* fuzz_webhook.c - libFuzzer target: the webhook body parser and UTF-8 check, on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mention.h"
#include "text.h"
#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mention m;
	char why[256];

	if (!text_is_valid_utf8((const char *)data, size))
		return 0;	/* the handler answers 400 before parsing */
	memset(&m, 0, sizeof(m));
	if (webhook_parse_mention((const char *)data, size, &m, why, sizeof(why)) == 0) {
		/* what the parser accepts must satisfy the contract the pipeline relies on */
		if (m.platform_id == NULL || *m.platform_id == '\0' || m.text == NULL ||
		    m.author_id == NULL || m.author_handle == NULL)
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	mention_clear(&m);
	return 0;
}
