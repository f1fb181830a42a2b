/* webhook.h - the generic signed webhook source's body parser, exposed for tests and fuzzing. */
#ifndef ACKBOT_SOURCES_WEBHOOK_H
#define ACKBOT_SOURCES_WEBHOOK_H

#include <stddef.h>

#include "mention.h"

/* Parses a webhook body (already signature-checked) into m. Returns 0, or -1 with a
 * message for the 400 answer in why; m may hold partial fields either way (the caller
 * clears it with mention_clear). */
int webhook_parse_mention(const char *body, size_t len, struct mention *m, char *why,
    size_t whylen);

#endif
