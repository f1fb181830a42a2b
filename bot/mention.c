/* mention.c - struct mention lifetime. */
#include "mention.h"

#include <stdlib.h>
#include <string.h>

void
mention_clear(struct mention *m)
{
	if (m == NULL)
		return;
	free(m->source);
	free(m->platform_id);
	free(m->text);
	free(m->author_id);
	free(m->author_handle);
	free(m->author_name);
	free(m->url);
	free(m->lang);
	free(m->thread);
	free(m->created_at);
	free(m->extra);
	free(m->cursor);
	memset(m, 0, sizeof(*m));
}
