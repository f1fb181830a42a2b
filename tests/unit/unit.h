/* unit.h - a tiny unit-test harness: TEST(name) functions, CHECK macros, one line per test.
 * Each binary prints "PASS name" or "FAIL name: file:line: what" per test and, last,
 * "unit <binary>: N passed, N failed"; it exits 1 if anything failed. tests/run.py reads it. */
#ifndef ACKBOT_UNIT_H
#define ACKBOT_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_failed_now;
static int unit_pass, unit_fail;

#define CHECK(cond) do { if (!(cond)) { \
	printf("FAIL %s: %s:%d: %s\n", unit_name, __FILE__, __LINE__, #cond); \
	unit_failed_now = 1; return; } } while (0)

#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) { \
	printf("FAIL %s: %s:%d: %s\n    got:  \"%s\"\n    want: \"%s\"\n", unit_name, \
	    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	unit_failed_now = 1; return; } } while (0)

#define CHECK_INT(got, want) do { long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) { printf("FAIL %s: %s:%d: %s = %lld, want %lld\n", unit_name, \
	    __FILE__, __LINE__, #got, g_, w_); unit_failed_now = 1; return; } } while (0)

#define TEST(name) static void name(const char *unit_name)

#define RUN(name) do { unit_failed_now = 0; name(#name); \
	if (unit_failed_now) unit_fail++; else { unit_pass++; printf("PASS %s\n", #name); } } while (0)

#define UNIT_DONE(bin) do { printf("unit %s: %d passed, %d failed\n", bin, unit_pass, unit_fail); \
	return unit_fail ? 1 : 0; } while (0)

/* For tests that include diag.h: is there an entry at line:col with exactly msg? Prints
 * what there is when not. */
#ifdef ACKBOT_DIAG_H
__attribute__((unused)) static int
diag_has(const struct diag *d, int line, int col, const char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].line == line && d->items[i].col == col && strcmp(d->items[i].msg, msg) == 0)
			return 1;
	for (size_t i = 0; i < d->n; i++)
		printf("    have %d:%d: %s\n", d->items[i].line, d->items[i].col, d->items[i].msg);
	return 0;
}
#endif

#endif
