/* init.c - `ackbot init [DIR]`: a commented starter configuration and a few intents that
 * pass `ackbot check` and `ackbot intents verify` as written, to grow from. Never
 * overwrites a file. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"

static const char starter_config[] =
"# ackbot configuration, written by `ackbot init`. Needs no credentials to try:\n"
"#   ackbot check -c @DIR@/ackbot.yaml    (every problem as file:line:column, with a hint)\n"
"#   ackbot run -c @DIR@/ackbot.yaml      (in a terminal: type mentions into the console)\n"
"# Relative paths are read from this file's directory. Reference: README.md,\n"
"# \"Configuration\"; `ackbot COMMAND --help`.\n"
"\n"
"bot:\n"
"  # The account's own handles, without '@': removed from mentions before matching,\n"
"  # and never answered.\n"
"  handles: [@HANDLE@]\n"
"\n"
"data_dir: var               # the SQLite store, the handoff log, the pid and status files\n"
"log_level: info             # debug | info | warn | error (ackbot run -q: warn)\n"
"\n"
"intents:\n"
"  # Files or directories of *.yaml, loaded in name order. The full shipped set (27\n"
"  # intents in ten languages) is in the intents/ directory of ackbot's source, or\n"
"  # /usr/local/share/ackbot/intents once installed: add it here to use it.\n"
"  paths: [intents]\n"
"  default_language: en\n"
"  languages: [en, es]       # check warns about an intent without a reply in one of them\n"
"\n"
"policy:\n"
"  cooldown: 10m             # at most one automatic reply per author in this time\n"
"  handoff_unmatched: true   # a mention no intent matched goes to a person\n"
"\n"
"guard:\n"
"  # The statistical second opinion needs a trained model (ackbot model train, from a\n"
"  # labelled corpus): off until you have one.\n"
"  enabled: false\n"
"\n"
"admin:\n"
"  listen: 127.0.0.1:9090    # GET /healthz, GET /metrics\n"
"\n"
"sources:\n"
"  # Lines typed on the terminal, when ackbot runs in the foreground of one.\n"
"  - type: console\n"
"    enabled: auto\n"
"    cooldown: 0s            # one person trying things out: answer every line\n"
"\n"
"  # Standard Webhooks-signed JSON on POST /hooks/generic; off (one log line) until\n"
"  # ACKBOT_WEBHOOK_SECRET holds a whsec_... secret. Replies go to the reply URL, signed\n"
"  # the same way (`ackbot receiver` prints them).\n"
"  - type: webhook\n"
"    listen: 127.0.0.1:8080\n"
"    path: /hooks/generic\n"
"    secret_env: ACKBOT_WEBHOOK_SECRET\n"
"    reply_url_env: ACKBOT_WEBHOOK_REPLY_URL\n"
"\n"
"  # A Mastodon account: off until both variables are set.\n"
"  # - type: mastodon\n"
"  #   base_url_env: ACKBOT_MASTODON_URL\n"
"  #   token_env: ACKBOT_MASTODON_TOKEN\n";

static const char starter_entities[] =
"# Entities: named extractors run on every mention, whatever intent fires. The value\n"
"# (the group named like the entity) is a template variable in every reply, {{order}},\n"
"# and is stored with the ticket.\n"
"entities:\n"
"  - name: order\n"
"    patterns:\n"
"      - '\\border\\s*(?:number|no\\.?|#)?\\s*:?\\s*#?(?<order>[A-Z]{0,3}-?\\d{4,12})\\b'\n"
"      - '(?:^|\\s)#(?<order>[A-Z]{0,3}\\d{4,12})\\b'\n"
"      - '\\bpedido\\s*(?:n(?:º|°|o\\.?|úmero)\\s*)?:?\\s*#?(?<order>[A-Z]{0,3}-?\\d{4,12})\\b'\n";

static const char starter_problems[] =
"# Problems: a person takes them, fast. Lower priority numbers are tried first and the\n"
"# first intent that matches wins, so problems come before thanks: \"thanks for\n"
"# nothing, it broke again\" must never get a cheerful thank-you.\n"
"intents:\n"
"  - name: problem\n"
"    priority: 100\n"
"    class: complaint\n"
"    patterns:\n"
"      en:\n"
"        - '\\b(?:broken|broke|damaged|cracked|defective|faulty|missing|wrong|late|delayed)\\b'\n"
"        - '\\b(?:refund|never\\s+(?:arrived|came|received)|not\\s+working|doesn''?t\\s+work|stopped\\s+working)\\b'\n"
"        - '\\b(?:worst|terrible|awful|useless|disappointed|unacceptable|ridiculous)\\b'\n"
"        - '\\bthanks?\\s+for\\s+nothing\\b'\n"
"      es:\n"
"        - '\\b(?:roto|rota|dañad[oa]|defectuos[oa]|tarde|retraso|reembolso|no\\s+funciona|nunca\\s+lleg[óo])\\b'\n"
"        - '\\b(?:pésimo|horrible|vergüenza|decepcionad[oa])\\b'\n"
"    reply:\n"
"      en: \"{{author}} we're sorry about that{{#order}} (order {{order}}){{/order}}. A person from our team will get back to you within 2 hours (ref {{ticket}}).\"\n"
"      es: \"{{author}} sentimos lo ocurrido{{#order}} (pedido {{order}}){{/order}}. Una persona de nuestro equipo te responderá en menos de 2 horas (ref. {{ticket}}).\"\n"
"    handoff: {queue: support, priority: high}\n"
"    examples:\n"
"      match:\n"
"        - \"my order #A12345 arrived broken\"\n"
"        - \"thanks for nothing, it broke again\"\n"
"        - {text: \"mi pedido llegó roto\", lang: es}\n"
"      no_match:\n"
"        - \"thanks, it arrived early!\"\n";

static const char starter_thanks[] =
"# Thanks and praise: an instant thank-you. The excludes send anything that looks like\n"
"# a problem, a negation or sarcasm on to the fallback (a person looks) instead.\n"
"intents:\n"
"  - name: thanks\n"
"    priority: 800\n"
"    class: praise\n"
"    kind: thanks\n"
"    patterns:\n"
"      en: ['\\b(?:thanks?|thank\\s+you|thx|ty|love|loved|amazing|awesome|great|brilliant)\\b']\n"
"      es: ['\\b(?:gracias|me\\s+encanta|genial|increíble)\\b']\n"
"    exclude:\n"
"      - '\\b(?:not|never|no|but|nunca|pero)\\b'\n"
"      - '\\b(?:yeah\\s+right|oh\\s+great|sure)\\b'\n"
"      - '\\?|\\.\\.\\.'\n"
"    reply:\n"
"      en: \"{{author}} thank you so much! Messages like yours make our day.\"\n"
"      es: \"{{author}} ¡muchísimas gracias! Mensajes como el tuyo nos alegran el día.\"\n"
"    examples:\n"
"      match: [\"thanks for the quick delivery!\", {text: \"gracias por todo\", lang: es}]\n"
"      no_match: [\"oh great, late again...\", \"not amazing at all\"]\n";

static const char starter_fallback[] =
"# Everything else: a neutral acknowledgement (never a thank-you: it may be a problem in\n"
"# words the patterns do not know) and a ticket for a person.\n"
"intents:\n"
"  - name: fallback\n"
"    priority: 1000\n"
"    patterns: ['^']\n"
"    reply:\n"
"      en: \"{{author}} thanks for reaching out. A member of our team will read your message and get back to you soon (ref {{ticket}}).\"\n"
"      es: \"{{author}} gracias por escribirnos. Una persona de nuestro equipo leerá tu mensaje y te responderá pronto (ref. {{ticket}}).\"\n"
"    handoff: {queue: general, priority: low}\n"
"    examples:\n"
"      match: [\"what do you think about the new logo\"]\n";

static const struct {
	const char *name;
	const char *text;
} starter_intents[] = {
	{ "00-entities.yaml", starter_entities },
	{ "10-problems.yaml", starter_problems },
	{ "80-thanks.yaml", starter_thanks },
	{ "99-fallback.yaml", starter_fallback },
};

#define NSTARTER (sizeof(starter_intents) / sizeof(starter_intents[0]))

/* t with every @DIR@ and @HANDLE@ replaced; a new string, *len its length. */
static char *
fill(const char *t, const char *dir, const char *handle, size_t *len)
{
	size_t cap = strlen(t) + 1, n = 0;
	char *out;

	for (const char *p = t; (p = strchr(p, '@')) != NULL; p++)
		cap += strlen(dir) + strlen(handle);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	while (*t) {
		const char *v = NULL;
		size_t skip = 0;
		if (strncmp(t, "@DIR@", 5) == 0)
			v = dir, skip = 5;
		else if (strncmp(t, "@HANDLE@", 8) == 0)
			v = handle, skip = 8;
		if (v != NULL) {
			memcpy(out + n, v, strlen(v));
			n += strlen(v);
			t += skip;
		} else
			out[n++] = *t++;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static int
write_new(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "ackbot: cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		fprintf(stderr, "ackbot: cannot write %s: %s\n", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int
make_dir(const char *path)
{
	struct stat st;
	char parent[4200], *slash;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno == ENOENT) {	/* the parents first, as mkdir -p */
		snprintf(parent, sizeof(parent), "%s", path);
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
			*slash = '\0';
			if (make_dir(parent) != 0)
				return -1;
			if (mkdir(path, 0755) == 0)
				return 0;
		}
	}
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "ackbot: cannot create the directory %s: %s\n", path,
	    errno == EEXIST ? "a file is in the way" : strerror(errno));
	return -1;
}

