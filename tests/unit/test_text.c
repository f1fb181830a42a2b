/* test_text.c - NFC, text for matching, neutralisation, graphemes and truncation. */
#include "text.h"
#include "unit.h"

static const char *const handles[] = { "brand", "Acme_Shop" };

static char *
match_text(const char *s)
{
	return text_for_matching(s, strlen(s), handles, 2);
}

#define CHECK_MATCH(in, want) do { char *o_ = match_text(in); CHECK(o_ != NULL); \
	if (strcmp(o_, want) != 0) { printf("FAIL %s: %s:%d\n    got:  \"%s\"\n    want: \"%s\"\n", \
	unit_name, __FILE__, __LINE__, o_, want); free(o_); unit_failed_now = 1; return; } free(o_); } while (0)

#define CHECK_NEUTRAL(in, want) do { char *o_ = text_neutralize(in, 0); CHECK(o_ != NULL); \
	if (strcmp(o_, want) != 0) { printf("FAIL %s: %s:%d\n    got:  \"%s\"\n    want: \"%s\"\n", \
	unit_name, __FILE__, __LINE__, o_, want); free(o_); unit_failed_now = 1; return; } free(o_); } while (0)

TEST(nfc_composes_and_repairs)
{
	char *o = text_nfc("e\xcc\x81t\xc3\xa9", 6);
	CHECK_STR(o, "\xc3\xa9t\xc3\xa9");
	free(o);
	o = text_nfc("bad \xff byte", 10);
	CHECK_STR(o, "bad \xef\xbf\xbd byte");
	free(o);
	o = text_nfc("a\0b", 3);
	CHECK_STR(o, "ab");
	free(o);
	CHECK_INT(text_is_valid_utf8("h\xc3\xa9", 3), 1);
	CHECK_INT(text_is_valid_utf8("h\xc3", 2), 0);
	CHECK_INT(text_is_valid_utf8("\xed\xa0\x80", 3), 0);	/* a surrogate */
	CHECK_INT(text_is_valid_utf8("a\0", 2), 0);
}

TEST(own_handles_removed)
{
	CHECK_MATCH("@brand thanks for the quick delivery!", "thanks for the quick delivery!");
	CHECK_MATCH("thanks @Brand for it", "thanks for it");
	CHECK_MATCH("@BRAND@mastodon.example hi", "hi");
	CHECK_MATCH("hi @acme_shop!", "hi !");
	CHECK_MATCH("@brandnew is cool", "@brandnew is cool");
	CHECK_MATCH("mail me at x@brand.com", "mail me at x@brand.com");
	CHECK_MATCH("@other and @brand", "@other and");
}

TEST(urls_removed)
{
	CHECK_MATCH("see https://x.example/a?b=c now", "see now");
	CHECK_MATCH("www.example.test/deal\nbuy", "buy");
	CHECK_MATCH("line one\n\nline two", "line one\n\nline two");
}

TEST(neutralise_mentions_and_markup)
{
	CHECK_NEUTRAL("@everyone hi", "\xef\xbc\xa0" "everyone hi");
	CHECK_NEUTRAL("<!channel> <@U123>", "!channel \xef\xbc\xa0U123");
	CHECK_NEUTRAL("[click](http://x.y)", "click");
	CHECK_NEUTRAL("**bold** `code` :blob_cat: o_o", "bold code :blob_cat: o_o");
	CHECK_NEUTRAL("a\xe2\x80\x8b@\xe2\x80\x8b" "everyone", "a\xef\xbc\xa0" "everyone");
	CHECK_NEUTRAL("\xe2\x80\xae" "evil", "evil");
	CHECK_NEUTRAL("line\nbreak\ttab", "line break tab");
}

