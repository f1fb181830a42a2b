/* guard.c - the second opinion's model: load a model file into liblinear, classify. */
#include "guard.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <linear.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "featurize.h"

const char *const guard_class_names[G_NCLASS] = {
	"praise", "complaint", "order_issue", "refund_return", "question", "safety",
	"legal_privacy", "spam", "feature_request", "neutral",
};

struct guard_model {
	struct model m;		/* liblinear's, filled from the file */
	int labels[G_NCLASS];
	char version[13];
	size_t trained_on;
};

int
guard_class_of(const char *name)
{
	for (int k = 0; name != NULL && k < G_NCLASS; k++)
		if (strcmp(name, guard_class_names[k]) == 0)
			return k;
	return -1;
}

int
guard_class_is_problem(int k)
{
	return k == G_COMPLAINT || k == G_ORDER_ISSUE || k == G_REFUND_RETURN || k == G_SAFETY ||
	    k == G_LEGAL_PRIVACY;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int
read_file(const char *path, unsigned char **buf, size_t *len, struct ack_err *err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	*buf = NULL;
	if (fd < 0)
		return ack_fail(err, errno == ENOENT ? ACK_ENOENT : ACK_EIO,
		    "cannot open model %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > 64 * 1024 * 1024) {
		close(fd);
		return ack_fail(err, ACK_EINVAL, "model %s: not a regular file under 64 MiB", path);
	}
	*len = (size_t)sb.st_size;
	if ((*buf = malloc(*len ? *len : 1)) == NULL) {
		close(fd);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	while (got < *len) {
		ssize_t r = read(fd, *buf + got, *len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			free(*buf);
			*buf = NULL;
			return ack_fail(err, ACK_EIO, "reading model %s: %s", path,
			    r < 0 ? strerror(errno) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	return 0;
}

static int
parse(struct guard_model *g, const unsigned char *b, size_t len, const char *path,
    struct ack_err *err)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	uint32_t format, ncls, bits;
	size_t nw;
	double bias;

	if (len < GUARD_HEADER + SHA256_DIGEST_LENGTH || memcmp(b, GUARD_MAGIC, 8) != 0)
		return ack_fail(err, ACK_EINVAL, "%s is not an ackbot model (run `ackbot model "
		    "train`)", path);
	format = le32(b + 8);
	ncls = le32(b + 12);
	bits = le32(b + 16);
	if (format != GUARD_FORMAT)
		return ack_fail(err, ACK_EINVAL, "model %s has format %u; this ackbot reads %u "
		    "(run `ackbot model train` again)", path, format, GUARD_FORMAT);
	if (ncls != G_NCLASS || bits != FEATURES_BITS)
		return ack_fail(err, ACK_EINVAL, "model %s has %u classes over 2^%u features; this "
		    "ackbot needs %d over 2^%d (run `ackbot model train` again)", path, ncls, bits,
		    G_NCLASS, FEATURES_BITS);
	nw = ((size_t)FEATURES_DIM + 1) * G_NCLASS;
	if (len != GUARD_HEADER + nw * 4 + SHA256_DIGEST_LENGTH)
		return ack_fail(err, ACK_EINVAL, "model %s is %zu bytes, expected %zu (cut short?)",
		    path, len, GUARD_HEADER + nw * 4 + SHA256_DIGEST_LENGTH);
	SHA256(b, len - SHA256_DIGEST_LENGTH, digest);
	if (memcmp(digest, b + len - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH) != 0)
		return ack_fail(err, ACK_EINVAL, "model %s fails its checksum (damaged or cut short)",
		    path);
	g->trained_on = le32(b + 20);
	memcpy(&bias, b + 32, sizeof(bias));
	if (!isfinite(bias) || (bias != -1 && (bias < 0 || bias > 1e3)))
		return ack_fail(err, ACK_EINVAL, "model %s: bias %g is neither -1 (none) nor a number "
		    "from 0 to 1000 (run `ackbot model train` again)", path, bias);
	for (int k = 0; k < G_NCLASS; k++) {
		const char *nm = (const char *)b + 40 + k * GUARD_NAME_LEN;
		if (strnlen(nm, GUARD_NAME_LEN) == GUARD_NAME_LEN ||
		    strcmp(nm, guard_class_names[k]) != 0)
			return ack_fail(err, ACK_EINVAL, "model %s: class %d is '%.*s', expected '%s'",
			    path, k, GUARD_NAME_LEN, nm, guard_class_names[k]);
		g->labels[k] = k;
	}
	if ((g->m.w = malloc(nw * sizeof(double))) == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	for (size_t i = 0; i < nw; i++) {
		uint32_t u = le32(b + GUARD_HEADER + 4 * i);
		float f;
		memcpy(&f, &u, sizeof(f));
		if (!isfinite(f) || fabsf(f) > 1e6f) {
			free(g->m.w);
			g->m.w = NULL;
			return ack_fail(err, ACK_EINVAL, "model %s: weight %zu is %g, not a finite "
			    "number of reasonable size (run `ackbot model train` again)", path, i,
			    (double)f);
		}
		g->m.w[i] = f;
	}
	g->m.param.solver_type = L2R_LR;
	g->m.nr_class = G_NCLASS;
	g->m.nr_feature = (int)FEATURES_DIM;
	g->m.label = g->labels;
	g->m.bias = bias;
	for (int i = 0; i < 6; i++)
		snprintf(g->version + 2 * i, 3, "%02x", digest[i]);
	(void)le64;
	return 0;
}

int
guard_model_parse(struct guard_model **out, const unsigned char *buf, size_t len,
    const char *name, struct ack_err *err)
{
	struct guard_model *g;
	int rc;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	if ((rc = parse(g, buf, len, name, err)) != 0) {
		guard_model_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

int
guard_model_load(struct guard_model **out, const char *path, struct ack_err *err)
{
	unsigned char *buf;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = read_file(path, &buf, &len, err)) != 0)
		return rc;
	rc = guard_model_parse(out, buf, len, path, err);
	free(buf);
	return rc;
}

void
guard_model_free(struct guard_model *g)
{
	if (g == NULL)
		return;
	free(g->m.w);
	free(g);
}

const char *
guard_model_version(const struct guard_model *g)
{
	return g->version;
}

size_t
guard_model_trained_on(const struct guard_model *g)
{
	return g->trained_on;
}

int
guard_classify(const struct guard_model *g, const char *text, double p[G_NCLASS],
    struct ack_err *err)
{
	struct features f = { 0 };

	if (features_of(&f, text, g->m.bias) != 0) {
		features_free(&f);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	predict_probability(&g->m, f.x, p);
	features_free(&f);
	for (int k = 0; k < G_NCLASS; k++)
		if (!isfinite(p[k])) {	/* a crafted model can underflow every class */
			for (int j = 0; j < G_NCLASS; j++)
				p[j] = 1.0 / G_NCLASS;
			break;
		}
	return 0;
}
