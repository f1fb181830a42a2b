/* train.c - corpus files, intents' examples and staff labels into a liblinear model file. */
#include "train.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linear.h>
#include <libgen.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "featurize.h"
#include "config.h"
#include "intents.h"
#include "store.h"
#include "yamlpos.h"

#define TRAIN_C_DEFAULT 16.0

void
labelled_free(struct labelled *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].text);
		free(v[i].lang);
	}
	free(v);
}

static int
push_labelled(struct labelled **v, size_t *n, size_t *cap, const char *text, const char *lang,
    int label, int line)
{
	struct labelled *x;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		if ((x = realloc(*v, nc * sizeof(*x))) == NULL)
			return -1;
		*v = x;
		*cap = nc;
	}
	x = &(*v)[*n];
	x->text = strdup(text);
	x->lang = lang ? strdup(lang) : NULL;
	x->label = label;
	x->line = line;
	if (x->text == NULL || (lang && x->lang == NULL)) {
		free(x->text);
		free(x->lang);
		return -1;
	}
	(*n)++;
	return 0;
}

int
corpus_read(const char *path, struct labelled **v, size_t *n, struct ack_err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t lcap = 0, cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	struct stat sb;

	*v = NULL;
	*n = 0;
	if (f == NULL)
		return ack_fail(err, errno == ENOENT ? ACK_ENOENT : ACK_EIO, "cannot open corpus %s: %s",
		    path, strerror(errno));
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		fclose(f);
		return ack_fail(err, ACK_EINVAL, "corpus %s is not a regular file (name a *.jsonl "
		    "file, or its directory in guard.corpus)", path);
	}
	while ((len = getline(&line, &lcap, f)) >= 0) {
		size_t sp;
		json_error_t je;
		json_t *o, *t, *l, *g;
		int k;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		sp = strspn(line, " \t");
		if (line[sp] == '\0' || line[sp] == '#')
			continue;	/* blank, white space only, a comment */
		if ((o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
			rc = ack_fail(err, ACK_EINVAL, "%s:%d:%d: not JSON: %s", path, lineno,
			    je.column > 0 ? je.column : 1, je.text);
			break;
		}
		t = json_object_get(o, "text");
		l = json_object_get(o, "label");
		g = json_object_get(o, "lang");
		k = json_is_string(l) ? guard_class_of(json_string_value(l)) : -1;
		if (!json_is_string(t) || k < 0 || (g != NULL && !json_is_string(g) &&
		    !json_is_null(g))) {
			rc = ack_fail(err, ACK_EINVAL, "%s:%d:1: a corpus line is {\"text\": \"...\", "
			    "\"label\": \"%s|...\", \"lang\": \"en\"}%s%s", path, lineno,
			    guard_class_names[0], json_is_string(l) && k < 0 ? "; unknown label " : "",
			    json_is_string(l) && k < 0 ? json_string_value(l) : "");
			json_decref(o);
			break;
		}
		if (push_labelled(v, n, &cap, json_string_value(t), json_is_string(g) ?
		    json_string_value(g) : NULL, k, lineno) != 0) {
			json_decref(o);
			rc = ack_fail(err, ACK_ENOMEM, "out of memory");
			break;
		}
		json_decref(o);
	}
	if (rc == 0 && ferror(f))
		rc = ack_fail(err, ACK_EIO, "reading corpus %s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	if (rc != 0) {
		labelled_free(*v, *n);
		*v = NULL;
		*n = 0;
	}
	return rc;
}

