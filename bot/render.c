/* render.c - a decided plan's template filled in for one mention: the author, the
 * ticket, the captures, cut to the platform's length. */
#include "render.h"

#include <stdio.h>
#include <string.h>

#include "template.h"
#include "text.h"

/* Personal data never goes into a public reply: an entity marked personal (and a pattern's
 * capture of the same name), or any value that looks like an e-mail address, a phone
 * number or a card number, whatever it is called. */
static int
personal(const struct plan *p, const char *name, const char *value)
{
	int id = 0;

	for (size_t i = 0; i < p->nents; i++) {
		const struct match_capture *e = &p->ents[i];
		/* a personal entity's value inside this one, or this one inside it, whatever
		 * the names: "order 555-123-4567" that the phone entity also matched */
		if (e->personal && value != NULL && e->value != NULL && *e->value != '\0' &&
		    *value != '\0' && (strstr(value, e->value) != NULL || strstr(e->value, value) != NULL))
			return 1;
		if (strcmp(e->name, name) == 0) {
			if (e->personal)
				return 1;
			id = !e->signal;	/* an identifier: order, tracking */
		}
	}
	return id ? text_id_looks_personal(value) : text_looks_personal(value);
}

char *
render_reply(const struct plan *p, const struct mention *m, const char *ticket,
    size_t max_graphemes, struct ack_err *err)
{
	struct tmpl_var vars[40];
	char author[300], user[300];
	const char *display;
	size_t n = 0;

	if (p->tmpl == NULL)
		return NULL;
	snprintf(author, sizeof(author), "@%s", m->author_handle[0] == '@' ?
	    m->author_handle + 1 : m->author_handle);
	vars[n++] = (struct tmpl_var){ "author", author, 1 };
	vars[n++] = (struct tmpl_var){ "name", m->author_name, 0 };
	/* display: the display name, or the local part of the handle when it is blank */
	display = m->author_name;
	for (const char *q = display; q != NULL && *q; q++)
		if (*q != ' ')
			goto have_display;
	snprintf(user, sizeof(user), "%s", author + 1);
	user[strcspn(user, "@")] = '\0';
	display = user;
have_display:
	vars[n++] = (struct tmpl_var){ "display", display, 0 };
	vars[n++] = (struct tmpl_var){ "ticket", ticket, 1 };
	vars[n++] = (struct tmpl_var){ "intent", p->match.intent ? p->match.intent->name : NULL, 1 };
	for (size_t i = 0; i < p->match.ncaps && n < sizeof(vars) / sizeof(vars[0]); i++)
		vars[n++] = (struct tmpl_var){ p->match.caps[i].name,
		    personal(p, p->match.caps[i].name, p->match.caps[i].value) ? NULL :
		    p->match.caps[i].value, 0 };
	for (size_t i = 0; i < p->nents && n < sizeof(vars) / sizeof(vars[0]); i++)
		if (!p->ents[i].signal)
			vars[n++] = (struct tmpl_var){ p->ents[i].name,
			    personal(p, p->ents[i].name, p->ents[i].value) ? NULL : p->ents[i].value, 0 };
	return template_render(p->tmpl, vars, n, max_graphemes, err);
}
