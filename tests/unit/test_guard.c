/* test_guard.c - the second opinion: features (hashed, sorted, unit length, folded), the
 * model file (refused when foreign, torn or damaged; its version), training (corpus files,
 * every class needed, byte-identical for a seed, atomic write, classifies what it learnt),
 * and the text helpers it leans on: personal data, link hosts, language identification. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "featurize.h"
#include "guard.h"
#include "langid.h"
#include "text.h"
#include "train.h"
#include "unit.h"

static char dir[64];
static char corpus_path[128];	/* the full 10-class corpus, written once */
static char model_path[128];	/* a model trained from it (seed 7), written once */

/* ---- helpers ---- */

static int
put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (n > 0 && fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static unsigned char *
get_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	long sz;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (b = malloc((size_t)sz + 1)) == NULL || fread(b, 1, (size_t)sz, f) != (size_t)sz) {
		free(b);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)sz;
	return b;
}

static void
path_in(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void
put32le(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
rehash(unsigned char *b, size_t len)
{
	SHA256(b, len - SHA256_DIGEST_LENGTH, b + len - SHA256_DIGEST_LENGTH);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* ---- the training corpus: 15 short lines for each of the 10 classes ---- */

static const char *const lines_of[G_NCLASS][15] = {
	[G_PRAISE] = {
		"thank you so much, love it", "love it, thank you so much",
		"thanks so much, I absolutely love it", "amazing product, love it",
		"thank you, this is wonderful", "best purchase ever, thank you",
		"you are awesome, thanks so much", "love the new one, great job",
		"so happy with it, thank you", "great quality, love it so much",
		"thanks a lot, it is perfect", "really love it, thank you team",
		"wonderful service, thanks so much", "absolutely perfect, love love love it",
		"thank you so much for the lovely gift",
	},
	[G_COMPLAINT] = {
		"this is terrible, very disappointed", "worst customer service ever",
		"really bad experience, never again", "the quality is awful",
		"I am so disappointed with this", "your support is useless",
		"terrible product, it broke in a day", "very unhappy with the service",
		"awful experience, rude staff", "this is a joke, horrible service",
		"disappointed, cheap and bad", "nobody answers my emails, terrible",
		"the app is awful and slow", "bad bad bad, very annoyed",
		"horrible, I regret buying this",
	},
	[G_ORDER_ISSUE] = {
		"my order never arrived, still waiting", "still waiting for my order",
		"order never arrived", "where is my package, still not delivered",
		"my parcel has not arrived yet", "the delivery is two weeks late",
		"tracking says delivered but nothing arrived", "still waiting for the package",
		"my order is stuck in shipping", "the order never showed up",
		"package lost, order never arrived", "waiting for my delivery for weeks",
		"my order still has not shipped", "the courier never delivered my order",
		"order not received, still waiting",
	},
	[G_REFUND_RETURN] = {
		"I want a refund", "how do I return this item", "please refund my money",
		"I need to send it back for a refund", "requesting a refund for my purchase",
		"can I return it and get my money back", "refund please, it does not fit",
		"where is my refund", "I returned it but no refund yet",
		"money back please, returning the item", "the return label is missing, refund",
		"I want my money back", "refund not processed after return",
		"can I exchange or refund this", "return and refund request",
	},
	[G_QUESTION] = {
		"what are your opening hours", "do you ship to canada",
		"is this available in blue", "how much does shipping cost",
		"which size should I pick", "do you have a store in berlin",
		"when will the new model be released", "is it compatible with windows",
		"what is the warranty period", "can I pay with paypal",
		"does it come with a charger", "are you open on sunday",
		"what material is it made of", "how long does the battery last",
		"do you offer gift wrapping",
	},
	[G_SAFETY] = {
		"the charger caught fire", "the battery exploded", "smoke came out of the device",
		"my child got burned by it", "it overheated and melted", "sparks from the plug",
		"the toy has sharp edges and cut my son", "electric shock from the cable",
		"the heater started a fire", "dangerous, it burned my hand",
		"the battery is swelling and hot", "fire hazard, it smells of burning",
		"the glass shattered and injured me", "choking hazard, small parts came off",
		"it exploded in my kitchen",
	},
	[G_LEGAL_PRIVACY] = {
		"delete my personal data under gdpr", "I will contact my lawyer",
		"you leaked my personal information", "this is a gdpr violation",
		"I am filing a lawsuit", "remove my data from your database",
		"data protection request, delete my account", "my lawyer will be in touch",
		"privacy breach, my data was exposed", "I want a copy of my personal data",
		"legal action will follow", "you sold my data without consent",
		"gdpr request to erase my data", "I am reporting you to the data protection authority",
		"this is illegal, I will sue",
	},
	[G_SPAM] = {
		"get free followers now at cheapfollowers", "crypto giveaway, send 1 btc get 2 back",
		"earn money fast from home, dm me", "free bitcoin click here",
		"buy followers cheap, dm for prices", "win a free iphone, claim now",
		"double your crypto today", "hot singles in your area",
		"investment opportunity, guaranteed profit", "claim your prize now, limited offer",
		"make 5000 a day working from home", "free giveaway, follow and retweet to win",
		"best crypto signals, join my channel", "promote your account, 10k followers",
		"verify your wallet to receive the airdrop",
	},
	[G_FEATURE_REQUEST] = {
		"please add a dark mode", "it would be great to have an export option",
		"can you add support for linux", "I wish the app had offline mode",
		"please add more colors", "feature request: bulk editing",
		"would love a widget for the home screen", "add an option to mute notifications",
		"please support apple pay", "it would be nice to sort by date",
		"can you make a bigger size", "suggestion: add keyboard shortcuts",
		"please bring back the old layout option", "add two factor login please",
		"I would like a vegan version",
	},
	[G_NEUTRAL] = {
		"just saw the ad on tv", "heading to the store later", "it is raining today",
		"watching the game tonight", "saw your booth at the fair",
		"my friend told me about you", "ok", "noted", "interesting",
		"reading the newsletter now", "passing by the shop", "the event is next week",
		"someone mentioned you in a podcast", "good morning everyone",
		"lunch break at last",
	},
};

static int
write_corpus(const char *path, int skip_class)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "# a comment line\n\n");
	for (int k = 0; k < G_NCLASS; k++) {
		if (k == skip_class)
			continue;
		for (int i = 0; i < 15; i++)
			fprintf(f, "{\"text\": \"%s\", \"label\": \"%s\", \"lang\": \"en\"}\n",
			    lines_of[k][i], guard_class_names[k]);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int
argmax(const double p[G_NCLASS])
{
	int best = 0;

	for (int k = 1; k < G_NCLASS; k++)
		if (p[k] > p[best])
			best = k;
	return best;
}

static int
probs_ok(const double p[G_NCLASS])
{
	double sum = 0;

	for (int k = 0; k < G_NCLASS; k++) {
		if (!(p[k] >= 0 && p[k] <= 1))
			return 0;
		sum += p[k];
	}
	return fabs(sum - 1) < 1e-6;
}

/* Checks the node invariants; returns a description of the first violation or NULL. */
static const char *
features_bad(const struct features *f, double bias)
{
	double ss = 0;
	size_t nf = f->n;

	if (bias >= 0) {
		if (f->n < 1 || f->x[f->n - 1].index != (int)FEATURES_DIM + 1 ||
		    f->x[f->n - 1].value != bias)
			return "bias node missing or wrong";
		nf--;
	}
	if (f->x[f->n].index != -1)
		return "no terminator";
	for (size_t i = 0; i < nf; i++) {
		if (f->x[i].index < 1 || f->x[i].index > (int)FEATURES_DIM)
			return "index out of range";
		if (i > 0 && f->x[i].index <= f->x[i - 1].index)
			return "indices not strictly ascending";
		if (!(f->x[i].value > 0))
			return "value not positive";
		ss += f->x[i].value * f->x[i].value;
	}
	if (nf > 0 && fabs(ss - 1) > 1e-9)
		return "not unit length";
	return NULL;
}

#define CHECK_FEATURES(f, bias) do { const char *b_ = features_bad(f, bias); if (b_ != NULL) { \
	printf("FAIL %s: %s:%d: %s\n", unit_name, __FILE__, __LINE__, b_); \
	unit_failed_now = 1; return; } } while (0)

/* The same nodes (struct feature_node has padding: compared field by field)? */
static int
same_nodes(const struct features *a, const struct features *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i <= a->n; i++)
		if (a->x[i].index != b->x[i].index || a->x[i].value != b->x[i].value)
			return 0;
	return 1;
}

