/* metrics.h - process counters and latency histograms, rendered in the Prometheus text
 * format on GET /metrics. Single-threaded: everything runs on the loop. */
#ifndef ACKBOT_METRICS_H
#define ACKBOT_METRICS_H

#include <stdint.h>

enum metric_counter {
	M_MENTIONS_RECEIVED,	/* label: source */
	M_MENTIONS_DUPLICATE,	/* label: source */
	M_MENTIONS_PROCESSED,	/* label: intent */
	M_REPLIES_SENT,		/* label: source */
	M_REPLIES_FAILED,	/* label: source */
	M_REPLIES_RETRIED,	/* label: source */
	M_HANDOFFS_CREATED,	/* label: queue */
	M_WEBHOOK_REJECTED,	/* label: status */
	M_MATCH_LIMIT_HITS,	/* no label */
	M_GUARD_VETOES,		/* label: what the second opinion changed */
	M_COUNTER_MAX
};

enum metric_hist {
	M_ACK_LATENCY,		/* request received -> 2xx answered after commit */
	M_REPLY_LATENCY,	/* mention received -> reply delivered */
	M_HIST_MAX
};

void metrics_inc(enum metric_counter c, const char *label);
void metrics_add(enum metric_counter c, const char *label, uint64_t n);
uint64_t metrics_get(enum metric_counter c, const char *label);
void metrics_observe(enum metric_hist h, double seconds);

struct metrics_gauges {
	int64_t handoffs_open;
	int64_t replies_pending;
	int64_t uptime_s;
};

/* New string with the whole exposition; caller frees. NULL on allocation failure. */
char *metrics_render(const struct metrics_gauges *g);
void metrics_reset(void);

#endif
