/* mastodon_parse.h - what a Mastodon server sends, read without side effects (for the
 * source, the tests and the fuzzer): streaming envelopes and Notification entities. */
#ifndef ACKBOT_MASTODON_PARSE_H
#define ACKBOT_MASTODON_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "mention.h"

/* A Mastodon document, or NULL when it is not JSON or nests deeper than Mastodon ever does. */
json_t *mastodon_json(const char *s, size_t len);

enum { STREAM_OTHER, STREAM_NOTIFICATION, STREAM_ERROR, STREAM_BAD };

/* Reads one streaming message ({"stream", "event", "payload"}; the payload is JSON in a
 * string). STREAM_NOTIFICATION: *payload gets the parsed Notification (caller decrefs);
 * STREAM_ERROR: *error gets the server's error text (borrowed from *env, which the caller
 * decrefs); STREAM_OTHER: another event; STREAM_BAD: not an envelope. */
int mastodon_stream_message(const char *data, size_t len, json_t **env, json_t **payload,
    const char **error);

struct mastodon_who {
	const char *source;	/* the source's name */
	const char *own_id;	/* the bot's account id, or NULL */
	int skip_bots;		/* flag accounts with bot: true */
};

/* Fills mn from a Notification: 1 it is a mention (mn filled; caller clears it), 0 another
 * type, -1 malformed (mn cleared). mn->received_ms and mn->cursor (the notification id)
 * are set. */
int mastodon_notification_mention(json_t *n, const struct mastodon_who *who, struct mention *mn);

#endif
