/* source.c - the registry of source types. Adding a platform: one file in bot/sources/
 * and one line here. */
#include "source.h"

#include <stdio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbox.h"
#include "sender.h"

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

const char *
source_type_hint(void)
{
	static char hint[128];

	if (hint[0] == '\0') {
		size_t n = (size_t)snprintf(hint, sizeof(hint), "known types:");
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && n < sizeof(hint); i++)
			n += (size_t)snprintf(hint + n, sizeof(hint) - n, "%s %s", i ? "," : "",
			    types[i]->type);
	}
	return hint;
}

int
source_init_common(struct source *s, const struct source_ops *ops,
    const struct source_env *env, const struct source_conf *sc)
{
	s->ops = ops;
	s->env = env;
	s->name = strdup(sc->name);
	s->max_length = sc->max_length ? sc->max_length : ops->default_max_length;
	return s->name == NULL ? ACK_ENOMEM : 0;
}

unsigned source_state_gen;

void
source_set_state(struct source *s, int connecting, const char *fmt, ...)
{
	va_list ap;

	s->connecting = connecting;
	va_start(ap, fmt);
	vsnprintf(s->state, sizeof(s->state), fmt, ap);
	va_end(ap);
	source_state_gen++;
}

void
source_free_common(struct source *s)
{
	while (s->sends != NULL)	/* their transfers are stopped without a callback */
		source_send_done(s->sends);
	free(s->name);
}

struct source_send *
source_send_new(struct source *s, const struct reply *r)
{
	struct source_send *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->src = s;
	c->row = r->row;
	c->claim = r->claim;
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

void
source_reply_done(struct source *s, const struct reply *r, const struct send_outcome *o)
{
	sender_reply_done(s->env->sender, r->row, r->claim, o);
}

void
source_send_finish(struct source_send *c, const struct send_outcome *o)
{
	sender_reply_done(c->src->env->sender, c->row, c->claim, o);
	source_send_done(c);
}

int
source_intake(struct source *s, struct mention *m, int flags,
    void (*cb)(void *arg, int result, const struct mention *m), void *arg)
{
	return inbox_put_mention(s->env->inbox, m, flags, cb, arg);
}
