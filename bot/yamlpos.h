/* yamlpos.h - a loaded YAML document with positions (libyaml's document API), and typed
 * helpers whose errors all read the same: "file:line:col: error: ..." with a hint. */
#ifndef ACKBOT_YAMLPOS_H
#define ACKBOT_YAMLPOS_H

#include <stdint.h>
#include <yaml.h>

#include "diag.h"

struct ydoc {
	yaml_document_t doc;
	char *file;
	int loaded;
	char *text;		/* the file as read */
	size_t len;
};

/* Where needle first occurs in the source of scalar n (its quotes and escapes read as
 * written): *line and *col (1-based, columns in characters), 0; -1 when it is not there
 * as written (then n's own position is the best there is). */
int ydoc_find(const struct ydoc *y, const yaml_node_t *n, const char *needle, int *line,
    int *col);

/* Loads path; syntax errors go to d at libyaml's position. Returns 0 or -1. */
int  ydoc_load(struct ydoc *y, const char *path, struct diag *d);
void ydoc_free(struct ydoc *y);
yaml_node_t *ydoc_root(struct ydoc *y);

int  ynode_line(const yaml_node_t *n);	/* 1-based */
int  ynode_col(const yaml_node_t *n);	/* 1-based */
/* Scalar value, or NULL when n is not a scalar. Borrowed. */
const char *ynode_str(const yaml_node_t *n);
int  ynode_is_null(const yaml_node_t *n);	/* "~", "null", "" (plain) */

yaml_node_t *ydoc_node(struct ydoc *y, int id);
/* Map lookup by key; *key_out (optional) gets the key node. */
yaml_node_t *ymap_get(struct ydoc *y, yaml_node_t *map, const char *key, yaml_node_t **key_out);

/* Reports every key of map not in allowed (NULL-terminated), with a did-you-mean hint. */
void ymap_check_keys(struct ydoc *y, yaml_node_t *map, const char *const *allowed,
    const char *where, struct diag *d);

/* Typed getters: n == NULL leaves *out alone and returns 0; a bad value is reported at
 * n's position and returns -1. what names the key in messages. */
int ynode_bool(struct ydoc *y, yaml_node_t *n, const char *what, int *out, struct diag *d);
int ynode_int(struct ydoc *y, yaml_node_t *n, const char *what, long min, long max, long *out,
    struct diag *d);
int ynode_duration(struct ydoc *y, yaml_node_t *n, const char *what, int64_t *out, struct diag *d);
int ynode_string(struct ydoc *y, yaml_node_t *n, const char *what, char **out, struct diag *d);
/* A scalar or a sequence of scalars, as a new array of new strings. */
int ynode_strings(struct ydoc *y, yaml_node_t *n, const char *what, char ***out, size_t *nout,
    struct diag *d);

void ystrings_free(char **v, size_t n);

/* Closest of the candidates to word (edit distance <= 2), or NULL. */
/* Edit distance of two short names (a swap of neighbours is one step); 99 past 64. */
size_t ydistance(const char *a, size_t la, const char *b, size_t lb);
const char *yclosest(const char *word, const char *const *candidates);

#endif