static const char usage_init[] =
    "usage: ackbot init [--handle NAME] [DIR]\n"
    "Writes a commented starter configuration, DIR/ackbot.yaml, and a few intents in\n"
    "DIR/intents/ (entities, problems, thanks, a fallback; English and Spanish) that pass\n"
    "ackbot check and ackbot intents verify, to grow from. DIR defaults to the current\n"
    "directory and is created when missing; existing files are never overwritten.\n"
    "  --handle NAME   the bot account's handle, without '@' (default: brand)\n";

int
cmd_init(int argc, char **argv)
{
	static const char *const flags[] = { "handle=", NULL };
	const char *config, *vals[1], *dir, *handle;
	char path[4200], *text = NULL;
	struct stat st;
	size_t len;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_init, flags, vals, &config, &first)) >= 0)
		return rc;
	(void)config;
	if (argc - first > 1)
		return cli_usage_error(usage_init, "one directory at most ('%s' is extra)",
		    argv[first + 1]);
	dir = first < argc ? argv[first] : ".";
	for (const char *p = dir; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cli_usage_error(usage_init, "the directory's name has a control character");
	if (!text_is_valid_utf8(dir, strlen(dir)))
		return cli_usage_error(usage_init, "the directory's name is not UTF-8 (the "
		    "configuration names it in a comment, and YAML is UTF-8)");
	handle = vals[0] ? vals[0] : "brand";
	if (handle[0] == '@')
		handle++;
	if (*handle == '\0' || strspn(handle, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != strlen(handle))
		return cli_usage_error(usage_init, "invalid --handle '%s' (letters, digits, _ . -)",
		    vals[0]);
	/* nothing is written when any file is there already */
	snprintf(path, sizeof(path), "%s/ackbot.yaml", dir);
	rc = stat(path, &st) == 0;
	for (size_t i = 0; i < NSTARTER && !rc; i++) {
		snprintf(path, sizeof(path), "%s/intents/%s", dir, starter_intents[i].name);
		rc = stat(path, &st) == 0;
	}
	if (rc) {
		fprintf(stderr, "ackbot: %s exists already: nothing written\n  hint: init writes "
		    "into a new or empty directory (ackbot init DIR); it never overwrites\n", path);
		return 1;
	}
	if (make_dir(dir) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/intents", dir);
	if (make_dir(path) != 0)
		return 1;
	if ((text = fill(starter_config, dir, handle, &len)) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/ackbot.yaml", dir);
	rc = write_new(path, text, len);
	free(text);
	for (size_t i = 0; i < NSTARTER && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/intents/%s", dir, starter_intents[i].name);
		rc = write_new(path, starter_intents[i].text, strlen(starter_intents[i].text));
	}
	if (rc != 0)
		return 1;
	/* the commands as a shell takes them: quoted when the name needs it */
	char q[4300];
	if (strspn(dir, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-") ==
	    strlen(dir))
		snprintf(q, sizeof(q), "%s/ackbot.yaml", dir);
	else {
		size_t o = 0;
		q[o++] = '\'';
		for (const char *p = dir; *p && o < sizeof(q) - 20; p++) {
			if (*p == '\'') {
				memcpy(q + o, "'\\''", 4);
				o += 4;
			} else
				q[o++] = *p;
		}
		snprintf(q + o, sizeof(q) - o, "/ackbot.yaml'");
	}
	printf("wrote %s/ackbot.yaml and %zu intent files in %s/intents/\n"
	    "next:\n"
	    "  ackbot check -c %s\n"
	    "  ackbot intents verify -c %s\n"
	    "  ackbot run -c %s      # then type: @%s thanks!\n",
	    dir, NSTARTER, dir, q, q, q, handle);
	return 0;
}