TEST(neutralise_links_keep_values)
{
	CHECK_NEUTRAL("go to evil.example/x now", "go to now");
	CHECK_NEUTRAL("WWW.X.COM", "");
	CHECK_NEUTRAL("A12345 3.5 e.g. U.S.", "A12345 3.5 e.g. U.S.");
	CHECK_NEUTRAL("Zoë Ñandú 田中 👍", "Zoë Ñandú 田中 👍");
	CHECK_NEUTRAL("Ana (she/her) | coffee", "Ana (she/her) | coffee");
	CHECK_NEUTRAL("👨\xe2\x80\x8d👩\xe2\x80\x8d👧", "👨\xe2\x80\x8d👩\xe2\x80\x8d👧");
}

TEST(graphemes_and_truncation)
{
	char s[64];

	CHECK_INT(text_graphemes("e\xcc\x81"), 1);
	CHECK_INT(text_graphemes("👨\xe2\x80\x8d👩\xe2\x80\x8d👧"), 1);
	CHECK_INT(text_graphemes("🇫🇷🇩🇪"), 2);
	strcpy(s, "abcdef");
	text_truncate(s, 5, "…");
	CHECK_STR(s, "abc…");	/* the ellipsis must fit in place */
	strcpy(s, "abcdefgh");
	text_truncate(s, 5, "…");
	CHECK_STR(s, "abcd…");
	strcpy(s, "hi 👨\xe2\x80\x8d👩\xe2\x80\x8d👧 there");
	text_truncate(s, 5, "…");
	CHECK_STR(s, "hi 👨\xe2\x80\x8d👩\xe2\x80\x8d👧…");
	strcpy(s, "🇫🇷🇩🇪🇮🇹x");
	text_truncate(s, 3, "…");
	CHECK_STR(s, "🇫🇷🇩🇪…");
	strcpy(s, "short");
	text_truncate(s, 5, "…");
	CHECK_STR(s, "short");
	strcpy(s, "a b  c d");
	text_truncate(s, 4, "…");
	CHECK_STR(s, "a b…");
}

TEST(lang_primary)
{
	char *l = text_lang_primary("de-AT");
	CHECK_STR(l, "de");
	free(l);
	l = text_lang_primary("PT_br");
	CHECK_STR(l, "pt");
	free(l);
	CHECK(text_lang_primary("") == NULL);
	CHECK(text_lang_primary(NULL) == NULL);
	CHECK(text_lang_primary("english") == NULL);
}

TEST(iso8601_zones_and_bad_dates)
{
	int64_t z = text_iso8601_ms("2026-11-26T14:23:49Z");

	CHECK(z > 0);
	CHECK_INT(text_iso8601_ms("2026-11-26T14:23:49.250Z"), z + 250);
	CHECK_INT(text_iso8601_ms("2026-11-26T14:23:49"), z);	/* no zone: UTC */
	CHECK_INT(text_iso8601_ms("2026-11-26T00:23:49-14:00"), z);
	CHECK_INT(text_iso8601_ms("2026-11-27T04:23:49+14:00"), z);
	CHECK_INT(text_iso8601_ms("2026-11-26T16:23:49+0200"), z);
	CHECK_INT(text_iso8601_ms("2015-01-01T00:00:00garbage"), 0);
	CHECK_INT(text_iso8601_ms("2026-02-30T00:00:00Z"), 0);
	CHECK_INT(text_iso8601_ms("2025-02-29T00:00:00Z"), 0);
	CHECK(text_iso8601_ms("2024-02-29T00:00:00Z") > 0);
	CHECK_INT(text_iso8601_ms("2026-11-26T14:23:49+25:00"), 0);
	CHECK_INT(text_iso8601_ms("2026-11-26T14:23:49+1"), 0);
	CHECK_INT(text_iso8601_ms(""), 0);
}

int
main(void)
{
	RUN(nfc_composes_and_repairs);
	RUN(own_handles_removed);
	RUN(urls_removed);
	RUN(neutralise_mentions_and_markup);
	RUN(neutralise_links_keep_values);
	RUN(graphemes_and_truncation);
	RUN(lang_primary);
	RUN(iso8601_zones_and_bad_dates);
	UNIT_DONE("test_text");
}
