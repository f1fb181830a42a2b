/* jsondepth.h - how deeply a JSON text nests, measured before it is parsed. jansson accepts
 * 2,048 levels; nothing a platform sends needs more than a handful, so bodies nested deeper
 * than JSON_DEPTH_MAX are refused before a parser builds thousands of objects for them. */
#ifndef ACKBOT_JSONDEPTH_H
#define ACKBOT_JSONDEPTH_H

#include <stddef.h>

#define JSON_DEPTH_MAX 32

/* 1 if the arrays and objects of s[0..len) nest at most max deep (brackets inside strings
 * do not count), else 0. Does not validate: the parser does that next. */
int json_depth_ok(const char *s, size_t len, int max);

#endif
