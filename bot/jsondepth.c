/* jsondepth.c - nesting depth of a JSON text, strings and escapes skipped. */
#include "jsondepth.h"

#include <string.h>

int
json_depth_ok(const char *s, size_t len, int max)
{
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '"':	/* a string: to its closing quote, escapes skipped */
			for (i++; i < len && s[i] != '"'; i++) {
				const char *q = memchr(s + i, '"', len - i), *b;
				if (q == NULL)
					return 1;
				b = memchr(s + i, '\\', (size_t)(q - s) - i);
				if (b == NULL) {
					i = (size_t)(q - s);
					break;
				}
				i = (size_t)(b - s) + 1;	/* the escaped character */
			}
			break;
		case '[':
		case '{':
			if (++depth > max)
				return 0;
			break;
		case ']':
		case '}':
			depth--;
			break;
		default:
			break;
		}
	}
	return 1;
}