/* Same features (nodes up to the terminator, exactly)? */
static int
same_features(const char *a, const char *b)
{
	struct features fa = { 0 }, fb = { 0 };
	int same;

	if (features_of(&fa, a, 1) != 0 || features_of(&fb, b, 1) != 0) {
		features_free(&fa);
		features_free(&fb);
		return 0;
	}
	same = same_nodes(&fa, &fb);
	features_free(&fa);
	features_free(&fb);
	return same;
}

/* ---- featurize.h ---- */

TEST(features_invariants)
{
	struct features f = { 0 };
	static const char *const texts[] = {
		"@brand my order never arrived, still waiting!! https://x.example/track/1",
		"Thank you so much, love it 😍😍 ❤️", "注文した商品がまだ届きません",
		"Bestellung 12345 ist nicht angekommen", "a", "!!!", "x y",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK_INT(features_of(&f, texts[i], 1.0), 0);
		CHECK(f.n > 1);
		CHECK_FEATURES(&f, 1.0);
		CHECK_INT(features_of(&f, texts[i], -1), 0);
		CHECK(f.n > 0);
		CHECK_FEATURES(&f, -1);
		CHECK_INT(features_of(&f, texts[i], 0.5), 0);
		CHECK_FEATURES(&f, 0.5);
	}
	features_free(&f);
	CHECK(f.x == NULL);
}

TEST(features_empty)
{
	struct features f = { 0 };

	CHECK_INT(features_of(&f, "", 1.0), 0);
	CHECK_INT(f.n, 1);
	CHECK_INT(f.x[0].index, FEATURES_DIM + 1);
	CHECK(f.x[0].value == 1.0);
	CHECK_INT(f.x[1].index, -1);
	CHECK_INT(features_of(&f, "", -1), 0);
	CHECK_INT(f.n, 0);
	CHECK_INT(f.x[0].index, -1);
	CHECK_INT(features_of(&f, " \n\t  ", -1), 0);	/* white space only: nothing */
	CHECK_INT(f.n, 0);
	CHECK_INT(features_of(&f, NULL, 2.0), 0);
	CHECK_INT(f.n, 1);
	CHECK_INT(f.x[0].index, FEATURES_DIM + 1);
	CHECK(f.x[0].value == 2.0);
	features_free(&f);
}

TEST(features_deterministic_and_reused)
{
	struct features a = { 0 }, b = { 0 };
	char longer[4000];

	for (size_t i = 0; i + 1 < sizeof(longer); i++)
		longer[i] = "the quick brown fox jumps over the lazy dog. "[i % 45];
	longer[sizeof(longer) - 1] = '\0';
	CHECK_INT(features_of(&a, "my order never arrived", 1), 0);
	CHECK_INT(features_of(&b, longer, 1), 0);	/* a grown buffer, reused */
	CHECK(b.n > a.n);
	CHECK_INT(features_of(&b, "my order never arrived", 1), 0);
	CHECK(same_nodes(&a, &b));
	features_free(&a);
	features_free(&b);
	CHECK(!same_features("my order never arrived", "my order arrived"));
	CHECK(!same_features("love it", "hate it"));
}

TEST(features_folding)
{
	CHECK(same_features("CAFÉ Crème", "cafe creme"));	/* case, accents */
	CHECK(same_features("order 12345 late", "order 99999 late"));	/* digits as 0 */
	CHECK(same_features("see https://a.example/x now", "see http://b.example/long/y?z now"));
	CHECK(same_features("@ana hello", "@bob.smith hello"));	/* a handle is one token */
	CHECK(same_features("a  \n\t b", "a b"));	/* white space runs */
	CHECK(!same_features("order 1 late", "order a late"));
}

TEST(features_bad_utf8_and_long)
{
	struct features f = { 0 }, g = { 0 };
	static const char *const bad[] = {
		"abc \xff\xfe def", "\xc3", "ok \xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 big",
		"\x80\x80\x80", "caf\xc3 \xa9",
	};
	static const char unit[] = "héllo wörld ";	/* 12 code points, 14 bytes */
	size_t ulen = strlen(unit), cps = 0, off = 0;
	char *x = malloc(3 * 1000 * ulen), *y;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(features_of(&f, bad[i], 1), 0);
		CHECK_FEATURES(&f, 1);
	}
	/* more than FEATURES_MAX_CP code points: only the start counts */
	CHECK(x != NULL);
	while (cps + 12 <= FEATURES_MAX_CP + 12) {	/* a bit over 1,000 code points */
		memcpy(x + off, unit, ulen);
		off += ulen;
		cps += 12;
	}
	x[off] = '\0';
	y = malloc(off + 64);
	CHECK(y != NULL);
	snprintf(y, off + 64, "%sa completely different tail", x);
	char *z = malloc(off + 64);
	CHECK(z != NULL);
	snprintf(z, off + 64, "%s and another ending entirely", x);
	CHECK(same_features(y, z));
	CHECK_INT(features_of(&f, y, 1), 0);
	CHECK_FEATURES(&f, 1);
	/* a short prefix of it is not the same */
	x[ulen * 40] = '\0';
	CHECK(!same_features(x, y));
	free(z);
	free(y);
	free(x);
	/* 1 MB: no crash, same as its start */
	size_t big = 1u << 20;
	char *m = malloc(big + 1);
	CHECK(m != NULL);
	for (size_t i = 0; i < big; i++)
		m[i] = "ab cd\xc3\xa9 \xff"[i % 9];
	m[big] = '\0';
	CHECK_INT(features_of(&f, m, 1), 0);
	CHECK_FEATURES(&f, 1);
	m[5000] = '\0';
	CHECK_INT(features_of(&g, m, 1), 0);
	CHECK(same_nodes(&f, &g));
	free(m);
	features_free(&f);
	features_free(&g);
}

