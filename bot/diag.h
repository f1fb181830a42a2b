/* diag.h - positioned diagnostics for config, intents and templates:
 * "file:line:column: error: message" plus an optional "  hint: ..." line. */
#ifndef ACKBOT_DIAG_H
#define ACKBOT_DIAG_H

#include <stddef.h>

enum { DIAG_ERROR = 0, DIAG_WARNING = 1 };

struct diag_item {
	int   severity;
	char *file;
	int   line;		/* 1-based; 0 = whole file */
	int   col;		/* 1-based; 0 = unknown */
	char *msg;
	char *hint;		/* may be NULL */
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t errors, warnings;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
/* Adds an entry; hint may be NULL. Allocation failures are swallowed (counted, not stored). */
void diag_add(struct diag *d, int severity, const char *file, int line, int col,
    const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Prints every entry to f, one "file:line:col: error: msg" line (+ "  hint: ..."). */
void diag_print(const struct diag *d, void *file /* FILE * */);

#endif
