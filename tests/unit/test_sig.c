/* test_sig.c - Standard Webhooks signing and verification, against the spec's test vector. */
#include "sig.h"
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/provider.h>

#define SECRET "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define BODY "{\"id\":\"m-1\",\"text\":\"hi\"}"
#define WANT "v1,+FsrhDAqKvW2xYLlTqSg1vOW7ZmWK4KqWf80xX72Ovs="

TEST(test_vector)
{
	struct sig_key k;
	char sig[SIG_LEN];

	CHECK_INT(sig_key_parse(&k, SECRET, NULL), 0);
	CHECK_INT(k.len, 32);
	CHECK(memcmp(k.key, "0123456789abcdef0123456789abcdef", 32) == 0);
	sig_sign(&k, "msg_1", "1700000000", BODY, strlen(BODY), sig);
	CHECK_STR(sig, WANT);
}

TEST(verify_ok_and_rotation)
{
	struct sig_key k;

	sig_key_parse(&k, SECRET, NULL);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", WANT, BODY, strlen(BODY), 1700000000, 300), SIG_OK);
	/* a stale entry first, the valid one second: any valid entry is enough */
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000",
	    "v1,AAAAhDAqKvW2xYLlTqSg1vOW7ZmWK4KqWf80xX72Ovs= " WANT, BODY, strlen(BODY),
	    1700000100, 300), SIG_OK);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", "v2,abc " WANT, BODY, strlen(BODY),
	    1700000000, 300), SIG_OK);
}

TEST(verify_rejects)
{
	struct sig_key k;

	sig_key_parse(&k, SECRET, NULL);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", WANT, BODY "x", strlen(BODY) + 1, 1700000000, 300), SIG_EMISMATCH);
	CHECK_INT(sig_verify(&k, "msg_2", "1700000000", WANT, BODY, strlen(BODY), 1700000000, 300), SIG_EMISMATCH);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", WANT, BODY, strlen(BODY), 1700000301, 300), SIG_ETIMESTAMP);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", WANT, BODY, strlen(BODY), 1699999699, 300), SIG_ETIMESTAMP);
	CHECK_INT(sig_verify(&k, "msg_1", "17000x0000", WANT, BODY, strlen(BODY), 1700000000, 300), SIG_ETIMESTAMP);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", "", BODY, strlen(BODY), 1700000000, 300), SIG_EMISSING);
	CHECK_INT(sig_verify(&k, NULL, "1700000000", WANT, BODY, strlen(BODY), 1700000000, 300), SIG_EMISSING);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", "v1,!!!!", BODY, strlen(BODY), 1700000000, 300), SIG_EMISMATCH);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", "+FsrhDAqKvW2xYLlTqSg1vOW7ZmWK4KqWf80xX72Ovs=", BODY, strlen(BODY), 1700000000, 300), SIG_EMISMATCH);
}

