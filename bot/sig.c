/* sig.c - Standard Webhooks signing and verification with OpenSSL's HMAC. */
#include "sig.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

static int
b64_decode(const char *in, size_t inlen, unsigned char *out, size_t cap, size_t *outlen)
{
	size_t pad = 0;
	int n;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > cap)
		return -1;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=') {
			if (i < inlen - 2)
				return -1;
			pad++;
		} else if (!(isalnum(c) || c == '+' || c == '/') || pad > 0) {
			return -1;
		}
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
	if (n < 0 || (size_t)n < pad)
		return -1;
	*outlen = (size_t)n - pad;
	return 0;
}

int
sig_key_parse(struct sig_key *k, const char *secret, struct ack_err *err)
{
	const char *b = secret;

	memset(k, 0, sizeof(*k));
	if (strncmp(b, "whsec_", 6) == 0)
		b += 6;
	if (b64_decode(b, strlen(b), k->key, sizeof(k->key), &k->len) != 0 || k->len == 0)
		return ack_fail(err, ACK_EINVAL,
		    "webhook secret is not 'whsec_' followed by base64 (e.g. whsec_$(head -c 32 /dev/urandom | base64))");
	return 0;
}

/* HMAC-SHA256(key, "id.ts.body") into out. Returns 0, or -1 if OpenSSL cannot compute it
 * (no HMAC or SHA256 in the library context, out of memory): then out is all zeros and must
 * not be used, neither to sign nor to compare. */
static int
mac(const struct sig_key *k, const char *id, const char *ts, const void *body, size_t len,
    unsigned char out[32])
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok;

	memset(out, 0, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = c != NULL && EVP_MAC_init(c, k->key, k->len, params) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)ts, strlen(ts)) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)".", 1) == 1 &&
	    EVP_MAC_update(c, body, len) == 1 &&
	    EVP_MAC_final(c, out, &outl, 32) == 1 && outl == 32;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	if (!ok) {
		OPENSSL_cleanse(out, 32);
		/* leave no stale entry for the TLS code on this thread (SSL_get_error reads it) */
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int
sig_sign(const struct sig_key *k, const char *id, const char *ts, const void *body, size_t len,
    char out[SIG_LEN])
{
	unsigned char d[32];

	if (mac(k, id, ts, body, len, d) != 0) {
		out[0] = '\0';	/* nothing a receiver could mistake for a signature */
		return -1;
	}
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, d, 32);	/* 44 characters + NUL */
	return 0;
}

int
sig_verify(const struct sig_key *k, const char *id, const char *ts, const char *sigs,
    const void *body, size_t len, int64_t now_s, int64_t tolerance_s)
{
	unsigned char want[32];
	const char *p;
	char *end;
	long long t;
	int ok = 0;

	if (id == NULL || *id == '\0' || ts == NULL || *ts == '\0' || sigs == NULL || *sigs == '\0')
		return SIG_EMISSING;
	for (p = ts; *p; p++)
		if (!isdigit((unsigned char)*p))
			return SIG_ETIMESTAMP;
	t = strtoll(ts, &end, 10);
	if (*end != '\0' || p - ts > 12 || t < now_s - tolerance_s || t > now_s + tolerance_s)
		return SIG_ETIMESTAMP;
	if (mac(k, id, ts, body, len, want) != 0)
		return SIG_EINTERNAL;	/* fail closed: never compare against a MAC we lack */
	p = sigs;
	while (*p) {
		const char *e;
		unsigned char got[48];
		size_t glen = 0;

		while (*p == ' ')
			p++;
		e = p;
		while (*e && *e != ' ')
			e++;
		if (e - p > 3 && strncmp(p, "v1,", 3) == 0 &&
		    b64_decode(p + 3, (size_t)(e - p - 3), got, sizeof(got), &glen) == 0 &&
		    glen == 32 && CRYPTO_memcmp(got, want, 32) == 0)
			ok = 1;		/* keep going: the time taken does not depend on which entry */
		p = e;
	}
	return ok ? SIG_OK : SIG_EMISMATCH;
}

const char *
sig_strerror(int rc)
{
	switch (rc) {
	case SIG_OK: return "ok";
	case SIG_EMISSING: return "missing webhook-id, webhook-timestamp or webhook-signature header";
	case SIG_ETIMESTAMP: return "webhook-timestamp outside the tolerance";
	case SIG_EMISMATCH: return "no valid signature";
	case SIG_EINTERNAL: return "cannot compute the signature";
	default: return "unknown";
	}
}
