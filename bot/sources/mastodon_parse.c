/* mastodon_parse.c - streaming envelopes and Notification entities into mentions. */
#include "mastodon_parse.h"

#include <stdlib.h>
#include <string.h>

#include "jsondepth.h"
#include "mastodon_text.h"
#include "store.h"
#include "text.h"

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *
mastodon_json(const char *s, size_t len)
{
	/* a notification page nests about eight deep */
	if (!json_depth_ok(s, len, 2 * JSON_DEPTH_MAX))
		return NULL;
	return json_loadb(s, len, 0, NULL);
}

int
mastodon_stream_message(const char *data, size_t len, json_t **env, json_t **payload,
    const char **error)
{
	const char *ev, *p;

	*payload = NULL;
	*error = NULL;
	if ((*env = mastodon_json(data, len)) == NULL || !json_is_object(*env))
		return STREAM_BAD;
	if ((ev = jstr(*env, "event")) == NULL) {
		if ((*error = jstr(*env, "error")) != NULL)
			return STREAM_ERROR;
		return STREAM_BAD;
	}
	if (strcmp(ev, "notification") != 0)
		return STREAM_OTHER;
	if ((p = jstr(*env, "payload")) == NULL ||
	    (*payload = mastodon_json(p, strlen(p))) == NULL || !json_is_object(*payload))
		return STREAM_BAD;
	return STREAM_NOTIFICATION;
}

int
mastodon_notification_mention(json_t *n, const struct mastodon_who *who, struct mention *mn)
{
	json_t *st, *acct, *extra;
	const char *type = jstr(n, "type"), *nid = jstr(n, "id"), *content, *note;

	memset(mn, 0, sizeof(*mn));
	if (type == NULL || nid == NULL)
		return -1;
	if (strcmp(type, "mention") != 0)
		return 0;
	st = json_object_get(n, "status");
	acct = json_object_get(n, "account");
	if (!json_is_object(st) || !json_is_object(acct) || jstr(st, "id") == NULL ||
	    jstr(acct, "id") == NULL || jstr(acct, "acct") == NULL)
		return -1;
	content = jstr(st, "content");
	mn->source = strdup(who->source);
	mn->platform_id = strdup(jstr(st, "id"));
	mn->text = mastodon_html_to_text(content ? content : "", content ? strlen(content) : 0);
	mn->author_id = strdup(jstr(acct, "id"));
	mn->author_handle = strdup(jstr(acct, "acct"));
	if (jstr(acct, "display_name") && *jstr(acct, "display_name"))
		mn->author_name = strdup(jstr(acct, "display_name"));
	if (jstr(st, "url"))
		mn->url = strdup(jstr(st, "url"));
	if (jstr(st, "language"))
		mn->lang = strdup(jstr(st, "language"));
	if (jstr(st, "created_at"))
		mn->created_at = strdup(jstr(st, "created_at"));
	if (json_is_true(json_object_get(acct, "bot")) && who->skip_bots)
		mn->author_flags |= MENTION_BOT;
	if (who->own_id != NULL && strcmp(who->own_id, jstr(acct, "id")) == 0)
		mn->author_flags |= MENTION_SELF;
	/* account facts, spam signals for the guard */
	if (jstr(acct, "created_at"))
		mn->author_since_ms = text_iso8601_ms(jstr(acct, "created_at"));
	if (json_is_integer(json_object_get(acct, "followers_count"))) {
		mn->author_followers = json_integer_value(json_object_get(acct, "followers_count"));
		mn->author_flags |= MENTION_FOLLOWERS;
	}
	note = jstr(acct, "note");
	if (note != NULL && strcasestr(note, "#nobot") != NULL)
		mn->author_flags |= MENTION_NOBOT;
	extra = json_pack("{s:s?,s:s?,s:s?,s:s,s:s}", "visibility", jstr(st, "visibility"),
	    "spoiler_text", jstr(st, "spoiler_text"), "language", jstr(st, "language"),
	    "acct", jstr(acct, "acct"), "notification_id", nid);
	mn->extra = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
	json_decref(extra);
	mn->cursor = strdup(nid);
	mn->received_ms = store_now_ms();
	if (mn->source == NULL || mn->platform_id == NULL || mn->text == NULL ||
	    mn->author_id == NULL || mn->author_handle == NULL || mn->extra == NULL ||
	    mn->cursor == NULL) {
		mention_clear(mn);
		return -1;
	}
	return 1;
}
