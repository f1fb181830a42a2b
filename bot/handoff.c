/* handoff.c - handoff records as JSON (the CLI, the handoff log). */
#include "handoff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intents.h"

void
handoff_format_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
handoff_to_json(const struct handoff *h)
{
	json_t *o = json_object(), *caps = NULL;
	char t[40];

	if (o == NULL)
		return NULL;
	if (h->captures != NULL)
		caps = json_loads(h->captures, 0, NULL);
	json_object_set_new(o, "ticket", json_string(h->ticket));
	json_object_set_new(o, "status", json_string(handoff_status_name(h->status)));
	json_object_set_new(o, "intent", str_or_null(h->intent));
	json_object_set_new(o, "queue", json_string(h->queue));
	json_object_set_new(o, "priority", json_string(handoff_priority_name(h->priority)));
	json_object_set_new(o, "reason", json_string(h->reason));
	json_object_set_new(o, "source", json_string(h->source));
	json_object_set_new(o, "mention_id", json_string(h->platform_id));
	if (h->extra != NULL) {	/* the platform's own handle on it (Mastodon: the notification) */
		json_t *ex = json_loads(h->extra, 0, NULL);
		json_t *nid = json_object_get(ex, "notification_id");
		if (json_is_string(nid))
			json_object_set(o, "notification_id", nid);
		json_decref(ex);
	}
	json_object_set_new(o, "author", str_or_null(h->author_handle));
	json_object_set_new(o, "author_id", str_or_null(h->author_id));
	json_object_set_new(o, "author_name", str_or_null(h->author_name));
	json_object_set_new(o, "text", json_string(h->text));
	json_object_set_new(o, "url", str_or_null(h->url));
	json_object_set_new(o, "captures", caps ? caps : json_object());
	json_object_set_new(o, "reply", str_or_null(h->reply));
	handoff_format_time(h->created_ms, t, sizeof(t));
	json_object_set_new(o, "created_at", json_string(t));
	if (h->resolved_ms > 0) {
		handoff_format_time(h->resolved_ms, t, sizeof(t));
		json_object_set_new(o, "resolved_at", json_string(t));
	} else {
		json_object_set_new(o, "resolved_at", json_null());
	}
	json_object_set_new(o, "note", str_or_null(h->note));
	return o;
}
