/* fuzz_config.c - libFuzzer target: configuration and intents loading. The first byte
 * picks what the rest is: even, a config file; odd, an intents file (loaded under a fixed
 * config). Checks: no crash or leak, and every failure comes with a positioned error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "intents.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
put(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(p, 1, n, f);
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fixed[] = "bot: {handles: [brand]}\nintents: {paths: [i]}\n";
	char path[128];
	struct diag d;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/ackbot-fuzz-config-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/i", dir);
		mkdir(path, 0700);
	}
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		put("c.yaml", data + 1, size - 1);
		static const char one[] = "intents: [{name: a, priority: 1, patterns: [a], reply: hi}]\n";
		put("i/x.yaml", one, sizeof(one) - 1);
	} else {
		put("c.yaml", fixed, sizeof(fixed) - 1);
		put("i/x.yaml", data + 1, size - 1);
	}
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	diag_init(&d);
	struct config *c = config_load(path, &d);
	if (c == NULL && d.errors == 0)
		abort();	/* refused without saying why */
	if (c != NULL) {
		struct intents *in = intents_load(c, &d);
		if (in == NULL && d.errors == 0)
			abort();
		if (in != NULL) {
			struct match_input mi = { "thanks, my order #A1 is late", "x", "en", 0 };
			struct match_result r;
			intents_match(in, &mi, &r, NULL);
			match_result_clear(&r);
		}
		intents_free(in);
		config_free(c);
	}
	for (size_t i = 0; i < d.n; i++)
		if (d.items[i].msg == NULL || d.items[i].file == NULL)
			abort();
	diag_free(&d);
	return 0;
}