/* ---- guard.h: classes ---- */

TEST(class_names)
{
	for (int k = 0; k < G_NCLASS; k++) {
		CHECK(guard_class_names[k] != NULL);
		CHECK_INT(guard_class_of(guard_class_names[k]), k);
	}
	CHECK_STR(guard_class_names[G_PRAISE], "praise");
	CHECK_STR(guard_class_names[G_ORDER_ISSUE], "order_issue");
	CHECK_STR(guard_class_names[G_NEUTRAL], "neutral");
	CHECK_INT(guard_class_of("Praise"), -1);
	CHECK_INT(guard_class_of("praise "), -1);
	CHECK_INT(guard_class_of(""), -1);
	CHECK_INT(guard_class_of(NULL), -1);
	CHECK_INT(guard_class_of("spam"), G_SPAM);
	CHECK_INT(guard_class_is_problem(G_COMPLAINT), 1);
	CHECK_INT(guard_class_is_problem(G_ORDER_ISSUE), 1);
	CHECK_INT(guard_class_is_problem(G_REFUND_RETURN), 1);
	CHECK_INT(guard_class_is_problem(G_SAFETY), 1);
	CHECK_INT(guard_class_is_problem(G_LEGAL_PRIVACY), 1);
	CHECK_INT(guard_class_is_problem(G_PRAISE), 0);
	CHECK_INT(guard_class_is_problem(G_QUESTION), 0);
	CHECK_INT(guard_class_is_problem(G_SPAM), 0);
	CHECK_INT(guard_class_is_problem(G_FEATURE_REQUEST), 0);
	CHECK_INT(guard_class_is_problem(G_NEUTRAL), 0);
	CHECK_INT(guard_class_is_problem(-1), 0);
	CHECK_INT(guard_class_is_problem(G_NCLASS), 0);
}

/* ---- train.h: corpus files ---- */

TEST(corpus_read_lines)
{
	char p[128];
	struct labelled *v;
	size_t n;
	struct ack_err err;
	static const char good[] =
	    "# comment\n"
	    "\n"
	    "{\"text\": \"love it\", \"label\": \"praise\", \"lang\": \"en\"}\n"
	    "{\"text\": \"d\\u00f3nde est\\u00e1\", \"label\": \"question\"}\r\n"
	    "\r\n"
	    "{\"label\": \"spam\", \"text\": \"free btc\", \"lang\": null}\n"
	    "#{\"text\": \"skipped\", \"label\": \"nope\"}\n"
	    "{\"text\": \"\", \"label\": \"neutral\", \"lang\": \"fr\", \"extra\": 1}";	/* no newline */

	path_in(p, sizeof(p), "c-good.jsonl");
	CHECK_INT(put_file(p, good, sizeof(good) - 1), 0);
	CHECK_INT(corpus_read(p, &v, &n, &err), 0);
	CHECK_INT(n, 4);
	CHECK_STR(v[0].text, "love it");
	CHECK_INT(v[0].label, G_PRAISE);
	CHECK_STR(v[0].lang, "en");
	CHECK_INT(v[0].line, 3);
	CHECK_STR(v[1].text, "dónde está");
	CHECK_INT(v[1].label, G_QUESTION);
	CHECK(v[1].lang == NULL);
	CHECK_INT(v[1].line, 4);
	CHECK_STR(v[2].text, "free btc");
	CHECK_INT(v[2].label, G_SPAM);
	CHECK(v[2].lang == NULL);
	CHECK_INT(v[2].line, 6);
	CHECK_STR(v[3].text, "");
	CHECK_INT(v[3].label, G_NEUTRAL);
	CHECK_STR(v[3].lang, "fr");
	CHECK_INT(v[3].line, 8);
	labelled_free(v, n);

	/* an empty file, and one of comments only */
	path_in(p, sizeof(p), "c-empty.jsonl");
	CHECK_INT(put_file(p, "", 0), 0);
	CHECK_INT(corpus_read(p, &v, &n, &err), 0);
	CHECK_INT(n, 0);
	labelled_free(v, n);
	CHECK_INT(put_file(p, "# a\n#b\n\n", 8), 0);
	CHECK_INT(corpus_read(p, &v, &n, &err), 0);
	CHECK_INT(n, 0);
	labelled_free(v, n);

	/* white space only lines, and a comment after white space, are blank too */
	CHECK_INT(put_file(p, "  \n\t\n \r\n  # note\n{\"text\": \"ok\", \"label\": \"praise\"}\n",
	    51), 0);
	CHECK_INT(corpus_read(p, &v, &n, &err), 0);
	CHECK_INT(n, 1);
	CHECK_INT(v[0].line, 5);
	labelled_free(v, n);
	/* a directory is an error, not an empty corpus */
	path_in(p, sizeof(p), "");
	v = (struct labelled *)1;
	CHECK_INT(corpus_read(p, &v, &n, &err), ACK_EINVAL);
	CHECK(v == NULL);
	CHECK(strstr(err.msg, "not a regular file") != NULL);

	path_in(p, sizeof(p), "no-such.jsonl");
	CHECK_INT(corpus_read(p, &v, &n, &err), ACK_ENOENT);
	CHECK(v == NULL);
	CHECK_INT(n, 0);
	CHECK(strstr(err.msg, "no-such.jsonl") != NULL);
}

/* The error for a one-bad-line file: rc ACK_EINVAL, the message starting "path:LINE:COL: "
 * (COL any positive number when col is 0) and containing want. */
