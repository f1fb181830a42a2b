/* test_jsondepth.c - the nesting guard in front of the JSON parser. */
#include <string.h>

#include "jsondepth.h"
#include "unit.h"

static int
ok(const char *s, int max)
{
	return json_depth_ok(s, strlen(s), max);
}

TEST(depth_counts_arrays_and_objects)
{
	CHECK(ok("{}", 1));
	CHECK(!ok("[[]]", 1));
	CHECK(ok("[[]]", 2));
	CHECK(ok("{\"a\":[1,{\"b\":2}]}", 3));
	CHECK(!ok("{\"a\":[1,{\"b\":2}]}", 2));
}

TEST(brackets_in_strings_do_not_count)
{
	CHECK(ok("[\"[[[[{{{{\"]", 1));
	CHECK(ok("[\"a\\\"[[[\"]", 1));		/* an escaped quote does not end the string */
	CHECK(!ok("[\"\\\\\"[[]]]", 2));	/* an escaped backslash does */
	CHECK(ok("{\"k\":\"x\\\\\\\"[\"}", 1));
	CHECK(ok("\"never closed [[[[", 1));
}

TEST(a_deep_body_is_refused)
{
	char buf[4100];

	memset(buf, '[', 2000);
	memset(buf + 2000, ']', 2000);
	buf[4000] = '\0';
	CHECK(!ok(buf, JSON_DEPTH_MAX));
	CHECK(ok(buf + 2000 - JSON_DEPTH_MAX, JSON_DEPTH_MAX));
}

int
main(void)
{
	RUN(depth_counts_arrays_and_objects);
	RUN(brackets_in_strings_do_not_count);
	RUN(a_deep_body_is_refused);
	UNIT_DONE("test_jsondepth");
}
