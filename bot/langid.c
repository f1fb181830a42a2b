/* langid.c - language identification with Debian's libcld2 (Compact Language Detector 2).
 *
 * Why CLD2: measured on short mentions in the ten shipped languages (README, "Language
 * identification"), it is both far more accurate on short texts and two orders of
 * magnitude faster than libexttextcat, needs no data files and keeps no state.
 *
 * libcld2 has a C++ interface only. Its entry points we use take and return plain
 * integers, pointers and a plain struct, so C calls them directly by their Itanium C++ ABI
 * names (the ABI every compiler for this platform uses): no C++ compiler in the build.
 * The declarations mirror <cld2/public/compact_lang_det.h>:
 *   typedef struct { const char *content_language_hint; const char *tld_hint;
 *       int encoding_hint; Language language_hint; } CLDHints;
 *   Language CLD2::ExtDetectLanguageSummaryCheckUTF8(const char *buffer, int buffer_length,
 *       bool is_plain_text, const CLDHints *cld_hints, int flags, Language *language3,
 *       int *percent3, double *normalized_score3, ResultChunkVector *resultchunkvector,
 *       int *text_bytes, bool *is_reliable, int *valid_prefix_bytes);
 *   const char *CLD2::LanguageCode(Language lang);
 * where Language is a plain enum. The hint ("en,es,...": the languages the bot speaks)
 * boosts those languages without excluding others; it is what tells short Spanish from
 * Galician. */
#include "langid.h"
#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef int cld2_language;	/* enum CLD2::Language */
#define CLD2_UNKNOWN_LANGUAGE 26
#define CLD2_UNKNOWN_ENCODING 23
#define CLD2_BEST_EFFORT 0x4000	/* kCLDFlagBestEffort: an answer even for a few words */

struct cld2_hints {
	const char *content_language_hint;
	const char *tld_hint;
	int encoding_hint;
	cld2_language language_hint;
};

extern cld2_language cld2_detect(const char *buffer, int buffer_length, bool is_plain_text,
    const struct cld2_hints *hints, int flags, cld2_language *language3, int *percent3,
    double *normalized_score3, void *resultchunkvector, int *text_bytes, bool *is_reliable,
    int *valid_prefix_bytes)
    __asm__("_ZN4CLD233ExtDetectLanguageSummaryCheckUTF8EPKcibPKNS_8CLDHintsEiPNS_8LanguageEPiPdPSt6vectorINS_11ResultChunkESaISA_EES7_PbS7_");
extern const char *cld2_language_code(cld2_language lang)
    __asm__("_ZN4CLD212LanguageCodeENS_8LanguageE");

#define LANGID_MAX_BYTES 4096	/* the first 4 KiB say enough */

void
langid_detect(const char *text, size_t len, const char *hint, struct langid_guess out[3])
{
	struct cld2_hints h = { hint, NULL, CLD2_UNKNOWN_ENCODING, CLD2_UNKNOWN_LANGUAGE };
	double norm[3];
	int valid_prefix = 0;
	utf8proc_uint8_t *valid = NULL;
	utf8proc_ssize_t n;
	cld2_language top, l3[3];
	int pct[3] = { 0, 0, 0 }, bytes = 0;
	bool reliable = false;

	memset(out, 0, 3 * sizeof(*out));
	/* NFC, an invalid sequence (or the character the cut splits) U+FFFD: CLD2 never
	 * sees invalid UTF-8, and one bad byte costs that byte only */
	if ((valid = (utf8proc_uint8_t *)text_nfc(text ? text : "", text ? (len >
	    LANGID_MAX_BYTES ? LANGID_MAX_BYTES : len) : 0)) == NULL)
		return;
	n = (utf8proc_ssize_t)strlen((const char *)valid);
	top = cld2_detect((const char *)valid, (int)n, true, hint ? &h : NULL, 0, l3, pct, norm,
	    NULL, &bytes, &reliable, &valid_prefix);
	if (top == CLD2_UNKNOWN_LANGUAGE || !reliable) {
		/* short texts: CLD2's best guess, worth half */
		top = cld2_detect((const char *)valid, (int)n, true, hint ? &h : NULL,
		    CLD2_BEST_EFFORT, l3, pct, norm, NULL, &bytes, &reliable, &valid_prefix);
		reliable = false;
	}
	free(valid);
	if (top == CLD2_UNKNOWN_LANGUAGE || bytes == 0)
		return;
	for (int i = 0, k = 0; i < 3; i++) {
		const char *c = cld2_language_code(l3[i]);
		if (c == NULL || strcmp(c, "un") == 0 || strncmp(c, "xx-", 3) == 0 || pct[i] <= 0)
			continue;
		/* "zh-Hant", "xx-Qaai": the primary subtag only */
		snprintf(out[k].code, sizeof(out[k].code), "%.*s", (int)strcspn(c, "-_"), c);
		out[k].confidence = pct[i] / 100.0 * (reliable ? 1.0 : 0.5);
		k++;
	}
}
