/* fuzz_template.c - libFuzzer target: template syntax check and rendering. The first line
 * of the input is the template, the rest an untrusted value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *nl, *out;
	size_t off = 0;
	struct ack_err err;
	int ok;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	struct tmpl_var v[] = { { "author", "@ana", 1 }, { "name", nl ? nl : "", 0 },
		{ "order", nl ? nl : "", 0 } };
	ok = template_check(buf, &off, &err) == 0;
	out = template_render(buf, v, 3, 100, &err);
	if (ok != (out != NULL) && err.code != ACK_ENOMEM)
		abort();	/* check and render must agree on what is valid */
	if (out != NULL) {
		if (!text_is_valid_utf8(out, strlen(out)) || text_graphemes(out) > 100)
			abort();
		free(out);
	}
	free(buf);
	return 0;
}
