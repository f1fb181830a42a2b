/* render.h - the reply text of a decided plan (decide.h). */
#ifndef ACKBOT_RENDER_H
#define ACKBOT_RENDER_H

#include <stddef.h>

#include "decide.h"

/* Renders p's template for m. ticket may be NULL. New string (NULL when p has no
 * template, or on error: err says why); caller frees. */
char *render_reply(const struct plan *p, const struct mention *m, const char *ticket,
    size_t max_graphemes, struct ack_err *err);

#endif
