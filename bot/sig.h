/* sig.h - Standard Webhooks signatures (standardwebhooks.com): HMAC-SHA256 over
 * "id.timestamp.body", base64, "v1," prefix; secrets serialised as "whsec_<base64 key>". */
#ifndef ACKBOT_SIG_H
#define ACKBOT_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SIG_MAX_KEY 256
#define SIG_LEN 48		/* "v1," + 44 base64 characters + NUL */

struct sig_key {
	unsigned char key[SIG_MAX_KEY];
	size_t len;
};

/* Decodes "whsec_<base64>" (the prefix is optional) into k. */
int sig_key_parse(struct sig_key *k, const char *secret, struct ack_err *err);

/* Writes "v1,<base64 HMAC-SHA256(key, id.ts.body)>" into out and returns 0; returns -1
 * (out is then "") if OpenSSL cannot compute the MAC: the caller must not send. */
int sig_sign(const struct sig_key *k, const char *id, const char *ts, const void *body,
    size_t len, char out[SIG_LEN]);

enum {
	SIG_OK = 0,
	SIG_EMISSING = -1,	/* a header is missing or empty */
	SIG_ETIMESTAMP = -2,	/* not an integer, or outside the tolerance */
	SIG_EMISMATCH = -3,	/* no v1 entry matches */
	SIG_EINTERNAL = -4,	/* the MAC cannot be computed (OpenSSL failed): rejected */
};

/* Checks a webhook-signature header (space-separated "v1,<b64>" entries; any match is
 * enough) in constant time, and the timestamp against now_s +- tolerance_s. Returns SIG_OK
 * only when a MAC was computed and matched: if it cannot be computed, SIG_EINTERNAL. */
int sig_verify(const struct sig_key *k, const char *id, const char *ts, const char *sigs,
    const void *body, size_t len, int64_t now_s, int64_t tolerance_s);

const char *sig_strerror(int rc);

#endif
