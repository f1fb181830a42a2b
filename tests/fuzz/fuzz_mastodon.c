/* fuzz_mastodon.c - libFuzzer target: a streaming message from a Mastodon server (envelope,
 * Notification JSON in a string, status HTML to text). Checks: no crash or leak, a mention
 * read from it has valid UTF-8 text and every required field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mastodon_parse.h"
#include "mastodon_text.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mastodon_who who = { "mastodon", "1", 1 };
	json_t *env = NULL, *payload = NULL;
	const char *error;
	struct mention mn;

	/* the raw bytes as status HTML (valid UTF-8 in, as JSON strings are: valid UTF-8 out,
	 * whatever the entities say) */
	char *t = mastodon_html_to_text((const char *)data, size);
	if (t != NULL) {
		if (text_is_valid_utf8((const char *)data, size) && !text_is_valid_utf8(t, strlen(t)))
			abort();
		(void)mastodon_status_length(t, 23);
		free(t);
	}
	if (mastodon_stream_message((const char *)data, size, &env, &payload, &error) ==
	    STREAM_NOTIFICATION && mastodon_notification_mention(payload, &who, &mn) == 1) {
		if (!text_is_valid_utf8(mn.text, strlen(mn.text)) || mn.platform_id == NULL ||
		    mn.author_id == NULL || mn.author_handle == NULL || mn.cursor == NULL)
			abort();
		mention_clear(&mn);
	}
	json_decref(payload);
	json_decref(env);
	return 0;
}