static int
corpus_error(const char *body, int line, int col, const char *want)
{
	char p[128], prefix[200];
	struct labelled *v = (struct labelled *)1;
	size_t n = 99;
	struct ack_err err;
	int rc, l = 0, c = 0, used = 0;

	path_in(p, sizeof(p), "c-bad.jsonl");
	if (put_file(p, body, strlen(body)) != 0)
		return 0;
	memset(&err, 0, sizeof(err));
	rc = corpus_read(p, &v, &n, &err);
	snprintf(prefix, sizeof(prefix), "%s:", p);
	if (rc != ACK_EINVAL || v != NULL || n != 0 || err.code != ACK_EINVAL ||
	    strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
	    sscanf(err.msg + strlen(prefix), "%d:%d: %n", &l, &c, &used) != 2 || used == 0 ||
	    l != line || (col > 0 ? c != col : c < 1) || strstr(err.msg, want) == NULL) {
		printf("    rc %d, message \"%s\"; want line %d col %d with \"%s\"\n", rc, err.msg,
		    line, col, want);
		return 0;
	}
	return 1;
}

TEST(corpus_read_errors)
{
	static const char ok[] = "{\"text\": \"fine\", \"label\": \"praise\"}\n";
	char body[512];

	/* not JSON, on line 3 (after a comment and a good line), column where it breaks */
	snprintf(body, sizeof(body), "# c\n%s{\"text\": \"x\", \"label\" \"praise\"}\n%s", ok, ok);
	CHECK(corpus_error(body, 3, 0, "not JSON"));
	snprintf(body, sizeof(body), "%s%s{\"text\": \"cut", ok, ok);
	CHECK(corpus_error(body, 3, 0, "not JSON"));
	CHECK(corpus_error("[1, 2]\n", 1, 1, "a corpus line is"));
	CHECK(corpus_error("\"just a string\"\n", 1, 0, "not JSON"));
	/* unknown label, named */
	snprintf(body, sizeof(body), "%s{\"text\": \"x\", \"label\": \"happy\"}\n", ok);
	CHECK(corpus_error(body, 2, 1, "unknown label happy"));
	snprintf(body, sizeof(body), "%s{\"text\": \"x\", \"label\": \"Praise\"}\n", ok);
	CHECK(corpus_error(body, 2, 1, "unknown label Praise"));
	/* no label, a label that is not a string */
	CHECK(corpus_error("{\"text\": \"x\"}\n", 1, 1, "a corpus line is"));
	CHECK(corpus_error("{\"text\": \"x\", \"label\": 3}\n", 1, 1, "a corpus line is"));
	/* missing text, text not a string */
	snprintf(body, sizeof(body), "%s\n%s{\"label\": \"praise\"}\n", ok, ok);
	CHECK(corpus_error(body, 4, 1, "a corpus line is"));
	CHECK(corpus_error("{\"text\": null, \"label\": \"praise\"}\n", 1, 1, "a corpus line is"));
	CHECK(corpus_error("{\"text\": [\"a\"], \"label\": \"praise\"}\n", 1, 1, "a corpus line is"));
	/* lang neither a string nor null */
	CHECK(corpus_error("{\"text\": \"x\", \"label\": \"praise\", \"lang\": 5}\n", 1, 1,
	    "a corpus line is"));
	/* duplicate keys are refused as JSON errors */
	CHECK(corpus_error("{\"text\": \"x\", \"text\": \"y\", \"label\": \"praise\"}\n", 1, 0,
	    "not JSON"));
	/* two objects on one line */
	snprintf(body, sizeof(body), "{\"text\": \"x\", \"label\": \"praise\"} {}\n");
	CHECK(corpus_error(body, 1, 0, "not JSON"));
}

/* ---- train.h: training ---- */

static int
train_to(const char *out, uint64_t seed, int keep, struct train_report *r, struct ack_err *err)
{
	char *files[1] = { corpus_path };
	struct train_opts o;

	memset(&o, 0, sizeof(o));
	o.corpus = files;
	o.ncorpus = 1;
	o.seed = seed;
	o.out = out;
	o.keep = keep;
	return train_model(&o, r, err);
}

TEST(train_needs_every_class)
{
	char p[128], *files[1] = { p };
	struct train_opts o;
	struct train_report r;
	struct ack_err err;

	for (int k = 0; k < G_NCLASS; k++) {
		char want[64];
		path_in(p, sizeof(p), "c-missing.jsonl");
		CHECK_INT(write_corpus(p, k), 0);
		memset(&o, 0, sizeof(o));
		o.corpus = files;
		o.ncorpus = 1;
		o.seed = 1;
		memset(&err, 0, sizeof(err));
		CHECK_INT(train_model(&o, &r, &err), ACK_EINVAL);
		snprintf(want, sizeof(want), "'%s'", guard_class_names[k]);
		CHECK(strstr(err.msg, want) != NULL);
		CHECK(r.model == NULL);
	}
	/* no corpus at all */
	memset(&o, 0, sizeof(o));
	CHECK_INT(train_model(&o, &r, &err), ACK_EINVAL);
	CHECK(strstr(err.msg, "praise") != NULL);
	/* a corpus error stops training, with its position */
	path_in(p, sizeof(p), "c-broken.jsonl");
	CHECK_INT(put_file(p, "{\"text\": \"a\", \"label\": \"nope\"}\n", 32), 0);
	memset(&o, 0, sizeof(o));
	o.corpus = files;
	o.ncorpus = 1;
	CHECK_INT(train_model(&o, &r, &err), ACK_EINVAL);
	CHECK(strstr(err.msg, "c-broken.jsonl:1:1:") != NULL);
}

TEST(train_writes_loadable_model)
{
	struct train_report r;
	struct ack_err err;
	struct guard_model *g = NULL;
	unsigned char *b;
	size_t len;
	char hex[13];
	DIR *d;
	struct dirent *e;

	CHECK_INT(train_to(model_path, 7, 1, &r, &err), 0);
	CHECK_INT(r.n, 150);
	CHECK_INT(r.from_corpus, 150);
	CHECK_INT(r.from_examples, 0);
	CHECK_INT(r.from_labels, 0);
	for (int k = 0; k < G_NCLASS; k++)
		CHECK_INT(r.per_class[k], 15);
	CHECK(r.cv_accuracy == -1);
	CHECK_INT(strlen(r.version), 12);
	CHECK_INT(strspn(r.version, "0123456789abcdef"), 12);
	CHECK(r.model != NULL);
	CHECK_STR(guard_model_version(r.model), r.version);
	CHECK_INT(guard_model_trained_on(r.model), 150);
	guard_model_free(r.model);

	/* the file: its size, its header, its trailer is the SHA-256 whose start is the version */
	b = get_file(model_path, &len);
	CHECK(b != NULL);
	CHECK_INT(len, GUARD_HEADER + ((size_t)FEATURES_DIM + 1) * G_NCLASS * 4 + 32);
	CHECK(memcmp(b, "ACKGUARD", 8) == 0);
	CHECK_INT(b[8], 1);
	CHECK_INT(b[12], G_NCLASS);
	CHECK_INT(b[16], FEATURES_BITS);
	CHECK_INT(b[20], 150);
	CHECK_INT(b[24], 7);
	CHECK_STR((char *)b + 40, "praise");
	CHECK_STR((char *)b + 40 + 9 * GUARD_NAME_LEN, "neutral");
	unsigned char dg[SHA256_DIGEST_LENGTH];
	SHA256(b, len - 32, dg);
	CHECK(memcmp(dg, b + len - 32, 32) == 0);
	for (int i = 0; i < 6; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[len - 32 + i]);
	free(b);
	CHECK_STR(r.version, hex);

	CHECK_INT(guard_model_load(&g, model_path, &err), 0);
	CHECK(g != NULL);
	CHECK_STR(guard_model_version(g), r.version);
	CHECK_INT(guard_model_trained_on(g), 150);
	guard_model_free(g);
	guard_model_free(NULL);

	/* atomic: nothing but the model (and the corpus files) in the directory */
	d = opendir(dir);
	CHECK(d != NULL);
	int tmp = 0;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp") != NULL)
			tmp++;
	closedir(d);
	CHECK_INT(tmp, 0);
}

