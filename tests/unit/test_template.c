/* test_template.c - placeholders, defaults, trusted and untrusted values, syntax errors. */
#include "template.h"
#include "unit.h"

static char *
render(const char *t, size_t cap)
{
	struct tmpl_var v[] = {
		{ "author", "@ana", 1 },
		{ "name", "@here Bob", 0 },
		{ "order", "A12345", 0 },
		{ "empty", "", 0 },
		{ "link", "http://evil.example", 0 },
		{ "ticket", "T-ABC123", 1 },
		{ "missing", NULL, 0 },
	};
	return template_render(t, v, sizeof(v) / sizeof(v[0]), cap, NULL);
}

#define CHECK_RENDER(t, cap, want) do { char *o_ = render(t, cap); CHECK(o_ != NULL); \
	if (strcmp(o_, want) != 0) { printf("FAIL %s: %s:%d\n    got:  \"%s\"\n    want: \"%s\"\n", \
	unit_name, __FILE__, __LINE__, o_, want); free(o_); unit_failed_now = 1; return; } free(o_); } while (0)

TEST(placeholders_and_defaults)
{
	CHECK_RENDER("{{author}} order {{order}}, ref {{ticket}}", 0, "@ana order A12345, ref T-ABC123");
	CHECK_RENDER("hi {{ missing | there }}!", 0, "hi there!");
	CHECK_RENDER("hi {{empty|friend}}", 0, "hi friend");
	CHECK_RENDER("hi {{nope}}.", 0, "hi .");
	CHECK_RENDER("{ not a var } {{order|x}}", 0, "{ not a var } A12345");
}

TEST(untrusted_is_neutralised)
{
	CHECK_RENDER("thanks {{name}}", 0, "thanks \xef\xbc\xa0here Bob");
	CHECK_RENDER("see {{link|nothing}}", 0, "see nothing");
}

TEST(control_chars_and_cap)
{
	struct tmpl_var v[] = { { "x", "a", 1 } };
	char *o = template_render("line1\nline2\x01\x7f end {{x}}", v, 1, 0, NULL);
	CHECK_STR(o, "line1\nline2 end a");
	free(o);
	CHECK_RENDER("{{author}} 0123456789", 8, "@ana 01…");
}

TEST(syntax_errors)
{
	size_t off = 99;
	struct ack_err err;

	CHECK_INT(template_check("hi {{author}} {{order|x}}", &off, &err), 0);
	CHECK_INT(template_check("x {{a-b}}", &off, &err), ACK_EINVAL);
	CHECK_INT(off, 2);
	CHECK_STR(err.msg, "bad variable name 'a-b' (use letters, digits, _)");
	CHECK_INT(template_check("ok {{author}} then {{oops", &off, &err), ACK_EINVAL);
	CHECK_INT(off, 19);
	CHECK_STR(err.msg, "unclosed '{{'");
	CHECK_INT(template_check("{{}}", &off, &err), ACK_EINVAL);
	CHECK(render("bad {{", 0) == NULL);
}

static void
collect(const char *name, size_t len, void *arg)
{
	strncat(arg, name, len);
	strcat(arg, ",");
}

TEST(each_var)
{
	char buf[128] = "";

	template_each_var("{{author}} {{ order | x }} {{ticket}}", collect, buf);
	CHECK_STR(buf, "author,order,ticket,");
}

TEST(sections)
{
	size_t off = 0;
	struct ack_err err;

	CHECK_RENDER("sorry about {{#order}}order {{order}}{{/order}}{{^order}}your order{{/order}}!", 0,
	    "sorry about order A12345!");
	CHECK_RENDER("sorry about {{#missing}}order {{missing}}{{/missing}}{{^missing}}your order{{/missing}}!",
	    0, "sorry about your order!");
	CHECK_RENDER("{{#empty}}never{{/empty}}x{{^empty}}-{{ticket}}{{/empty}}", 0, "x-T-ABC123");
	/* a value that neutralises to nothing counts as absent */
	CHECK_RENDER("{{#link}}[{{link}}]{{/link}}{{^link}}no link{{/link}}", 0, "no link");
	CHECK_RENDER("{{ #order }}({{order}}){{ /order }} done", 0, "(A12345) done");
	CHECK_INT(template_check("{{#order}}a{{#empty}}b{{/empty}}{{/order}}", &off, &err), ACK_EINVAL);
	CHECK_STR(err.msg, "sections do not nest: close the first with {{/name}}");
	CHECK_INT(off, 11);
	CHECK_INT(template_check("a {{#order}} b", &off, &err), ACK_EINVAL);
	CHECK_INT(off, 2);
	CHECK_STR(err.msg, "unclosed section '{{#order}}' (end it with {{/order}})");
	CHECK_INT(template_check("a {{/order}}", &off, &err), ACK_EINVAL);
	CHECK_STR(err.msg, "'{{/name}}' closes no open section of that name");
	CHECK_INT(template_check("{{#order}}x{{/ticket}}", &off, &err), ACK_EINVAL);
	CHECK_INT(template_check("{{#order|x}}y{{/order}}", &off, &err), ACK_EINVAL);
	CHECK(render("a {{#order}} b", 0) == NULL);
	CHECK(render("a {{/order}} b", 0) == NULL);
}

int
main(void)
{
	RUN(placeholders_and_defaults);
	RUN(untrusted_is_neutralised);
	RUN(control_chars_and_cap);
	RUN(syntax_errors);
	RUN(each_var);
	RUN(sections);
	UNIT_DONE("test_template");
}