TEST(bad_secrets)
{
	struct sig_key k;
	struct ack_err err;

	CHECK(sig_key_parse(&k, "whsec_", &err) != 0);
	CHECK(sig_key_parse(&k, "whsec_not base64!", &err) != 0);
	CHECK(sig_key_parse(&k, "whsec_abc", &err) != 0);
	CHECK(strstr(err.msg, "whsec_") != NULL);
	CHECK_INT(sig_key_parse(&k, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", NULL), 0);
	CHECK_INT(k.len, 32);
}

/* 32 NUL bytes: what the old mac() left in place of a MAC it could not compute */
#define ZERO_SIG "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* Makes HMAC really unavailable: the thread's default library context becomes an empty one
 * with only the "null" provider (no algorithms), so EVP_MAC_fetch(NULL, "HMAC", NULL) fails
 * in sig.c exactly as with a broken OpenSSL install or configuration. */
struct no_mac {
	OSSL_LIB_CTX *ctx, *prev;
	OSSL_PROVIDER *null;
};

static int
no_mac_begin(struct no_mac *n)
{
	n->prev = NULL;
	n->null = NULL;
	n->ctx = OSSL_LIB_CTX_new();
	if (n->ctx == NULL)
		return -1;
	n->null = OSSL_PROVIDER_load(n->ctx, "null");
	if (n->null == NULL) {
		OSSL_LIB_CTX_free(n->ctx);
		return -1;
	}
	n->prev = OSSL_LIB_CTX_set0_default(n->ctx);
	return n->prev != NULL ? 0 : -1;
}

static void
no_mac_end(struct no_mac *n)
{
	OSSL_LIB_CTX_set0_default(n->prev);
	OSSL_PROVIDER_unload(n->null);
	OSSL_LIB_CTX_free(n->ctx);
}

TEST(mac_failure_fails_closed)
{
	struct sig_key k;
	struct no_mac n;
	EVP_MAC *probe;
	char good[SIG_LEN], sig[SIG_LEN];
	int fetched, rc_zero, rc_good, rc_rot, rc_sign;

	CHECK_INT(sig_key_parse(&k, SECRET, NULL), 0);
	CHECK_INT(sig_sign(&k, "msg_1", "1700000000", BODY, strlen(BODY), good), 0);
	CHECK_STR(good, WANT);
	CHECK_INT(no_mac_begin(&n), 0);
	/* no CHECK until the default context is back: a CHECK returns */
	probe = EVP_MAC_fetch(NULL, "HMAC", NULL);
	fetched = probe != NULL;
	EVP_MAC_free(probe);
	rc_zero = sig_verify(&k, "msg_1", "1700000000", ZERO_SIG, BODY, strlen(BODY),
	    1700000000, 300);
	rc_good = sig_verify(&k, "msg_1", "1700000000", good, BODY, strlen(BODY),
	    1700000000, 300);
	rc_rot = sig_verify(&k, "msg_1", "1700000000", "v1,!!!! " ZERO_SIG " " WANT, BODY,
	    strlen(BODY), 1700000000, 300);
	memset(sig, 'x', sizeof(sig));
	rc_sign = sig_sign(&k, "msg_1", "1700000000", BODY, strlen(BODY), sig);
	no_mac_end(&n);

	CHECK_INT(fetched, 0);		/* the setup really removed HMAC */
	CHECK_INT(rc_zero, SIG_EINTERNAL);
	CHECK_INT(rc_good, SIG_EINTERNAL);
	CHECK_INT(rc_rot, SIG_EINTERNAL);
	CHECK_INT(rc_sign, -1);
	CHECK_STR(sig, "");		/* nothing that could be sent as a signature */
	CHECK_STR(sig_strerror(SIG_EINTERNAL), "cannot compute the signature");
	/* back on the real default context: everything works again */
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", good, BODY, strlen(BODY), 1700000000, 300), SIG_OK);
	CHECK_INT(sig_verify(&k, "msg_1", "1700000000", ZERO_SIG, BODY, strlen(BODY), 1700000000, 300), SIG_EMISMATCH);
	CHECK_INT(sig_sign(&k, "msg_1", "1700000000", BODY, strlen(BODY), sig), 0);
	CHECK_STR(sig, WANT);
}

TEST(missing_and_timestamp_checked_first)
{
	struct sig_key k;
	struct no_mac n;
	int rc_missing, rc_ts;

	/* the header checks need no MAC: their codes stay what they are when MAC is broken */
	CHECK_INT(sig_key_parse(&k, SECRET, NULL), 0);
	CHECK_INT(no_mac_begin(&n), 0);
	rc_missing = sig_verify(&k, "msg_1", "1700000000", "", BODY, strlen(BODY), 1700000000, 300);
	rc_ts = sig_verify(&k, "msg_1", "1700000000", ZERO_SIG, BODY, strlen(BODY), 1700001000, 300);
	no_mac_end(&n);
	CHECK_INT(rc_missing, SIG_EMISSING);
	CHECK_INT(rc_ts, SIG_ETIMESTAMP);
}

int
main(void)
{
	RUN(test_vector);
	RUN(verify_ok_and_rotation);
	RUN(verify_rejects);
	RUN(bad_secrets);
	RUN(mac_failure_fails_closed);
	RUN(missing_and_timestamp_checked_first);
	UNIT_DONE("test_sig");
}
