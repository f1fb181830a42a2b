/* test_sig.c - Standard Webhooks signing and verification, against the spec's test vector. */
#include "sig.h"
#include "unit.h"

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

int
main(void)
{
	RUN(test_vector);
	RUN(verify_ok_and_rotation);
	RUN(verify_rejects);
	RUN(bad_secrets);
	UNIT_DONE("test_sig");
}