static void
quiet(const char *s)
{
	(void)s;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Serialises m in our class order and writes it atomically (temp file, fsync, rename,
 * fsync of the directory). */
static int
write_model(const struct model *m, size_t examples, uint64_t seed, const char *out,
    struct train_report *r, int keep, struct ack_err *err)
{
	char *version = r->version;
	size_t nw = ((size_t)FEATURES_DIM + 1) * G_NCLASS, len = GUARD_HEADER + nw * 4 + 32;
	unsigned char *b = calloc(1, len), digest[SHA256_DIGEST_LENGTH];
	int col[G_NCLASS], fd, rc = 0;
	char *tmp = NULL, *dcopy = NULL;
	size_t off = 0;

	if (b == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	for (int k = 0; k < G_NCLASS; k++)
		col[k] = -1;
	for (int j = 0; j < m->nr_class; j++)
		col[m->label[j]] = j;
	memcpy(b, GUARD_MAGIC, 8);
	put32(b + 8, GUARD_FORMAT);
	put32(b + 12, G_NCLASS);
	put32(b + 16, FEATURES_BITS);
	put32(b + 20, (uint32_t)examples);
	put32(b + 24, (uint32_t)seed);
	put32(b + 28, (uint32_t)(seed >> 32));
	memcpy(b + 32, &m->bias, sizeof(m->bias));
	for (int k = 0; k < G_NCLASS; k++)
		snprintf((char *)b + 40 + k * GUARD_NAME_LEN, GUARD_NAME_LEN, "%s",
		    guard_class_names[k]);
	for (size_t i = 0; i <= FEATURES_DIM; i++)
		for (int k = 0; k < G_NCLASS; k++) {
			/* the last row is the intercept's, zero when there is none */
			float f = i == FEATURES_DIM && m->bias < 0 ? 0.0f :
			    (float)m->w[i * (size_t)m->nr_class + (size_t)col[k]];
			uint32_t u;
			memcpy(&u, &f, sizeof(u));
			put32(b + GUARD_HEADER + 4 * (i * G_NCLASS + (size_t)k), u);
		}
	SHA256(b, len - 32, digest);
	memcpy(b + len - 32, digest, 32);
	for (int i = 0; i < 6; i++)
		snprintf(version + 2 * i, 3, "%02x", digest[i]);
	if (keep && (rc = guard_model_parse(&r->model, b, len, "the model just trained", err)) != 0)
		goto done;
	if (out == NULL)
		goto done;
	if (asprintf(&tmp, "%s.tmp.%ld", out, (long)getpid()) < 0) {
		tmp = NULL;
		rc = ack_fail(err, ACK_ENOMEM, "out of memory");
		goto done;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		rc = ack_fail(err, ACK_EIO, "cannot write model %s: %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t w = write(fd, b + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = ack_fail(err, ACK_EIO, "writing model %s: %s", tmp, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = ack_fail(err, ACK_EIO, "fsync of model %s: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, out) != 0)
		rc = ack_fail(err, ACK_EIO, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		goto done;
	}
	if ((dcopy = strdup(out)) != NULL && (fd = open(dirname(dcopy), O_RDONLY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
done:
	if (rc != 0 && r->model != NULL) {
		guard_model_free(r->model);
		r->model = NULL;
	}
	free(dcopy);
	free(tmp);
	free(b);
	return rc;
}

struct set {
	struct labelled *v;
	size_t n, cap;
};

static int
gather(const struct train_opts *o, struct set *s, struct train_report *r, struct ack_err *err)
{
	int rc;

	for (size_t i = 0; i < o->ncorpus; i++) {
		struct labelled *v;
		size_t n;
		if ((rc = corpus_read(o->corpus[i], &v, &n, err)) != 0)
			return rc;
		for (size_t j = 0; j < n; j++)
			if (push_labelled(&s->v, &s->n, &s->cap, v[j].text, v[j].lang, v[j].label,
			    v[j].line) != 0) {
				labelled_free(v, n);
				return ack_fail(err, ACK_ENOMEM, "out of memory");
			}
		r->from_corpus += n;
		labelled_free(v, n);
	}
	for (size_t i = 0; o->in != NULL && i < o->in->n; i++) {
		const struct intent *it = &o->in->v[i];
		if (it->guard_class < 0)
			continue;
		for (size_t e = 0; e < it->nexamples; e++) {
			if (!it->examples[e].must_match)
				continue;
			if (push_labelled(&s->v, &s->n, &s->cap, it->examples[e].text,
			    it->examples[e].lang, it->guard_class, it->examples[e].line) != 0)
				return ack_fail(err, ACK_ENOMEM, "out of memory");
			r->from_examples++;
		}
	}
	if (o->st != NULL) {
		struct labelled *v;
		size_t n;
		if ((rc = o->st->ops->label_list(o->st, &v, &n, err)) != 0)
			return rc;
		for (size_t j = 0; j < n; j++)
			if (push_labelled(&s->v, &s->n, &s->cap, v[j].text, v[j].lang, v[j].label,
			    0) != 0) {
				labelled_free(v, n);
				return ack_fail(err, ACK_ENOMEM, "out of memory");
			}
		r->from_labels += n;
		labelled_free(v, n);
	}
	return 0;
}

int
train_model(const struct train_opts *o, struct train_report *r, struct ack_err *err)
{
	struct set s = { 0 };
	struct problem prob = { 0 };
	struct parameter param = { 0 };
	struct feature_node **x = NULL;
	double *y = NULL, *target = NULL, wt[G_NCLASS];
	int wl[G_NCLASS], rc;
	struct model *m = NULL;
	const char *bad;

	memset(r, 0, sizeof(*r));
	r->cv_accuracy = -1;
	if ((rc = gather(o, &s, r, err)) != 0)
		goto done;
	r->n = s.n;
	for (size_t i = 0; i < s.n; i++)
		r->per_class[s.v[i].label]++;
	for (int k = 0; k < G_NCLASS; k++)
		if (r->per_class[k] == 0) {
			rc = ack_fail(err, ACK_EINVAL, "no training example of class '%s' (every class "
			    "needs some: add them to the corpus)", guard_class_names[k]);
			goto done;
		}
	x = calloc(s.n, sizeof(*x));
	y = calloc(s.n, sizeof(*y));
	if (x == NULL || y == NULL) {
		rc = ack_fail(err, ACK_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct features f = { 0 };
		if (features_of(&f, s.v[i].text, -1) != 0) {
			features_free(&f);
			rc = ack_fail(err, ACK_ENOMEM, "out of memory");
			goto done;
		}
		x[i] = f.x;	/* owned by x now */
		y[i] = s.v[i].label;
	}
	prob.l = (int)s.n;
	/* no intercept: a text with nothing the model knows gets no opinion (all classes
	 * alike), not the likeliest class of the corpus (praise, which must never be the
	 * guess for "awful" or "hmm") */
	prob.n = (int)FEATURES_DIM;
	prob.x = x;
	prob.y = y;
	prob.bias = -1;
	/* weights against the class frequency: the rare classes (safety, legal) count */
	for (int k = 0; k < G_NCLASS; k++) {
		wl[k] = k;
		wt[k] = (double)s.n / (G_NCLASS * (double)r->per_class[k]);
	}
	param.solver_type = L2R_LR;
	param.C = o->C > 0 ? o->C : TRAIN_C_DEFAULT;
	param.eps = 0.001;
	param.nr_weight = G_NCLASS;
	param.weight_label = wl;
	param.weight = wt;
	set_print_string_function(quiet);
	if ((bad = check_parameter(&prob, &param)) != NULL) {
		rc = ack_fail(err, ACK_EINVAL, "liblinear: %s", bad);
		goto done;
	}
	srand((unsigned)o->seed);
	if (o->folds > 1 && s.n >= (size_t)o->folds) {
		size_t ok = 0;
		if ((target = calloc(s.n, sizeof(*target))) == NULL) {
			rc = ack_fail(err, ACK_ENOMEM, "out of memory");
			goto done;
		}
		cross_validation(&prob, &param, o->folds, target);
		for (size_t i = 0; i < s.n; i++)
			ok += (int)target[i] == (int)y[i];
		r->cv_accuracy = (double)ok / (double)s.n;
		srand((unsigned)o->seed);
	}
	if ((m = train(&prob, &param)) == NULL) {
		rc = ack_fail(err, ACK_ENOMEM, "liblinear could not train");
		goto done;
	}
	if (m->nr_class != G_NCLASS) {
		rc = ack_fail(err, ACK_EINVAL, "liblinear saw %d classes, expected %d", m->nr_class,
		    G_NCLASS);
		goto done;
	}
	rc = write_model(m, s.n, o->seed, o->out, r, o->keep, err);
done:
	if (m != NULL)
		free_and_destroy_model(&m);
	for (size_t i = 0; x != NULL && i < s.n; i++)
		free(x[i]);
	free(x);
	free(y);
	free(target);
	labelled_free(s.v, s.n);
	return rc;
}

int
train_ensure(const struct config *c, struct intents *in, struct store *st, int write,
    int *trained, struct ack_err *err)
{
	struct train_opts o;
	struct train_report r;
	char **files;
	size_t nfiles = 0;
	int rc;

	*trained = 0;
	guard_model_free(in->guard);
	in->guard = NULL;
	if (!c->guard_on)
		return 0;
	rc = guard_model_load(&in->guard, c->guard_model, err);
	if (rc != ACK_ENOENT)
		return rc;
	files = config_corpus_files(c, &nfiles);
	if (nfiles == 0)
		return ack_fail(err, ACK_ENOENT, "no model at %s and no corpus to train one from",
		    c->guard_model);
	memset(&o, 0, sizeof(o));
	o.corpus = files;
	o.ncorpus = nfiles;
	o.in = in;
	o.st = st;
	o.seed = c->guard_seed;
	o.out = write ? c->guard_model : NULL;
	o.keep = 1;
	rc = train_model(&o, &r, err);
	ystrings_free(files, nfiles);
	if (rc != 0)
		return rc;
	in->guard = r.model;
	*trained = 1;
	return 0;
}
