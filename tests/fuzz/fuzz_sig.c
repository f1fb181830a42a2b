/* fuzz_sig.c - libFuzzer target: webhook-signature header parsing and verification. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sig_key k;
	static int init;
	char *hdr = malloc(size + 1), good[SIG_LEN];

	if (!init) {
		sig_key_parse(&k, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", NULL);
		init = 1;
	}
	if (hdr == NULL)
		return 0;
	memcpy(hdr, data, size);
	hdr[size] = '\0';
	/* a random header never verifies; the right one always does, wherever it stands */
	if (sig_verify(&k, "msg_1", "1700000000", hdr, "body", 4, 1700000000, 300) == SIG_OK) {
		sig_sign(&k, "msg_1", "1700000000", "body", 4, good);
		if (strstr(hdr, good + 3) == NULL)
			abort();
	}
	sig_key_parse(&(struct sig_key){ 0 }, hdr, NULL);
	free(hdr);
	return 0;
}
