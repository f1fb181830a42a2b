/* mastodon_text.c - Mastodon status HTML to plain text, in one pass. */
#include "mastodon_text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the entity at s[0] == '&'; returns bytes consumed (0: not an entity). */
static size_t
entity(const char *s, size_t n, char *o, size_t *olen)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "nbsp", "\xc2\xa0" },
	};
	size_t end = 1;

	while (end < n && end < 12 && s[end] != ';' && s[end] != '&' && s[end] != '<')
		end++;
	if (end >= n || s[end] != ';' || end == 1)
		return 0;
	if (s[1] == '#') {
		uint32_t cp = 0;
		size_t i = 2;
		int hex = i < end && (s[i] == 'x' || s[i] == 'X');
		if (hex)
			i++;
		if (i == end)
			return 0;
		for (; i < end; i++) {
			int c = (unsigned char)s[i];
			if (hex ? !isxdigit(c) : !isdigit(c))
				return 0;
			cp = cp * (hex ? 16 : 10) + (uint32_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
			if (cp > 0x10FFFF)
				cp = 0x110000;	/* stays out of range: becomes U+FFFD */
		}
		*olen = put_utf8(o, cp);
		return end + 1;
	}
	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if (strlen(named[k].name) == end - 1 && strncmp(s + 1, named[k].name, end - 1) == 0) {
			*olen = strlen(named[k].text);
			memcpy(o, named[k].text, *olen);
			return end + 1;
		}
	return 0;
}

/* The tag at s[0] == '<': its length (through '>'), and whether it is <br>, </p> or <p>. */
static size_t
tag(const char *s, size_t n, int *is_br, int *is_pclose, int *is_popen)
{
	const char *gt = memchr(s, '>', n);
	size_t i = 1, nl = 0;
	int closing = 0;
	char name[8];

	*is_br = *is_pclose = *is_popen = 0;
	if (gt == NULL)
		return 0;
	if (i < n && s[i] == '/') {
		closing = 1;
		i++;
	}
	while (i < (size_t)(gt - s) && isalpha((unsigned char)s[i]) && nl < sizeof(name) - 1)
		name[nl++] = (char)tolower((unsigned char)s[i++]);
	name[nl] = '\0';
	if (nl > 0 && i < (size_t)(gt - s) && isalnum((unsigned char)s[i]))
		name[0] = '\0';		/* a longer name, like <pre> or <bro> */
	if (strcmp(name, "br") == 0 && !closing)
		*is_br = 1;
	else if (strcmp(name, "p") == 0)
		*(closing ? is_pclose : is_popen) = 1;
	return (size_t)(gt - s) + 1;
}

char *
mastodon_html_to_text(const char *html, size_t len)
{
	char *out = malloc(len * 2 + 1);	/* no entity grows: &#1; is 4 bytes -> at most 4 */
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (html[i] == '<') {
			int br, pc, po;
			size_t t = tag(html + i, len - i, &br, &pc, &po);
			if (t == 0) {		/* a lone '<' is text */
				out[o++] = html[i++];
				continue;
			}
			i += t;
			if (br) {
				out[o++] = '\n';
			} else if (pc) {
				size_t j = i;
				int b2, pc2, po2;
				while (j < len && isspace((unsigned char)html[j]))
					j++;
				if (j < len && html[j] == '<' && (t = tag(html + j, len - j, &b2, &pc2, &po2)) > 0 && po2) {
					out[o++] = '\n';
					out[o++] = '\n';
					i = j + t;
				}
			}
			continue;
		}
		if (html[i] == '&') {
			size_t olen = 0, used = entity(html + i, len - i, out + o, &olen);
			if (used > 0) {
				o += olen;
				i += used;
				continue;
			}
		}
		out[o++] = html[i++];
	}
	out[o] = '\0';
	return out;
}

size_t
mastodon_status_length(const char *text, size_t url_weight)
{
	size_t total = text_graphemes(text), n = strlen(text);

	for (size_t i = 0; i < n; i++) {
		int at_start = i == 0 || isspace((unsigned char)text[i - 1]) || text[i - 1] == '(';
		size_t e = i, g;
		char *tok;

		if (!at_start)
			continue;
		if (strncasecmp(text + i, "http://", 7) == 0 || strncasecmp(text + i, "https://", 8) == 0) {
			while (e < n && !isspace((unsigned char)text[e]))
				e++;
			/* trailing punctuation is not part of the URL */
			while (e > i && strchr(".,;:!?)'\"", text[e - 1]) != NULL)
				e--;
			tok = strndup(text + i, e - i);
			g = tok ? text_graphemes(tok) : 0;
			free(tok);
			total = total - g + url_weight;
			i = e;
		} else if (text[i] == '@') {
			const char *second;
			e = i + 1;
			while (e < n && (isalnum((unsigned char)text[e]) || text[e] == '_'))
				e++;
			if (e == i + 1 || e >= n || text[e] != '@')
				continue;
			second = text + e;
			e++;
			while (e < n && (isalnum((unsigned char)text[e]) || text[e] == '.' || text[e] == '-'))
				e++;
			while (e > (size_t)(second - text) + 1 && (text[e - 1] == '.' || text[e - 1] == '-'))
				e--;
			if (e > (size_t)(second - text) + 1)
				total -= e - (size_t)(second - text);	/* "@domain" is not counted (ASCII) */
			i = e;
		}
	}
	return total;
}
