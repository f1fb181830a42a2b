/* mastodon_text.h - a status's HTML as Mastodon renders it (app/lib/text_formatter.rb),
 * turned into the plain text people typed. */
#ifndef ACKBOT_MASTODON_TEXT_H
#define ACKBOT_MASTODON_TEXT_H

#include <stddef.h>

/* <br>, <br/>, <br /> -> "\n"; "</p>" + white space + "<p ...>" -> "\n\n"; every other tag
 * is dropped, its text kept (so h-card mentions read "@brand" and shortened links read as
 * the whole URL); entities decoded (&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;, &#NNN;,
 * &#xHH;; an unknown or broken entity stays as written). No trimming. New string; caller
 * frees. NULL on allocation failure. */
char *mastodon_html_to_text(const char *html, size_t len);

/* A status's length as Mastodon counts it (StatusLengthValidator): extended grapheme
 * clusters, with every http(s) URL counted as url_weight (23) characters and every remote
 * mention "@user@domain" counted as "@user". */
size_t mastodon_status_length(const char *text, size_t url_weight);

#endif
