/* diag.c - collecting and printing positioned diagnostics. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
		free(d->items[i].hint);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

void
diag_add(struct diag *d, int severity, const char *file, int line, int col,
    const char *hint, const char *fmt, ...)
{
	struct diag_item *it;
	va_list ap;
	char buf[1024];

	if (severity == DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct diag_item *n = realloc(d->items, ncap * sizeof(*n));
		if (n == NULL)
			return;
		d->items = n;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	it = &d->items[d->n];
	it->severity = severity;
	it->file = strdup(file ? file : "-");
	it->line = line;
	it->col = col;
	it->msg = strdup(buf);
	it->hint = hint ? strdup(hint) : NULL;
	if (it->file == NULL || it->msg == NULL) {
		free(it->file);
		free(it->msg);
		free(it->hint);
		return;
	}
	d->n++;
}

static int
cmp_pos(const void *a, const void *b)
{
	const struct diag_item *x = *(const struct diag_item *const *)a;
	const struct diag_item *y = *(const struct diag_item *const *)b;
	int c = strcmp(x->file, y->file);

	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x < y ? -1 : x > y;
}

void
diag_print(const struct diag *d, void *file)
{
	FILE *f = file;
	const struct diag_item **v = malloc((d->n ? d->n : 1) * sizeof(*v));

	for (size_t i = 0; v != NULL && i < d->n; i++)
		v[i] = &d->items[i];
	if (v != NULL)	/* in file order: the way people read them */
		qsort(v, d->n, sizeof(*v), cmp_pos);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag_item *it = v ? v[i] : &d->items[i];
		const char *sev = it->severity == DIAG_ERROR ? "error" : "warning";
		if (it->line > 0 && it->col > 0)
			fprintf(f, "%s:%d:%d: %s: %s\n", it->file, it->line, it->col, sev, it->msg);
		else if (it->line > 0)
			fprintf(f, "%s:%d: %s: %s\n", it->file, it->line, sev, it->msg);
		else
			fprintf(f, "%s: %s: %s\n", it->file, sev, it->msg);
		if (it->hint != NULL)
			fprintf(f, "  hint: %s\n", it->hint);
	}
	free(v);
}
