/* text.h - Unicode text helpers: NFC, text prepared for matching, neutralised captures,
 * grapheme counting and grapheme-safe truncation (utf8proc). All strings are UTF-8. */
#ifndef ACKBOT_TEXT_H
#define ACKBOT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..len) is valid UTF-8 without NUL bytes, else 0. */
int text_is_valid_utf8(const char *s, size_t len);

/* NFC of s[0..len); invalid UTF-8 sequences become U+FFFD, NUL bytes are dropped.
 * New string; caller frees. NULL on allocation failure. */
char *text_nfc(const char *s, size_t len);

/* The text intents are matched against: NFC; the bot's own handles removed wherever they
 * stand as a mention ("@brand", "@Brand@host.example", case-insensitive, whole handle only:
 * "@brandnew" stays); URLs removed (http://, https://, www.); every run of white space
 * (incl. newlines) that a removal leaves becomes one space; leading/trailing space trimmed.
 * Other @mentions, #hashtags, emoji and punctuation stay. handles are given without '@'.
 * New string; caller frees. */
char *text_for_matching(const char *s, size_t len, const char *const *handles, size_t nhandles);

/* Text taken from a mention (a capture, a display name) made safe to put in a reply:
 * NFC; control and format characters (C0, C1, bidi overrides/isolates, zero-width) removed;
 * no live mention: '@' replaced by U+FF20 FULLWIDTH COMMERCIAL AT (so "@everyone",
 * "@here", "@user" cannot notify), Slack-style "<!channel>"/"<@U1>" cannot survive;
 * no links: URLs and bare domains ("evil.example/x", "www.x.y") are dropped; no markup:
 * the characters < > [ ] * ~ ` \ are dropped (parentheses, pipes and underscores stay:
 * names like "Ana (she/her) | tea" and :shortcodes: use them); white space runs folded to one
 * space, trimmed; then cut to at most max_graphemes (0 = no cap), grapheme-safe.
 * New string (possibly ""); caller frees. NULL only on allocation failure. */
char *text_neutralize(const char *s, size_t max_graphemes);

/* 1 when s looks like personal data a public reply must never repeat: an e-mail address,
 * a phone number (7+ digits with only separators, written like one) or a card number
 * (13-19 digits passing Luhn's check). Order numbers with letters are not. */
int text_looks_personal(const char *s);

/* The same for the value of an entity that names an identifier (an order or a tracking
 * number): digits with dashes or run together ("4417-2291", "100238871") are the id, not a
 * phone; an e-mail address, a card number, or digits written as phones are ("+34 612...",
 * "0044...", "(555) 123 4567") still count as personal. */
int text_id_looks_personal(const char *s);

/* Calls fn with the host of every link or bare domain in s ("https://Bit.ly/x" ->
 * "bit.ly", "www.shop.example" -> "www.shop.example"), lower case; e-mail addresses are not
 * links. Returns the number of links. */
size_t text_link_hosts(const char *s, void (*fn)(const char *host, void *arg), void *arg);

/* Number of extended grapheme clusters in s. */
size_t text_graphemes(const char *s);

/* Cuts s in place so that it holds at most max_graphemes clusters, counting the ellipsis
 * (e.g. "…") which is appended when anything was cut; trailing white space before the
 * ellipsis is dropped. Never splits a cluster or a UTF-8 sequence. max_graphemes 0: no-op. */
void text_truncate(char *s, size_t max_graphemes, const char *ellipsis);

/* 1 when s is a language tag: a 2-3 letter primary subtag (a two-letter one must be an
 * ISO 639-1 code), optionally '-' or '_' and a script (4 letters) or region (2 letters or
 * 3 digits): "en", "pt-BR", "zh-Hant", "es-419". */
int text_lang_valid(const char *s);

/* The ISO 639-1 code s was probably meant as ("sp" -> "es", "english" -> "en", "Deutsch" ->
 * "de", "jp" -> "ja"), or NULL. */
const char *text_lang_suggest(const char *s);

/* Primary language subtag, lower case: "de-DE" -> "de", "PT_br" -> "pt", "" or NULL -> NULL.
 * New string; caller frees. */
char *text_lang_primary(const char *lang);

/* An ISO 8601 UTC time ("2026-01-02T03:04:05.678Z", as Mastodon writes them) in ms since
 * the epoch; 0 when it cannot be read. */
int64_t text_iso8601_ms(const char *s);

#endif