TEST(train_deterministic)
{
	char p1[128], p2[128], p3[128];
	struct train_report r1, r2, r3;
	struct ack_err err;
	unsigned char *a, *b, *c;
	size_t la, lb, lc;

	path_in(p1, sizeof(p1), "det1.model");
	path_in(p2, sizeof(p2), "det2.model");
	path_in(p3, sizeof(p3), "det3.model");
	CHECK_INT(train_to(p1, 42, 0, &r1, &err), 0);
	CHECK(r1.model == NULL);	/* without keep */
	CHECK_INT(train_to(p2, 42, 0, &r2, &err), 0);
	CHECK_INT(train_to(p3, 43, 0, &r3, &err), 0);
	CHECK_STR(r1.version, r2.version);
	CHECK(strcmp(r1.version, r3.version) != 0);	/* the seed is in the header */
	a = get_file(p1, &la);
	b = get_file(p2, &lb);
	c = get_file(p3, &lc);
	CHECK(a != NULL && b != NULL && c != NULL);
	CHECK_INT(la, lb);
	CHECK(memcmp(a, b, la) == 0);
	CHECK_INT(lc, la);
	CHECK(memcmp(a + GUARD_HEADER, c + GUARD_HEADER, la - GUARD_HEADER - 32) == 0);
	free(a);
	free(b);
	free(c);
	/* training over an existing model replaces it */
	CHECK_INT(train_to(p1, 43, 0, &r1, &err), 0);
	a = get_file(p1, &la);
	CHECK(a != NULL);
	c = get_file(p3, &lc);
	CHECK(c != NULL && la == lc && memcmp(a, c, la) == 0);
	free(a);
	free(c);
	/* train only, in memory: the same version as the file */
	CHECK_INT(train_to(NULL, 42, 1, &r3, &err), 0);
	CHECK_STR(r3.version, r2.version);
	CHECK(r3.model != NULL);
	CHECK_STR(guard_model_version(r3.model), r2.version);
	guard_model_free(r3.model);
	unlink(p1);
	unlink(p2);
	unlink(p3);
}

TEST(train_unwritable_out)
{
	char p[160];
	struct train_report r;
	struct ack_err err;
	struct stat sb;

	snprintf(p, sizeof(p), "%s/no/such/dir/guard.model", dir);
	memset(&err, 0, sizeof(err));
	CHECK_INT(train_to(p, 1, 0, &r, &err), ACK_EIO);
	CHECK(strstr(err.msg, "no/such/dir") != NULL);
	CHECK(stat(p, &sb) != 0);
	/* with keep: an error all the same (a model handed back regardless is the caller's) */
	CHECK_INT(train_to(p, 1, 1, &r, &err), ACK_EIO);
	guard_model_free(r.model);
	/* out is a directory: the rename fails, no temp file stays */
	path_in(p, sizeof(p), "adir");
	CHECK_INT(mkdir(p, 0700), 0);
	char inner[200];
	snprintf(inner, sizeof(inner), "%s/x", p);
	CHECK_INT(put_file(inner, "x", 1), 0);	/* a non-empty directory cannot be replaced */
	CHECK(train_to(p, 1, 0, &r, &err) != 0);
	DIR *d = opendir(dir);
	struct dirent *e;
	int tmp = 0;
	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp") != NULL)
			tmp++;
	closedir(d);
	CHECK_INT(tmp, 0);
}

TEST(classify_what_it_learnt)
{
	struct guard_model *g = NULL;
	struct ack_err err;
	double p[G_NCLASS];
	static const struct { const char *text; int want; } cases[] = {
		{ "thank you so much, I really love it", G_PRAISE },
		{ "Thanks so much!! love it", G_PRAISE },
		{ "my order never arrived and I am still waiting", G_ORDER_ISSUE },
		{ "still waiting, my order never arrived", G_ORDER_ISSUE },
	};

	CHECK_INT(guard_model_load(&g, model_path, &err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(guard_classify(g, cases[i].text, p, &err), 0);
		CHECK(probs_ok(p));
		if (argmax(p) != cases[i].want) {
			printf("    \"%s\": %s (%.2f), want %s (%.2f)\n", cases[i].text,
			    guard_class_names[argmax(p)], p[argmax(p)],
			    guard_class_names[cases[i].want], p[cases[i].want]);
			guard_model_free(g);
			CHECK(0);
		}
	}
	/* any text: probabilities all the same */
	static const char *const odd[] = { "", "   ", "\xff\xfe", "😍", "注文", "http://x.example" };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		CHECK_INT(guard_classify(g, odd[i], p, &err), 0);
		CHECK(probs_ok(p));
	}
	/* no intercept: a text without a feature has no opinion (every class 1/10), not the
	 * corpus's commonest class */
	CHECK_INT(guard_classify(g, "", p, &err), 0);
	for (int k = 0; k < G_NCLASS; k++)
		CHECK(fabs(p[k] - 1.0 / G_NCLASS) < 1e-9);
	guard_model_free(g);
}

/* ---- guard.h: refusing model files ---- */

static int
refused(const unsigned char *b, size_t len, const char *want)
{
	struct guard_model *g = (struct guard_model *)1;
	struct ack_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = guard_model_parse(&g, b, len, "m.model", &err);
	if (rc != ACK_EINVAL || g != NULL || strstr(err.msg, "m.model") == NULL ||
	    (want != NULL && strstr(err.msg, want) == NULL)) {
		printf("    rc %d, \"%s\"; want \"%s\"\n", rc, err.msg, want ? want : "");
		if (rc == 0)
			guard_model_free(g);
		return 0;
	}
	return 1;
}

