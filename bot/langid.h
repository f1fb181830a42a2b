/* langid.h - the language of a mention's text when the platform gives none, through
 * Debian's libcld2 (Compact Language Detector 2; see langid.c for why and how).
 * Thread-safe, no state: the detector's tables are compiled into the library. */
#ifndef ACKBOT_LANGID_H
#define ACKBOT_LANGID_H

#include <stddef.h>

struct langid_guess {
	char   code[8];		/* ISO 639-1 ("" when none) */
	double confidence;	/* its share of the text's letters, 0..1, halved when the
				 * detector calls the whole result unreliable */
};

/* The three most likely languages of text (UTF-8, any length; invalid bytes are
 * skipped), best first; unused slots have code "". hint ("en,es,fr", may be NULL): the
 * languages to favour, not to restrict to. */
void langid_detect(const char *text, size_t len, const char *hint, struct langid_guess out[3]);

#endif
