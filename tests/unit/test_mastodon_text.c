/* test_mastodon_text.c - status HTML as Mastodon renders it, back to what people typed. */
#include "mastodon_text.h"
#include "unit.h"

#define CHECK_HTML(html, want) do { char *o_ = mastodon_html_to_text(html, strlen(html)); \
	CHECK(o_ != NULL); if (strcmp(o_, want) != 0) { printf("FAIL %s: %s:%d\n    got:  \"%s\"\n" \
	"    want: \"%s\"\n", unit_name, __FILE__, __LINE__, o_, want); free(o_); unit_failed_now = 1; \
	return; } free(o_); } while (0)

TEST(mentions_hashtags_links)
{
	CHECK_HTML("<p><span class=\"h-card\" translate=\"no\"><a href=\"https://example.test/@brand\" "
	    "class=\"u-url mention\">@<span>brand</span></a></span> thanks!</p>", "@brand thanks!");
	CHECK_HTML("<p>order <a href=\"https://example.test/tags/A12345\" class=\"mention hashtag\" "
	    "rel=\"tag\">#<span>A12345</span></a> late</p>", "order #A12345 late");
	CHECK_HTML("<p>see <a href=\"https://example.com/a/long/path\" target=\"_blank\" rel=\"nofollow "
	    "noopener noreferrer\" translate=\"no\"><span class=\"invisible\">https://</span><span "
	    "class=\"ellipsis\">example.com/a/long</span><span class=\"invisible\">/path</span></a></p>",
	    "see https://example.com/a/long/path");
}

TEST(paragraphs_and_breaks)
{
	CHECK_HTML("<p>one<br>two<br/>three<br />four</p>", "one\ntwo\nthree\nfour");
	CHECK_HTML("<p>first</p><p>second</p>", "first\n\nsecond");
	CHECK_HTML("<p>first</p>\n  <p class=\"x\">second</p>", "first\n\nsecond");
	CHECK_HTML("<p>a</p>", "a");
	CHECK_HTML("<pre>x</pre><bro>y", "xy");
}

TEST(entities)
{
	CHECK_HTML("<p>Tom &amp; Jerry &lt;3 &gt; &quot;hi&quot; it&#39;s &apos;ok&apos;&nbsp;!</p>",
	    "Tom & Jerry <3 > \"hi\" it's 'ok'\xc2\xa0!");
	CHECK_HTML("&#233;t&#xE9; &#128512;", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80");
	CHECK_HTML("&bogus; &amp &#; &#xZZ; &#0; &#99999999;", "&bogus; &amp &#; &#xZZ; \xef\xbf\xbd \xef\xbf\xbd");
	CHECK_HTML("a < b and c <d", "a < b and c <d");
	CHECK_HTML(":blobcat: hi", ":blobcat: hi");
}

TEST(status_length)
{
	CHECK_INT(mastodon_status_length("hello", 23), 5);
	CHECK_INT(mastodon_status_length("see https://example.com/a/very/long/path/indeed.", 23), 4 + 23 + 1);
	CHECK_INT(mastodon_status_length("http://x.y", 23), 23);
	CHECK_INT(mastodon_status_length("@ana@remote.example thanks", 23), 4 + 7);
	CHECK_INT(mastodon_status_length("@ana thanks", 23), 11);
	CHECK_INT(mastodon_status_length("mail ana@remote.example", 23), 23);
	CHECK_INT(mastodon_status_length("👨\xe2\x80\x8d👩\xe2\x80\x8d👧 ok", 23), 4);
}

int
main(void)
{
	RUN(mentions_hashtags_links);
	RUN(paragraphs_and_breaks);
	RUN(entities);
	RUN(status_length);
	UNIT_DONE("test_mastodon_text");
}