TEST(model_refused)
{
	size_t len;
	unsigned char *b = get_file(model_path, &len), *c;
	struct guard_model *g = NULL;
	struct ack_err err;

	CHECK(b != NULL);
	c = malloc(len + 1);
	CHECK(c != NULL);
	/* the original is fine */
	CHECK_INT(guard_model_parse(&g, b, len, "m.model", &err), 0);
	guard_model_free(g);
	/* wrong magic */
	memcpy(c, b, len);
	c[0] = 'X';
	CHECK(refused(c, len, "not an ackbot model"));
	memcpy(c, "ACKGUARX", 8);
	CHECK(refused(c, len, "not an ackbot model"));
	/* other format */
	memcpy(c, b, len);
	put32le(c + 8, 2);
	CHECK(refused(c, len, "format 2"));
	rehash(c, len);
	CHECK(refused(c, len, "format 2"));
	/* class count, hash bits */
	memcpy(c, b, len);
	put32le(c + 12, G_NCLASS - 1);
	rehash(c, len);
	CHECK(refused(c, len, "classes"));
	memcpy(c, b, len);
	put32le(c + 16, FEATURES_BITS + 1);
	rehash(c, len);
	CHECK(refused(c, len, "2^17"));
	/* cut short, extra bytes, tiny */
	CHECK(refused(b, len - 1, "expected"));
	CHECK(refused(b, len - 32, "expected"));
	CHECK(refused(b, GUARD_HEADER + 32, "expected"));
	memcpy(c, b, len);
	c[len] = 0;
	CHECK(refused(c, len + 1, "expected"));
	CHECK(refused(b, GUARD_HEADER + 31, "not an ackbot model"));
	CHECK(refused(b, 8, "not an ackbot model"));
	CHECK(refused(b, 0, "not an ackbot model"));
	/* any flipped byte past the fixed fields: the checksum says no */
	static const size_t at[] = { 20, 24, 31, 32, 39, 40, 63, 200, GUARD_HEADER,
	    GUARD_HEADER + 1, 1000000, 2000000 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memcpy(c, b, len);
		c[at[i]] ^= 0x01;
		CHECK(refused(c, len, "checksum"));
		c[at[i]] ^= 0x81;
		CHECK(refused(c, len, "checksum"));
	}
	for (size_t i = len - 32; i < len; i += 7) {	/* in the trailer itself */
		memcpy(c, b, len);
		c[i] ^= 0x10;
		CHECK(refused(c, len, "checksum"));
	}
	memcpy(c, b, len);
	c[len - 1] ^= 0x01;
	CHECK(refused(c, len, "checksum"));
	/* a checksummed file whose class names are not ours */
	memcpy(c, b, len);
	memcpy(c + 40 + 2 * GUARD_NAME_LEN, "order_issues", 13);
	rehash(c, len);
	CHECK(refused(c, len, "order_issue"));
	memcpy(c, b, len);
	memset(c + 40 + 9 * GUARD_NAME_LEN, 'x', GUARD_NAME_LEN);	/* unterminated */
	rehash(c, len);
	CHECK(refused(c, len, "neutral"));
	/* checksummed, but a weight or the bias that is not a usable number */
	static const uint32_t badw[] = { 0x7fc00000u, 0x7f800000u, 0xff800000u, 0x7f7fffffu };
	for (size_t i = 0; i < sizeof(badw) / sizeof(badw[0]); i++) {
		memcpy(c, b, len);
		put32le(c + GUARD_HEADER + 4 * (i * 70001 % (len - GUARD_HEADER - 32) / 4), badw[i]);
		rehash(c, len);
		CHECK(refused(c, len, "weight"));
	}
	static const double badb[] = { NAN, INFINITY, -0.5, -2.0, 1e300 };
	for (size_t i = 0; i < sizeof(badb) / sizeof(badb[0]); i++) {
		memcpy(c, b, len);
		memcpy(c + 32, &badb[i], sizeof(double));
		rehash(c, len);
		CHECK(refused(c, len, "bias"));
	}
	/* rehashed with another seed: accepted, another version */
	memcpy(c, b, len);
	c[25] ^= 1;
	rehash(c, len);
	CHECK_INT(guard_model_parse(&g, c, len, "m.model", &err), 0);
	char hex[13];
	for (int i = 0; i < 6; i++)
		snprintf(hex + 2 * i, 3, "%02x", c[len - 32 + i]);
	CHECK_STR(guard_model_version(g), hex);
	guard_model_free(g);
	free(c);
	free(b);
}

TEST(model_load_files)
{
	char p[128];
	struct guard_model *g = (struct guard_model *)1;
	struct ack_err err;
	size_t len;
	unsigned char *b = get_file(model_path, &len);

	CHECK(b != NULL);
	path_in(p, sizeof(p), "none.model");
	CHECK_INT(guard_model_load(&g, p, &err), ACK_ENOENT);
	CHECK(g == NULL);
	CHECK(strstr(err.msg, "none.model") != NULL);
	g = (struct guard_model *)1;
	CHECK(guard_model_load(&g, dir, &err) != 0);	/* a directory */
	CHECK(g == NULL);
	path_in(p, sizeof(p), "torn.model");
	CHECK_INT(put_file(p, b, len / 2), 0);
	CHECK_INT(guard_model_load(&g, p, &err), ACK_EINVAL);
	CHECK(g == NULL);
	CHECK(strstr(err.msg, "torn.model") != NULL);
	CHECK_INT(put_file(p, "", 0), 0);
	CHECK_INT(guard_model_load(&g, p, &err), ACK_EINVAL);
	b[len / 3] ^= 4;
	CHECK_INT(put_file(p, b, len), 0);
	CHECK_INT(guard_model_load(&g, p, &err), ACK_EINVAL);
	CHECK(strstr(err.msg, "checksum") != NULL);
	CHECK(g == NULL);
	unlink(p);
	free(b);
}

/* ---- text.h: personal data, link hosts ---- */

