/* metrics.c - a few labelled counters and two histograms, no allocation on the hot path
 * beyond the first use of a label. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256

static const struct {
	const char *name, *label, *help;
} counter_def[M_COUNTER_MAX] = {
	[M_MENTIONS_RECEIVED] = { "ackbot_mentions_received_total", "source", "Mentions committed to the inbox." },
	[M_MENTIONS_DUPLICATE] = { "ackbot_mentions_duplicate_total", "source", "Deliveries of a mention already stored." },
	[M_MENTIONS_PROCESSED] = { "ackbot_mentions_processed_total", "intent", "Mentions matched and decided, by intent." },
	[M_REPLIES_SENT] = { "ackbot_replies_sent_total", "source", "Replies the platform accepted." },
	[M_REPLIES_FAILED] = { "ackbot_replies_failed_total", "source", "Replies given up and handed off." },
	[M_REPLIES_RETRIED] = { "ackbot_replies_retried_total", "source", "Reply attempts that will be retried." },
	[M_HANDOFFS_CREATED] = { "ackbot_handoffs_created_total", "queue", "Handoff records created." },
	[M_WEBHOOK_REJECTED] = { "ackbot_webhook_rejected_total", "status", "Webhook requests rejected, by HTTP status." },
	[M_MATCH_LIMIT_HITS] = { "ackbot_match_limit_hits_total", NULL, "Mentions that hit a PCRE2 match or depth limit." },
	[M_GUARD_VETOES] = { "ackbot_guard_vetoes_total", "changed", "Decisions the second opinion changed (no_thanks, spam, praise, urgent)." },
};

static const struct {
	const char *name, *help;
} hist_def[M_HIST_MAX] = {
	[M_ACK_LATENCY] = { "ackbot_ack_latency_seconds", "Webhook request received to acknowledged after commit." },
	[M_REPLY_LATENCY] = { "ackbot_reply_latency_seconds", "Mention received to reply delivered." },
};

static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10, 30, 60 };
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct series {
	int metric;
	char label[64];
	uint64_t value;
};

static struct series series[MAX_SERIES];
static size_t nseries;
static struct {
	uint64_t buckets[NBOUNDS];
	uint64_t count;
	double sum;
} hists[M_HIST_MAX];

static struct series *
find(enum metric_counter c, const char *label, int create)
{
	if (label == NULL)
		label = "";
	for (size_t i = 0; i < nseries; i++)
		if (series[i].metric == (int)c && strcmp(series[i].label, label) == 0)
			return &series[i];
	if (!create || nseries == MAX_SERIES)
		return NULL;
	series[nseries].metric = (int)c;
	snprintf(series[nseries].label, sizeof(series[nseries].label), "%s", label);
	series[nseries].value = 0;
	return &series[nseries++];
}

void
metrics_add(enum metric_counter c, const char *label, uint64_t n)
{
	struct series *s = find(c, label, 1);

	if (s != NULL)
		s->value += n;
}

void
metrics_inc(enum metric_counter c, const char *label)
{
	metrics_add(c, label, 1);
}

uint64_t
metrics_get(enum metric_counter c, const char *label)
{
	struct series *s = find(c, label, 0);

	return s ? s->value : 0;
}

void
metrics_observe(enum metric_hist h, double seconds)
{
	for (size_t i = 0; i < NBOUNDS; i++)
		if (seconds <= bounds[i])
			hists[h].buckets[i]++;
	hists[h].count++;
	hists[h].sum += seconds;
}

void
metrics_reset(void)
{
	nseries = 0;
	memset(hists, 0, sizeof(hists));
}

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

char *
metrics_render(const struct metrics_gauges *g)
{
	struct buf b = { malloc(4096), 0, 4096, 0 };

	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	for (int c = 0; c < M_COUNTER_MAX; c++) {
		bprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", counter_def[c].name,
		    counter_def[c].help, counter_def[c].name);
		int any = 0;
		for (size_t i = 0; i < nseries; i++) {
			if (series[i].metric != c)
				continue;
			any = 1;
			if (counter_def[c].label != NULL)
				bprintf(&b, "%s{%s=\"%s\"} %llu\n", counter_def[c].name, counter_def[c].label,
				    series[i].label, (unsigned long long)series[i].value);
			else
				bprintf(&b, "%s %llu\n", counter_def[c].name, (unsigned long long)series[i].value);
		}
		if (!any && counter_def[c].label == NULL)
			bprintf(&b, "%s 0\n", counter_def[c].name);
	}
	bprintf(&b, "# HELP ackbot_handoffs_open Handoff records waiting for a person.\n"
	    "# TYPE ackbot_handoffs_open gauge\nackbot_handoffs_open %lld\n",
	    (long long)g->handoffs_open);
	bprintf(&b, "# HELP ackbot_replies_pending Replies queued in the outbox.\n"
	    "# TYPE ackbot_replies_pending gauge\nackbot_replies_pending %lld\n",
	    (long long)g->replies_pending);
	bprintf(&b, "# HELP ackbot_uptime_seconds Seconds since start.\n"
	    "# TYPE ackbot_uptime_seconds gauge\nackbot_uptime_seconds %lld\n",
	    (long long)g->uptime_s);
	for (int h = 0; h < M_HIST_MAX; h++) {
		const char *n = hist_def[h].name;
		bprintf(&b, "# HELP %s %s\n# TYPE %s histogram\n", n, hist_def[h].help, n);
		for (size_t i = 0; i < NBOUNDS; i++)
			bprintf(&b, "%s_bucket{le=\"%g\"} %llu\n", n, bounds[i],
			    (unsigned long long)hists[h].buckets[i]);
		bprintf(&b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", n,
		    (unsigned long long)hists[h].count, n, hists[h].sum, n,
		    (unsigned long long)hists[h].count);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
