/* template.h - reply templates: {{var}}, {{var|default}}, sections {{#var}}...{{/var}} and
 * {{^var}}...{{/var}}; values from a mention are neutralised. */
#ifndef ACKBOT_TEMPLATE_H
#define ACKBOT_TEMPLATE_H

#include <stddef.h>

#include "err.h"

struct tmpl_var {
	const char *name;
	const char *value;	/* NULL: missing */
	int         trusted;	/* 1: inserted as is (the author's @handle, ticket id, intent name);
				 * 0: came from the mention, passed through text_neutralize() */
};

/* Syntax check at load time. A placeholder is "{{" space* NAME space* ("|" DEFAULT)? "}}"
 * with NAME = [A-Za-z_][A-Za-z0-9_]* and DEFAULT any text without "}}" or "{{".
 * A lone "{{" without a closing "}}", an empty or bad name: error. "{" and "}" alone are text.
 * A section opens with {{#NAME}} (its text shows when NAME has a value) or {{^NAME}} (when it
 * has none) and ends at {{/NAME}}; sections do not nest and take no default.
 * Returns 0, or ACK_EINVAL with err->msg set ("unclosed '{{'", "bad variable name 'x-y'")
 * and *offset the byte offset of the offending "{{". */
int template_check(const char *tmpl, size_t *offset, struct ack_err *err);

/* Renders tmpl. A variable missing from vars, NULL, or empty after neutralisation takes its
 * default (template text, inserted as is) or "". Untrusted values are neutralised and cut to
 * 64 graphemes. The result is NFC, has no control characters other than '\n', and is cut
 * to max_graphemes (0 = no cap) with "…" by text_truncate().
 * New string; caller frees. NULL with err filled on a syntax error or allocation failure. */
char *template_render(const char *tmpl, const struct tmpl_var *vars, size_t nvars,
    size_t max_graphemes, struct ack_err *err);

/* Calls fn for each variable name used in tmpl (for `ackbot check`: unknown names). */
void template_each_var(const char *tmpl, void (*fn)(const char *name, size_t len, void *arg), void *arg);

#endif