TEST(personal_data)
{
	static const char *const yes[] = {
		"ana@shop.example", "ana.lopez+orders@mail.example.com",
		"+1 555 123 4567", "(555) 123-4567", "0612 345678", "+44 20 7946 0958",
		"555-123-4567", "06 12 34 56 78", "5551234567",
		"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111",
		"5500 0000 0000 0004", "378282246310005",
	};
	static const char *const no[] = {
		"A12345", "ORD-88213", "100238871", "#4417", "123456", "", "hello",
		"order 100238871", "SKU 12-34-56-78-90", "ana@", "@brand", "ana at shop dot example",
		"12 345", "AB-1234567-X",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (text_looks_personal(yes[i]) != 1) {
			printf("    not personal: \"%s\"\n", yes[i]);
			CHECK(0);
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (text_looks_personal(no[i]) != 0) {
			printf("    personal: \"%s\"\n", no[i]);
			CHECK(0);
		}
	CHECK_INT(text_looks_personal(NULL), 0);
	/* A Luhn-invalid 13-19 digit run is no card, but it is still 10+ digits written as a
	 * number, which the phone rule calls personal: what the function promises is "7+
	 * digits with only separators, written like a phone number", so these stay 1. */
	CHECK_INT(text_looks_personal("4111 1111 1111 1112"), 1);
	CHECK_INT(text_looks_personal("4111111111111112"), 1);
	/* fewer than 7 digits is never personal, separators or not */
	CHECK_INT(text_looks_personal("+1 234 56"), 0);
	CHECK_INT(text_looks_personal("(12) 3-45"), 0);
	/* 7-9 digits with nothing phone-like (no '+', leading 0, space, '(' or '-'): not */
	CHECK_INT(text_looks_personal("1234567"), 0);
	CHECK_INT(text_looks_personal("123456789"), 0);
	CHECK_INT(text_looks_personal("0123456"), 1);
	CHECK_INT(text_looks_personal("123 4567"), 1);
	/* free text: 8 digits joined by '-' are written like a phone */
	CHECK_INT(text_looks_personal("4417-2291"), 1);
	/* an identifier entity's value: digits with dashes or run together are the id... */
	static const char *const ids[] = { "4417-2291", "100238871", "123456789012", "A12345",
	    "2024-000123-77", "ORD-88213" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (text_id_looks_personal(ids[i]) != 0) {
			printf("    id called personal: \"%s\"\n", ids[i]);
			CHECK(0);
		}
	/* ...but an address, a card, or digits written as phones are, still */
	static const char *const notids[] = { "ana@shop.example", "4111111111111111",
	    "4111-1111-1111-1111", "+34612345678", "0034612345678", "612 345 678",
	    "(555) 123-4567", "030/1234567" };
	for (size_t i = 0; i < sizeof(notids) / sizeof(notids[0]); i++)
		if (text_id_looks_personal(notids[i]) != 1) {
			printf("    id not called personal: \"%s\"\n", notids[i]);
			CHECK(0);
		}
	CHECK_INT(text_id_looks_personal(NULL), 0);
}

struct hosts {
	char v[8][64];
	size_t n;
};

static void
add_host(const char *h, void *arg)
{
	struct hosts *hs = arg;

	if (hs->n < 8)
		snprintf(hs->v[hs->n++], sizeof(hs->v[0]), "%s", h);
}

TEST(link_hosts)
{
	struct hosts h;

	memset(&h, 0, sizeof(h));
	CHECK_INT(text_link_hosts("see https://Bit.ly/x and www.shop.example/a or evil.example/path",
	    add_host, &h), 3);
	CHECK_INT(h.n, 3);
	CHECK_STR(h.v[0], "bit.ly");
	CHECK_STR(h.v[1], "www.shop.example");
	CHECK_STR(h.v[2], "evil.example");
	memset(&h, 0, sizeof(h));
	CHECK_INT(text_link_hosts("mail ana@shop.example or Ana.Lopez@Mail.Example.COM", add_host,
	    &h), 0);
	CHECK_INT(h.n, 0);
	memset(&h, 0, sizeof(h));
	CHECK_INT(text_link_hosts("HTTP://WWW.Example.ORG:8080/path?q=1, then evil.example.",
	    add_host, &h), 2);
	CHECK_STR(h.v[0], "www.example.org");
	CHECK_STR(h.v[1], "evil.example");
	memset(&h, 0, sizeof(h));
	/* userinfo is not the host: the link goes where the part after the '@' says */
	CHECK_INT(text_link_hosts("http://user@login.example/x https://shop.example@evil.example/a "
	    "https://a@b@c.example", add_host, &h), 3);
	CHECK_STR(h.v[0], "login.example");
	CHECK_STR(h.v[1], "evil.example");
	CHECK_STR(h.v[2], "c.example");
	memset(&h, 0, sizeof(h));
	/* a browser reads '\\' as '/': the '@' after it is in the path, not userinfo */
	CHECK_INT(text_link_hosts("https://evil.example\\@good.example/x", add_host, &h), 1);
	CHECK_STR(h.v[0], "evil.example");
	memset(&h, 0, sizeof(h));
	/* bare domains in brackets and quotes are links too */
	CHECK_INT(text_link_hosts("(evil.example) [bb.example] \"qq.example\" \xc2\xab"
	    "gg.example\xc2\xbb \xe2\x80\x9c" "cc.example/x\xe2\x80\x9d (see above) (e.g. this)",
	    add_host, &h), 5);
	CHECK_STR(h.v[0], "evil.example");
	CHECK_STR(h.v[1], "bb.example");
	CHECK_STR(h.v[2], "qq.example");
	CHECK_STR(h.v[3], "gg.example");
	CHECK_STR(h.v[4], "cc.example");
	CHECK_INT(text_link_hosts("", NULL, NULL), 0);
	CHECK_INT(text_link_hosts(NULL, NULL, NULL), 0);
	CHECK_INT(text_link_hosts("no links here. version 1.2 at 3.30pm, e.g. this", NULL, NULL), 0);
	CHECK_INT(text_link_hosts("a https://a.example b http://b.example c", NULL, NULL), 2);
	CHECK_INT(text_link_hosts("\xff\xfe https://x.example \xc3", NULL, NULL), 1);
}

/* ---- langid.h ---- */

TEST(langid_sentences)
{
	static const struct { const char *code, *text; } s[] = {
		{ "en", "My order never arrived and I have been waiting for two weeks now." },
		{ "en", "Thank you so much for the quick delivery, the shoes fit perfectly!" },
		{ "es", "Mi pedido todavía no ha llegado y nadie responde a mis correos." },
		{ "es", "Muchas gracias por la atención, el producto es de muy buena calidad." },
		{ "fr", "Ma commande n'est toujours pas arrivée, pouvez-vous vérifier s'il vous plaît ?" },
		{ "fr", "Merci beaucoup pour votre aide, le service client est vraiment excellent." },
		{ "de", "Meine Bestellung ist immer noch nicht angekommen, bitte helfen Sie mir." },
		{ "de", "Vielen Dank für die schnelle Lieferung, ich bin sehr zufrieden." },
		{ "it", "Il mio ordine non è ancora arrivato, potete controllare per favore?" },
		{ "it", "Grazie mille per la consegna veloce, il prodotto è bellissimo." },
		{ "pt", "O meu pedido ainda não chegou e já se passaram duas semanas." },
		{ "pt", "Muito obrigado pelo atendimento, gostei muito do produto que comprei." },
		{ "nl", "Mijn bestelling is nog steeds niet aangekomen, kunnen jullie dat nakijken?" },
		{ "nl", "Hartelijk bedankt voor de snelle levering, ik ben heel tevreden." },
		{ "pl", "Moje zamówienie wciąż nie dotarło, czy możecie to sprawdzić?" },
		{ "pl", "Dziękuję bardzo za szybką dostawę, jestem bardzo zadowolony." },
		{ "tr", "Siparişim hâlâ gelmedi, lütfen kontrol edebilir misiniz?" },
		{ "tr", "Hızlı teslimat için çok teşekkür ederim, ürün harika." },
		{ "ja", "注文した商品がまだ届きません。確認していただけますか?" },
		{ "ja", "迅速な対応ありがとうございました。とても満足しています。" },
	};
	size_t n = sizeof(s) / sizeof(s[0]), right = 0, right_hint = 0;
	struct langid_guess g[3];

	for (size_t i = 0; i < n; i++) {
		langid_detect(s[i].text, strlen(s[i].text), NULL, g);
		for (int k = 0; k < 3; k++) {
			CHECK(memchr(g[k].code, '\0', sizeof(g[k].code)) != NULL);
			CHECK(g[k].confidence >= 0 && g[k].confidence <= 1);
		}
		if (strcmp(g[0].code, s[i].code) == 0)
			right++;
		else
			printf("    \"%s\": got \"%s\", want \"%s\"\n", s[i].text, g[0].code, s[i].code);
		CHECK(g[0].code[0] != '\0');
		CHECK(g[0].confidence > 0);
		langid_detect(s[i].text, strlen(s[i].text), "en,es,fr,de,it,pt,nl,pl,tr,ja", g);
		right_hint += strcmp(g[0].code, s[i].code) == 0;
	}
	CHECK(right >= 18);
	CHECK(right_hint >= 18);
}

TEST(langid_edges)
{
	struct langid_guess g[3];
	static const char nul[] = "Meine Bestellung ist\0 immer noch nicht angekommen, bitte helfen.";
	size_t big = 1u << 20;
	char *m;

	memset(g, 'x', sizeof(g));
	langid_detect("", 0, NULL, g);
	for (int k = 0; k < 3; k++) {
		CHECK_STR(g[k].code, "");
		CHECK(g[k].confidence == 0);
	}
	langid_detect("anything", 0, NULL, g);	/* len 0 */
	CHECK_STR(g[0].code, "");
	langid_detect("12345 !!! ???", 13, NULL, g);
	for (int k = 0; k < 3; k++) {
		CHECK(memchr(g[k].code, '\0', sizeof(g[k].code)) != NULL);
		CHECK(g[k].confidence >= 0 && g[k].confidence <= 1);
	}
	/* NUL inside, len covering it */
	langid_detect(nul, sizeof(nul) - 1, NULL, g);
	CHECK(g[0].confidence >= 0 && g[0].confidence <= 1);
	CHECK(memchr(g[0].code, '\0', sizeof(g[0].code)) != NULL);
	/* invalid UTF-8 */
	static const char *const bad[] = { "\xff\xfe\xfd", "caf\xc3", "\xed\xa0\x80 hello there",
	    "Thank you so much \xc3\x28 for the quick delivery", "\x80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		langid_detect(bad[i], strlen(bad[i]), NULL, g);
		for (int k = 0; k < 3; k++) {
			CHECK(memchr(g[k].code, '\0', sizeof(g[k].code)) != NULL);
			CHECK(g[k].confidence >= 0 && g[k].confidence <= 1);
		}
	}
	/* one invalid byte drops that byte, not every non-ASCII character */
	static const char ja1[] = "注文した商品がまだ届きません。\xff 確認してください、お願いします。";
	langid_detect(ja1, sizeof(ja1) - 1, NULL, g);
	CHECK_STR(g[0].code, "ja");
	static const char pl1[] = "Zamówienie \xc3 nadal nie dotarło, proszę o pomoc, czekam już dwa "
	    "tygodnie na przesyłkę.";
	langid_detect(pl1, sizeof(pl1) - 1, NULL, g);
	CHECK_STR(g[0].code, "pl");
	/* 1 MB, English: no crash, and still English */
	m = malloc(big + 1);
	CHECK(m != NULL);
	static const char en[] = "My order never arrived and I am still waiting for it. ";
	for (size_t i = 0; i < big; i++)
		m[i] = en[i % (sizeof(en) - 1)];
	m[big] = '\0';
	langid_detect(m, big, NULL, g);
	CHECK_STR(g[0].code, "en");
	CHECK(g[0].confidence > 0 && g[0].confidence <= 1);
	/* 1 MB of multi-byte text, and of random bytes: no crash */
	static const char ja[] = "注文した商品がまだ届きません。";
	for (size_t i = 0; i < big; i++)
		m[i] = ja[i % (sizeof(ja) - 1)];
	langid_detect(m, big, "en,ja", g);	/* cut at 4 KiB inside a character */
	CHECK_STR(g[0].code, "ja");
	CHECK(g[0].confidence > 0 && g[0].confidence <= 1);
	uint32_t r = 12345;
	for (size_t i = 0; i < big; i++) {
		r = r * 1103515245u + 12345u;
		m[i] = (char)(r >> 16);
	}
	langid_detect(m, big, NULL, g);
	for (int k = 0; k < 3; k++)
		CHECK(g[k].confidence >= 0 && g[k].confidence <= 1);
	free(m);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ackbot-test-guard-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	path_in(corpus_path, sizeof(corpus_path), "corpus.jsonl");
	path_in(model_path, sizeof(model_path), "guard.model");
	if (write_corpus(corpus_path, -1) != 0) {
		perror("corpus");
		return 1;
	}
	RUN(features_invariants);
	RUN(features_empty);
	RUN(features_deterministic_and_reused);
	RUN(features_folding);
	RUN(features_bad_utf8_and_long);
	RUN(class_names);
	RUN(corpus_read_lines);
	RUN(corpus_read_errors);
	RUN(train_needs_every_class);
	RUN(train_writes_loadable_model);	/* writes model_path, used below */
	RUN(train_deterministic);
	RUN(train_unwritable_out);
	RUN(classify_what_it_learnt);
	RUN(model_refused);
	RUN(model_load_files);
	RUN(personal_data);
	RUN(link_hosts);
	RUN(langid_sentences);
	RUN(langid_edges);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	UNIT_DONE("test_guard");
}
