/* source.c - the registry of source types. Adding a platform: one file in bot/sources/
 * and one line here. */
#include "source.h"

#include <stdlib.h>
#include <string.h>

static const struct source_ops *const types[] = {
	&source_console_ops,
	&source_webhook_ops,
	&source_mastodon_ops,
};

const struct source_ops *
source_find_type(const char *type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i]->type, type) == 0)
			return types[i];
	return NULL;
}

int
source_init_common(struct source *s, const struct source_ops *ops, struct app *app,
    const struct source_conf *sc)
{
	s->ops = ops;
	s->app = app;
	s->name = strdup(sc->name);
	s->max_length = sc->max_length ? sc->max_length : ops->default_max_length;
	return s->name == NULL ? ACK_ENOMEM : 0;
}

void
source_free_common(struct source *s)
{
	while (s->sends != NULL)	/* their transfers are stopped without a callback */
		source_send_done(s->sends);
	free(s->name);
}

struct source_send *
source_send_new(struct source *s, int64_t row)
{
	struct source_send *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->src = s;
	c->row = row;
	c->next = s->sends;
	if (s->sends != NULL)
		s->sends->prev = c;
	s->sends = c;
	return c;
}

void
source_send_done(struct source_send *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->src->sends = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}
