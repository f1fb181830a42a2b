/* mention.h - one inbound mention as every stage sees it, whatever platform it came from. */
#ifndef ACKBOT_MENTION_H
#define ACKBOT_MENTION_H

#include <stdint.h>

enum {
	MENTION_BOT = 1,	/* the account says it is a bot */
	MENTION_SELF = 2,	/* the bot's own account, whatever its handle */
	MENTION_NOBOT = 4,	/* the author asked bots not to interact (#nobot) */
	MENTION_FOLLOWERS = 8,	/* author_followers is known */
};

struct mention {
	int64_t  row;		/* store row id; 0 until committed */
	char    *source;	/* configured source name ("webhook", "console", "mastodon-main") */
	char    *platform_id;	/* the platform's id for the mention; unique per source */
	char    *text;		/* plain text as the platform sent it (UTF-8) */
	char    *author_id;
	char    *author_handle;	/* without a leading '@' */
	char    *author_name;	/* display name, may be NULL */
	int      author_flags;	/* MENTION_* bits the platform told us about the author */
	int64_t  author_since_ms;	/* when the account was created; 0: not told */
	int64_t  author_followers;	/* its followers, if MENTION_FOLLOWERS */
	char    *url;		/* link to the mention, may be NULL */
	char    *lang;		/* ISO 639-1 as sent by the platform, may be NULL */
	char    *thread;	/* conversation id, may be NULL */
	char    *created_at;	/* as sent, may be NULL */
	char    *extra;		/* source-specific JSON the sender needs (visibility...), may be NULL */
	int64_t  received_ms;	/* wall clock when received */
	char    *cursor;	/* intake only: the source's resume point this mention moves to,
				 * stored in the same transaction; may be NULL */
};

/* Frees every field and zeroes the struct (not the struct itself). NULL-safe. */
void mention_clear(struct mention *m);

#endif
