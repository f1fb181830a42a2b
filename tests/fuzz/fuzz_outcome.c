/* fuzz_outcome.c - libFuzzer target: the sender's HTTP outcome classifier on whatever a
 * platform answers: any status, any Retry-After / X-RateLimit-Reset text. The wait it
 * derives is never negative and never past an hour; a 2xx is always sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "sender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpc_result r;
	struct send_outcome o;
	char *buf, *reset;
	size_t cut;

	if (size < 3)
		return 0;
	memset(&r, 0, sizeof(r));
	r.status = (long)(data[0] | data[1] << 8) % 700;
	r.curl_code = data[2] == 0xff;
	r.error = "transfer failed";
	buf = malloc(size - 3 + 2);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 3, size - 3);
	buf[size - 3] = '\0';
	buf[size - 2] = '\0';
	/* "retry-after\nreset": the two header values */
	cut = strcspn(buf, "\n");
	reset = buf[cut] == '\n' ? buf + cut + 1 : buf + cut;
	buf[cut] = '\0';
	r.retry_after = *buf ? buf : NULL;
	r.ratelimit_reset = *reset ? reset : NULL;
	r.body = "";
	sender_classify_http(&r, 1700000000000LL, &o);
	if (o.result == SEND_RETRY && o.retry_after_ms != -1 &&
	    (o.retry_after_ms < 0 || o.retry_after_ms > 3600000))
		abort();
	if (!r.curl_code && r.status >= 200 && r.status < 300 && o.result != SEND_OK)
		abort();
	free(buf);
	return 0;
}
