/* handoff.h - handoff records as people see them: JSON, for the CLI and the handoff log
 * (handoff_log.h). */
#ifndef ACKBOT_HANDOFF_H
#define ACKBOT_HANDOFF_H

#include <jansson.h>

#include "err.h"
#include "store.h"

/* New JSON object for h; caller decrefs. */
json_t *handoff_to_json(const struct handoff *h);

/* "2026-01-02T03:04:05.678Z" into buf. */
void handoff_format_time(int64_t ms, char *buf, size_t len);

#endif
