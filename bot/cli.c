/* cli.c - the `ackbot` command line: run, check, intents test|verify, handoff list|show|
 * claim|resolve|purge, model train, eval; status, reload, stop are in cli_ctl.c, init in
 * init.c, receiver in receiver.c. Exit codes: 0 ok, 1 failure (validation, verify, no such
 * ticket), 2 usage, 3 the daemon could not start (status, reload: none runs). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon.h"
#include "config.h"
#include "eval.h"
#include "guard.h"
#include "handoff.h"
#include "intents.h"
#include "log.h"
#include "pipeline.h"
#include "render.h"
#include "source.h"
#include "store.h"
#include "text.h"
#include "train.h"
#include "yamlpos.h"

const char *
cli_default_config(void)
{
	const char *e = getenv("ACKBOT_CONFIG");

	return e && *e ? e : "config/ackbot.yaml";
}

static const char usage_main[] =
    "usage: ackbot COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  init [DIR]                        write a starter configuration and intents\n"
    "  run [-c FILE] [--log-level L] [--log-format logfmt|json] [--log-file F] [-q]\n"
    "                                    run the daemon\n"
    "  status [-c FILE] [--json] [--wait]  is it running; what waits; sources; last error\n"
    "  reload [-c FILE]                  reload the running daemon and report the outcome\n"
    "  stop [-c FILE]                    stop the running daemon and wait for it\n"
    "  check [-c FILE]                   validate config, intents and templates\n"
    "  intents test [-c FILE] [--json] [--source NAME] [--lang LL] [TEXT]\n"
    "                                    show which intent fires and the reply (stdin: one per line)\n"
    "  intents verify [-c FILE]          run every intent's examples\n"
    "  handoff list [-c FILE] [--status open|claimed|resolved|all] [--source S] [--json]\n"
    "  handoff show [-c FILE] [--json] TICKET\n"
    "  handoff claim [-c FILE] TICKET [--note TEXT]\n"
    "  handoff resolve [-c FILE] TICKET [--note TEXT] [--label CLASS]\n"
    "  model train [-c FILE] [--seed N] [--folds K] [--cost C] [--out FILE] [--no-labels]\n"
    "                                    build the second opinion's model\n"
    "  eval [-c FILE] [--json] [--with-lang] [--source NAME] FILE.jsonl\n"
    "                                    measure the whole decision on labelled mentions\n"
    "  handoff purge [-c FILE] --source S  delete a source's tickets (console tries)\n"
    "  receiver [--listen HOST:PORT]     print the replies a webhook source delivers\n"
    "  version                           print the version\n"
    "\n"
    "-c FILE defaults to $ACKBOT_CONFIG, else config/ackbot.yaml.\n"
    "Every command takes --help. Exit codes: 0 ok; 1 validation failed, examples failed or\n"
    "no such ticket; 2 usage error; 3 the daemon could not start (status, reload: none runs).\n";

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ackbot: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

/* Parses -c/--config, --help and the command's own flags. Returns -1 to continue, or an
 * exit code. flags: a NULL-terminated list of "name" (boolean) or "name=" (takes a value);
 * values land in vals[i] (NULL when absent; "1" for booleans). */
int
cli_parse_opts(int argc, char **argv, const char *usage, const char *const *flags,
    const char **vals, const char **config, int *first_arg)
{
	struct option opts[16];
	int n = 0, c, idx;

	*config = cli_default_config();
	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (int i = 0; flags && flags[i] && n < 14; i++) {
		size_t l = strlen(flags[i]);
		int has_arg = l > 0 && flags[i][l - 1] == '=';
		static char names[16][32];
		snprintf(names[i], sizeof(names[i]), "%.*s", (int)(has_arg ? l - 1 : l), flags[i]);
		opts[n++] = (struct option){ names[i], has_arg ? required_argument : no_argument,
			NULL, 1000 + i };
		vals[i] = NULL;
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, &idx)) != -1) {
		if (c == 'c')
			*config = optarg;
		else if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		} else if (c >= 1000)
			vals[c - 1000] = optarg ? optarg : "1";
		else
			return cli_usage_error(usage, "unknown or incomplete option '%s'", argv[optind - 1]);
	}
	*first_arg = optind;
	return -1;
}

/* ---- check ---- */

static const char usage_check[] =
    "usage: ackbot check [-c FILE]\n"
    "Validates the configuration, every intent file and every reply template. Each problem\n"
    "is printed as file:line:column: error: message, with a hint. Exit 1 on any error.\n";

static int
validate_sources(struct config *c, struct diag *d)
{
	size_t active = 0;

	for (size_t i = 0; i < c->nsources; i++) {
		const struct source_ops *ops = source_find_type(c->sources[i].type);
		struct source *s = NULL;
		if (ops == NULL) {
			diag_add(d, DIAG_ERROR, c->path, c->sources[i].line, c->sources[i].col,
			    source_type_hint(), "unknown source type '%s'", c->sources[i].type);
			continue;
		}
		if (ops->configure(&s, NULL, &c->sources[i], c, d) == 0 && s != NULL) {
			ops->free(s);
			if (c->sources[i].enabled != CONF_OFF)
				active++;
		}
	}
	return (int)active;
}

/* One warning per intent whose replies leave out some of intents.languages. */
static void
check_translations(const struct config *c, const struct intents *in, struct diag *d)
{
	for (size_t i = 0; i < in->n; i++) {
		const struct intent *it = &in->v[i];
		char missing[256];
		size_t o = 0;
		int any = 0;

		missing[0] = '\0';
		for (size_t r = 0; r < it->nreplies; r++)
			any |= it->replies[r].lang == NULL;
		if (it->nreplies == 0 || any)
			continue;
		for (size_t l = 0; l < c->nlanguages && o + 12 < sizeof(missing); l++) {
			int have = 0;
			for (size_t r = 0; r < it->nreplies && !have; r++)
				have = strcasecmp(it->replies[r].lang, c->languages[l]) == 0;
			if (!have)
				o += (size_t)snprintf(missing + o, sizeof(missing) - o, "%s%.8s",
				    o ? ", " : "", c->languages[l]);
		}
		if (o > 0)
			diag_add(d, DIAG_WARNING, it->file, it->line, it->col,
			    "add them under reply:, or trim intents.languages",
			    "intent '%s' has no reply in %s (those mentions get the %s reply)", it->name,
			    missing, c->default_lang);
	}
}

static int
cmd_check(int argc, char **argv)
{
	const char *config, *vals[1];
	struct diag d;
	struct config *c;
	struct intents *in = NULL;
	size_t npat = 0;
	int first, rc, nsrc = 0;

	if ((rc = cli_parse_opts(argc, argv, usage_check, NULL, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_check, "unexpected argument '%s'", argv[first]);
	diag_init(&d);
	c = config_parse(config, &d);
	if (c != NULL) {
		size_t errors = d.errors;
		nsrc = validate_sources(c, &d);
		config_check_runnable(c, &d);
		if (errors == 0)	/* the intent paths are only right in a valid config */
			in = intents_load(c, &d);
		if (in != NULL)
			check_translations(c, in, &d);
	}
	diag_print(&d, stderr);
	if (d.errors > 0 || c == NULL || in == NULL) {
		fprintf(stderr, "%zu error%s, %zu warning%s\n", d.errors, d.errors == 1 ? "" : "s",
		    d.warnings, d.warnings == 1 ? "" : "s");
		rc = 1;
	} else {
		for (size_t i = 0; i < in->n; i++)
			npat += in->v[i].npatterns;
		printf("ok: %zu intents, %zu patterns, %d sources (%zu warnings)\n", in->n, npat, nsrc,
		    d.warnings);
		rc = 0;
	}
	intents_free(in);
	config_free(c);
	diag_free(&d);
	return rc;
}

/* ---- intents ---- */

static const char usage_intents_test[] =
    "usage: ackbot intents test [-c FILE] [--json] [--source NAME] [--lang LL] [--name NAME]\n"
    "                           [--supporter] [TEXT]\n"
    "Shows which intent fires for TEXT and why (the pattern, numbered from 0 in its intent's\n"
    "list, and its captures), the entities, the detected language, the guard's opinion and\n"
    "the rendered reply. Without TEXT, reads one mention per line from stdin and prints one\n"
    "result per line (JSON lines with --json). Nothing is stored or sent.\n"
    "  --source NAME  as if it came from that configured source (default console): intents\n"
    "                 with when: {source: ...} and the source's reply length apply\n"
    "  --lang LL      the language the platform gave (en, pt-BR, ...); without it the\n"
    "                 language is detected from the text\n"
    "  --name NAME    the author's display name, for {{name}} (default: none)\n"
    "  --supporter    the author counts as a regular supporter (when: {supporter: true})\n";

static const char usage_intents_verify[] =
    "usage: ackbot intents verify [-c FILE]\n"
    "Runs every intent's examples through the whole set: `match` examples must pick that\n"
    "intent (with the expected captures), `no_match` examples must not. Exit 1 on failure.\n";

static int
load_all(const char *config, struct config **c, struct intents **in)
{
	struct diag d;

	diag_init(&d);
	*in = NULL;
	*c = config_load(config, &d);
	if (*c != NULL)
		*in = intents_load(*c, &d);
	if (*c == NULL || *in == NULL) {
		diag_print(&d, stderr);
		fprintf(stderr, "ackbot: fix the errors above (ackbot check -c %s)\n", config);
		diag_free(&d);
		config_free(*c);
		*c = NULL;
		return 1;
	}
	diag_free(&d);
	return 0;
}

/* The intents with their second opinion: the model file, else one trained in memory. */
static int
load_brain(const char *config, struct config **c, struct intents **in)
{
	struct ack_err err;
	int trained;

	if (load_all(config, c, in) != 0)
		return 1;
	ack_err_clear(&err);
	if (train_ensure(*c, *in, NULL, 0, &trained, &err) != 0) {
		fprintf(stderr, "ackbot: %s\nackbot: going on without the second opinion (run "
		    "`ackbot model train`)\n", err.msg);
	} else if (trained) {
		fprintf(stderr, "ackbot: no model at %s: trained one in memory (`ackbot model "
		    "train` writes it)\n", (*c)->guard_model);
	}
	return 0;
}

static json_t *
guard_json(const struct plan *p)
{
	const struct guard_verdict *g = &p->guard;
	json_t *o = json_object(), *sc = json_object(), *sig = json_array();

	for (int k = 0; g->scored && k < G_NCLASS; k++)
		json_object_set_new(sc, guard_class_names[k], json_real((double)(int)(g->p[k] * 1000 + 0.5) / 1000));
	for (size_t i = 0; i < g->nsignals; i++)
		json_array_append_new(sig, json_string(g->signals[i]));
	json_object_set_new(o, "class", g->scored ? json_string(guard_class_names[g->top]) : json_null());
	json_object_set_new(o, "score", g->scored ? json_real((double)(int)(g->p[g->top] * 1000 + 0.5) / 1000) : json_null());
	json_object_set_new(o, "problem", json_real((double)(int)(g->problem * 1000 + 0.5) / 1000));
	json_object_set_new(o, "scores", sc);
	json_object_set_new(o, "signals", sig);
	json_object_set_new(o, "changed", g->changed ? json_string(g->changed) : json_null());
	return o;
}

static void
test_one(const struct config *c, const struct intents *in, const char *text, const char *source,
    const char *lang, const char *name, int supporter, int as_json)
{
	struct mention m;
	struct author_facts f;
	struct plan p;
	struct ack_err err;
	char *reply = NULL;
	const char *ticket = "T-EXAMPLE";

	memset(&m, 0, sizeof(m));
	m.source = (char *)source;
	m.platform_id = (char *)"test";
	m.text = (char *)text;
	m.author_id = (char *)"tester";
	m.author_handle = (char *)"tester";
	m.author_name = (char *)name;
	m.lang = (char *)lang;
	memset(&f, 0, sizeof(f));
	f.is_supporter = supporter;
	ack_err_clear(&err);
	if (decide_plan(c, in, &m, &f, 0, &p, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		return;
	}
	if (p.tmpl != NULL)
		reply = render_reply(&p, &m, p.handoff ? ticket : NULL, 500, &err);
	if (as_json) {
		json_t *o = json_object(), *caps = json_object();
		char *s;
		for (size_t i = 0; i < p.match.ncaps; i++)
			json_object_set_new(caps, p.match.caps[i].name, json_string(p.match.caps[i].value));
		json_object_set_new(o, "text", json_string(text));
		json_object_set_new(o, "intent", p.match.intent ? json_string(p.match.intent->name) : json_null());
		json_object_set_new(o, "pattern", p.match.intent ? json_integer(p.match.pattern_index) : json_null());
		json_object_set_new(o, "captures", caps);
		json_object_set_new(o, "reply", reply ? json_string(reply) : json_null());
		json_object_set_new(o, "handoff", json_boolean(p.handoff));
		json_object_set_new(o, "queue", p.handoff ? json_string(p.queue ? p.queue : "support") : json_null());
		json_object_set_new(o, "priority", p.handoff ? json_string(handoff_priority_name(p.priority)) : json_null());
		json_object_set_new(o, "lang", p.reply_lang ? json_string(p.reply_lang) :
		    (p.lang ? json_string(p.lang) : json_null()));
		json_object_set_new(o, "reason", json_string(p.reason ? p.reason : ""));
		json_object_set_new(o, "limit_hit", json_boolean(p.match.limit_hit));
		{
			json_t *ents = json_object(), *lo = json_object();
			for (size_t i = 0; i < p.nents; i++)
				if (!p.ents[i].signal)
					json_object_set_new(ents, p.ents[i].name, json_pack("{s:s,s:b}",
					    "value", p.ents[i].value, "personal", p.ents[i].personal));
			json_object_set_new(o, "entities", ents);
			json_object_set_new(lo, "code", p.lang_detected[0] ? json_string(p.lang_detected) : json_null());
			json_object_set_new(lo, "confidence", json_real((double)(int)(p.lang_confidence * 1000 + 0.5) / 1000));
			json_object_set_new(lo, "used", json_boolean(p.lang_detected[0] && p.lang &&
			    strcmp(p.lang, p.lang_detected) == 0 && lang == NULL));
			json_object_set_new(o, "detected_lang", lo);
			json_object_set_new(o, "guard", guard_json(&p));
		}
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		const struct intent *it = p.match.intent;
		printf("text:     %s\n", p.text);
		if (p.match.limit_hit)
			printf("intent:   (none: PCRE2 limit hit in '%s' pattern %d; handed to a person)\n",
			    p.match.limit_intent ? p.match.limit_intent->name : "?", p.match.limit_pattern);
		else if (it != NULL)
			printf("intent:   %s (priority %d; pattern %d of its list, from 0, at %s:%d:%d: %s)\n",
			    it->name, it->priority, p.match.pattern_index, it->file,
			    it->patterns[p.match.pattern_index].line, it->patterns[p.match.pattern_index].col,
			    it->patterns[p.match.pattern_index].src);
		else
			printf("intent:   (none matched)\n");
		printf("captures:");
		for (size_t i = 0; i < p.match.ncaps; i++)
			printf(" %s=%s", p.match.caps[i].name, p.match.caps[i].value);
		printf("%s\n", p.match.ncaps ? "" : " (none)");
		if (p.nents > 0 && !p.ents[0].signal) {	/* entities come before signals */
			printf("entities:");
			for (size_t i = 0; i < p.nents; i++)
				if (!p.ents[i].signal)
					printf(" %s=%s%s", p.ents[i].name, p.ents[i].value,
					    p.ents[i].personal ? " (personal: never in a reply)" : "");
			printf("\n");
		}
		if (p.lang_detected[0] || lang == NULL)
			printf("language: %s (detected %s, confidence %.2f%s)\n", p.lang ? p.lang : "-",
			    p.lang_detected[0] ? p.lang_detected : "nothing", p.lang_confidence,
			    p.lang && p.lang_detected[0] && strcmp(p.lang, p.lang_detected) == 0 ? "" :
			    ": below the threshold, not used");
		if (p.guard.scored || p.guard.nsignals > 0) {
			printf("guard:    %s %.2f, problem %.2f, spam %.2f, praise %.2f",
			    p.guard.scored ? guard_class_names[p.guard.top] : "(no model)",
			    p.guard.scored ? p.guard.p[p.guard.top] : 0, p.guard.problem,
			    p.guard.p[G_SPAM], p.guard.p[G_PRAISE]);
			for (size_t i = 0; i < p.guard.nsignals; i++)
				printf("%s%s", i ? "," : "; signals ", p.guard.signals[i]);
			printf("%s%s\n", p.guard.changed ? "; changed: " : "",
			    p.guard.changed ? p.guard.changed : "");
		}
		printf("reply:    %s\n", reply ? reply : "(none)");
		if (p.handoff)
			printf("handoff:  queue '%s', %s priority (reason: %s)\n",
			    p.queue ? p.queue : "support", handoff_priority_name(p.priority), p.reason);
		else
			printf("handoff:  no (reason: %s)\n", p.reason);
	}
	fflush(stdout);
	free(reply);
	decide_plan_clear(&p);
}

/* --source and --lang as a user may mistype them: EXIT_USAGE with the valid values, or 0. */
static int
check_source_lang(const struct config *c, const char *usage, const char *source,
    const char *lang)
{
	if (source != NULL) {
		int ok = 0;
		char list[512] = "";
		size_t o = 0;
		for (size_t i = 0; i < c->nsources; i++) {
			ok |= strcmp(c->sources[i].name, source) == 0;
			if (o + strlen(c->sources[i].name) + 3 < sizeof(list))
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
				    c->sources[i].name);
		}
		if (!ok) {
			fprintf(stderr, "ackbot: unknown --source '%s'\n  hint: the sources configured in "
			    "%s: %s\n", source, c->path, o ? list : "(none)");
			return EXIT_USAGE;
		}
	}
	if (lang != NULL && !text_lang_valid(lang)) {
		const char *sug = text_lang_suggest(lang);
		fprintf(stderr, "ackbot: unknown --lang '%s'\n  hint: %s%s%sa language is an ISO "
		    "639-1 code such as en, es, fr, de, it, pt, nl, pl, tr, ja (pt-BR for a region)\n",
		    lang, sug ? "did you mean '" : "", sug ? sug : "", sug ? "'? " : "");
		return EXIT_USAGE;
	}
	return 0;
}

static int
cmd_intents_test(int argc, char **argv)
{
	static const char *const flags[] = { "json", "source=", "lang=", "name=", "supporter", NULL };
	const char *config, *vals[5];
	struct config *c;
	struct intents *in;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_intents_test, flags, vals, &config, &first)) >= 0)
		return rc;
	if (load_brain(config, &c, &in) != 0)
		return 1;
	if ((rc = check_source_lang(c, usage_intents_test, vals[1], vals[2])) != 0) {
		intents_free(in);
		config_free(c);
		return rc;
	}
	log_min_level = LOG_ERROR;
	if (first < argc) {
		size_t len = 0;
		char *text;
		for (int i = first; i < argc; i++)
			len += strlen(argv[i]) + 1;
		text = calloc(1, len + 1);
		for (int i = first; text && i < argc; i++) {
			strcat(text, argv[i]);
			if (i + 1 < argc)
				strcat(text, " ");
		}
		if (text != NULL)
			test_one(c, in, text, vals[1] ? vals[1] : "console", vals[2], vals[3],
			    vals[4] != NULL, vals[0] != NULL);
		free(text);
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		while ((n = getline(&line, &cap, stdin)) >= 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			test_one(c, in, line, vals[1] ? vals[1] : "console", vals[2], vals[3],
			    vals[4] != NULL, vals[0] != NULL);
		}
		free(line);
	}
	intents_free(in);
	config_free(c);
	return 0;
}

static int
cmd_intents_verify(int argc, char **argv)
{
	const char *config, *vals[1];
	struct config *c;
	struct intents *in;
	size_t passed = 0, failed = 0;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_intents_verify, NULL, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_intents_verify, "unexpected argument '%s'", argv[first]);
	if (load_all(config, &c, &in) != 0)
		return 1;
	rc = intents_verify(in, (const char *const *)c->handles, c->nhandles, stdout, &passed, &failed);
	intents_free(in);
	config_free(c);
	return rc == 0 && failed == 0 ? 0 : 1;
}

/* ---- handoff ---- */

static const char usage_handoff[] =
    "usage: ackbot handoff list [-c FILE] [--status open|claimed|resolved|all] [--source NAME]\n"
    "                           [--json] [--limit N]\n"
    "       ackbot handoff show [-c FILE] [--json] TICKET\n"
    "       ackbot handoff claim [-c FILE] TICKET [--note TEXT]\n"
    "       ackbot handoff resolve [-c FILE] TICKET [--note TEXT] [--label CLASS]\n"
    "       ackbot handoff purge [-c FILE] --source NAME\n"
    "The handoff queue: mentions a person must look at. Safe while the daemon runs.\n"
    "--source keeps the tickets of one configured source (\"console\", \"webhook\", ...);\n"
    "purge deletes every ticket of that source, in any status (the console's try-outs).\n"
    "Exit 1 when TICKET does not exist.\n";

int
cli_open_store(const char *config, int readonly, struct config **c, struct store **st)
{
	struct diag d;
	struct ack_err err;

	diag_init(&d);
	*st = NULL;
	*c = config_load(config, &d);
	if (*c == NULL) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 1;
	}
	diag_free(&d);
	if (access((*c)->db_path, F_OK) != 0) {
		if (readonly >= 2)
			return 2;	/* the caller says it, and frees *c */
		fprintf(stderr, "ackbot: no store at %s yet (start the daemon once: ackbot run -c %s)\n",
		    (*c)->db_path, config);
		config_free(*c);
		return 1;
	}
	if (store_open(st, (*c)->db_path, readonly == 1 || readonly == 2, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		config_free(*c);
		return 1;
	}
	return 0;
}

static void
print_handoff_line(const struct handoff *h)
{
	char t[40];
	char *text = strdup(h->text);

	handoff_format_time(h->created_ms, t, sizeof(t));
	t[16] = '\0';
	for (char *p = text; p && *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	if (text != NULL)
		text_truncate(text, 60, "…");	/* grapheme-safe: never a cut UTF-8 sequence */
	printf("%-10s %-8s %-6s %-10s %-16s %-16s %-16s %s\n", h->ticket,
	    handoff_status_name(h->status), handoff_priority_name(h->priority), h->queue,
	    h->intent ? h->intent : "-", h->author_handle ? h->author_handle : "-", t,
	    text ? text : "");
	free(text);
}

enum { HV_JSON, HV_STATUS, HV_NOTE, HV_LIMIT, HV_LABEL, HV_SOURCE, HV_N };

static int
handoff_list_cmd(struct store *st, const char **vals)
{
	int status = vals[HV_STATUS] ? handoff_status_parse(vals[HV_STATUS]) : HANDOFF_OPEN;
	long limit = vals[HV_LIMIT] ? strtol(vals[HV_LIMIT], NULL, 10) : 100000;
	const char *src = vals[HV_SOURCE];
	struct handoff *v;
	struct ack_err err;
	size_t n, shown = 0;

	if (st->ops->handoff_list(st, status, limit > 0 ? (size_t)limit : 1, &v, &n, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		return 1;
	}
	if (vals[HV_JSON]) {
		json_t *a = json_array();
		char *s;
		for (size_t i = 0; i < n; i++)
			if (src == NULL || (v[i].source && strcmp(v[i].source, src) == 0))
				json_array_append_new(a, handoff_to_json(&v[i]));
		s = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(a);
	} else {
		printf("%-10s %-8s %-6s %-10s %-16s %-16s %-16s %s\n", "TICKET", "STATUS", "PRIO",
		    "QUEUE", "INTENT", "AUTHOR", "CREATED (UTC)", "TEXT");
		for (size_t i = 0; i < n; i++)
			if (src == NULL || (v[i].source && strcmp(v[i].source, src) == 0)) {
				print_handoff_line(&v[i]);
				shown++;
			}
		printf("%zu %s handoff%s%s%s\n", shown, status == HANDOFF_ANY ? "" :
		    handoff_status_name(status), shown == 1 ? "" : "s", src ? " from " : "",
		    src ? src : "");
	}
	handoff_free_array(v, n);
	fflush(stdout);
	return 0;
}

static int
handoff_show_cmd(struct store *st, const char *ticket, const char **vals)
{
	struct handoff h;
	struct ack_err err;
	int rc = st->ops->handoff_get(st, ticket, &h, &err);

	if (rc != 0) {
		fprintf(stderr, "ackbot: %s\n", rc == ACK_ENOENT ? "no such ticket" : err.msg);
		return 1;
	}
	json_t *o = handoff_to_json(&h);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (vals[HV_JSON] && s != NULL) {
		puts(s);
	} else {
		const char *key;
		json_t *val;
		json_object_foreach(o, key, val) {
			char *vs = json_is_string(val) ? NULL : json_dumps(val, JSON_ENCODE_ANY |
			    JSON_COMPACT);
			printf("%-12s %s\n", key, vs ? vs : json_string_value(val));
			free(vs);
		}
	}
	free(s);
	json_decref(o);
	handoff_clear(&h);
	return 0;
}

static int
handoff_work_cmd(struct store *st, const char *verb, const char *ticket, const char **vals)
{
	int resolve = strcmp(verb, "resolve") == 0;
	struct ack_err err;
	int rc;

	if (vals[HV_LABEL] != NULL && (!resolve || guard_class_of(vals[HV_LABEL]) < 0)) {
		fprintf(stderr, "ackbot: --label goes with resolve and is one of:");
		for (int k = 0; k < G_NCLASS; k++)
			fprintf(stderr, " %s", guard_class_names[k]);
		fprintf(stderr, "\n");
		return EXIT_USAGE;
	}
	rc = st->ops->handoff_set_status(st, ticket, resolve ? HANDOFF_RESOLVED : HANDOFF_CLAIMED,
	    vals[HV_NOTE], store_now_ms(), &err);
	if (rc == 0 && vals[HV_LABEL] != NULL)
		rc = st->ops->handoff_set_label(st, ticket, vals[HV_LABEL], store_now_ms(), &err);
	if (rc != 0) {
		fprintf(stderr, "ackbot: %s\n", rc == ACK_ENOENT ? "no such ticket" : err.msg);
		return 1;
	}
	printf("%s %s%s%s\n", ticket, resolve ? "resolved" : "claimed",
	    vals[HV_LABEL] ? " as " : "", vals[HV_LABEL] ? vals[HV_LABEL] : "");
	return 0;
}

static int
handoff_purge_cmd(struct store *st, const struct config *c, const char **vals)
{
	struct ack_err err;
	int64_t n;
	int known = 0;

	for (size_t i = 0; i < c->nsources; i++)
		known |= strcmp(c->sources[i].name, vals[HV_SOURCE]) == 0;
	if (!known) {
		fprintf(stderr, "ackbot: no source '%s' in %s\n  hint: the configured sources are:",
		    vals[HV_SOURCE], c->path);
		for (size_t i = 0; i < c->nsources; i++)
			fprintf(stderr, " %s", c->sources[i].name);
		fprintf(stderr, "\n");
		return 1;
	}
	if (st->ops->handoff_purge(st, vals[HV_SOURCE], &n, &err) != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
		return 1;
	}
	printf("%lld ticket%s from %s purged\n", (long long)n, n == 1 ? "" : "s", vals[HV_SOURCE]);
	return 0;
}

static int
cmd_handoff(int argc, char **argv)
{
	static const char *const flags[] = { "json", "status=", "note=", "limit=", "label=",
		"source=", NULL };
	const char *config, *vals[HV_N], *verb;
	struct config *c;
	struct store *st;
	int first, rc, list, purge, show;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_handoff, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	verb = argv[1];
	if ((rc = cli_parse_opts(argc - 1, argv + 1, usage_handoff, flags, vals, &config, &first)) >= 0)
		return rc;
	first += 1;
	list = strcmp(verb, "list") == 0;
	purge = strcmp(verb, "purge") == 0;
	show = strcmp(verb, "show") == 0;
	if (!list && !purge && !show && strcmp(verb, "resolve") != 0 && strcmp(verb, "claim") != 0)
		return cli_usage_error(usage_handoff, "unknown handoff command '%s'", verb);
	if (list && vals[HV_STATUS] && handoff_status_parse(vals[HV_STATUS]) < 0)
		return cli_usage_error(usage_handoff, "unknown status '%s' (expected open, claimed, "
		    "resolved or all)", vals[HV_STATUS]);
	if (purge && vals[HV_SOURCE] == NULL)
		return cli_usage_error(usage_handoff, "purge needs --source NAME");
	if ((list || purge) && first < argc)
		return cli_usage_error(usage_handoff, "unexpected argument '%s'", argv[first]);
	if (!list && !purge && first >= argc)
		return cli_usage_error(usage_handoff, "%s needs a TICKET", verb);
	if (!list && !purge && first + 1 < argc)
		return cli_usage_error(usage_handoff, "unexpected argument '%s'", argv[first + 1]);
	if ((rc = cli_open_store(config, list ? 2 : purge ? 3 : show, &c, &st)) == 2) {
		/* before the first run: nothing there, which is no error */
		if (list && vals[HV_JSON])
			puts("[]");
		else if (list)
			printf("0 %s handoffs (no store at %s yet: the daemon makes it at its first "
			    "start)\n", vals[HV_STATUS] ? vals[HV_STATUS] : "open", c->db_path);
		else
			printf("nothing to purge: no store at %s yet\n", c->db_path);
		config_free(c);
		return 0;
	}
	if (rc != 0)
		return 1;
	if (list)
		rc = handoff_list_cmd(st, vals);
	else if (purge)
		rc = handoff_purge_cmd(st, c, vals);
	else if (show)
		rc = handoff_show_cmd(st, argv[first], vals);
	else
		rc = handoff_work_cmd(st, verb, argv[first], vals);
	store_close(st);
	config_free(c);
	return rc;
}

/* ---- model, eval ---- */

static const char usage_model[] =
    "usage: ackbot model train [-c FILE] [--seed N] [--folds K] [--cost C] [--out FILE]\n"
    "                          [--no-labels]\n"
    "Builds the second opinion's model (logistic regression, liblinear) from the corpus\n"
    "(guard.corpus), the examples of intents with a `class`, and the classes staff gave\n"
    "handoffs (`handoff resolve --label`), and writes it atomically to guard.model (or\n"
    "--out). The same inputs and seed give the same file. --folds K also prints the K-fold\n"
    "cross-validated accuracy. --cost C sets liblinear's inverse regularisation (default\n"
    "16: larger fits the corpus more closely). A running daemon loads the new model on\n"
    "SIGHUP.\n";

static const char usage_eval[] =
    "usage: ackbot eval [-c FILE] [--json] [--with-lang] [--source NAME] [--show N] FILE.jsonl\n"
    "Runs the whole decision (patterns, entities, language, guard) over labelled mentions\n"
    "(JSON lines: text, label, lang) and prints what each class got, the guard's confusion\n"
    "matrix, the targets (no problem thanked, safety/legal handed off, no spam answered,\n"
    "praise thanked, replies in the mention's language) and the failures. The language is\n"
    "detected as for a platform that gives none, unless --with-lang. Nothing is stored or\n"
    "sent. Exit 0 when every target is met, 1 when one is missed.\n";

static int
cmd_model(int argc, char **argv)
{
	static const char *const flags[] = { "seed=", "folds=", "out=", "no-labels", "cost=",
	    NULL };
	const char *config, *vals[5];
	char *end;
	struct config *c;
	struct intents *in;
	struct store *st = NULL;
	struct train_opts o;
	struct train_report r;
	struct ack_err err;
	char **files;
	size_t nfiles = 0;
	int first, rc;

	if (argc < 2 || strcmp(argv[1], "train") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			fputs(usage_model, stdout);
			return 0;
		}
		return cli_usage_error(usage_model, argc < 2 ? "model needs a command" :
		    "unknown model command '%s'", argc < 2 ? "" : argv[1]);
	}
	if ((rc = cli_parse_opts(argc - 1, argv + 1, usage_model, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first + 1 < argc)
		return cli_usage_error(usage_model, "unexpected argument '%s'", argv[first + 1]);
	if (load_all(config, &c, &in) != 0)
		return 1;
	memset(&o, 0, sizeof(o));
	o.seed = vals[0] ? strtoull(vals[0], NULL, 10) : c->guard_seed;
	o.folds = vals[1] ? atoi(vals[1]) : 0;
	o.out = vals[2] ? vals[2] : c->guard_model;
	if (vals[4] && ((o.C = strtod(vals[4], &end)) < 1e-6 || !isfinite(o.C) || o.C > 1e6 ||
	    end == vals[4] || *end != '\0')) {
		fprintf(stderr, "ackbot: --cost wants a number from 1e-6 to 1e6, not '%s'\n",
		    vals[4]);
		intents_free(in);
		config_free(c);
		return 2;
	}
	if (!vals[3] && access(c->db_path, R_OK) == 0 && store_open(&st, c->db_path, 1, &err) != 0) {
		fprintf(stderr, "ackbot: %s (staff labels left out)\n", err.msg);
		st = NULL;
	}
	files = config_corpus_files(c, &nfiles);
	o.corpus = files;
	o.ncorpus = nfiles;
	o.in = in;
	o.st = st;
	rc = train_model(&o, &r, &err);
	if (rc != 0) {
		fprintf(stderr, "ackbot: %s\n", err.msg);
	} else {
		printf("model %s: %zu examples (%zu corpus in %zu files, %zu intent examples, %zu "
		    "staff labels), seed %llu -> %s\n", r.version, r.n, r.from_corpus, nfiles,
		    r.from_examples, r.from_labels, (unsigned long long)o.seed, o.out);
		for (int k = 0; k < G_NCLASS; k++)
			printf("  %-16s %zu\n", guard_class_names[k], r.per_class[k]);
		if (r.cv_accuracy >= 0)
			printf("%d-fold cross-validated accuracy: %.1f%%\n", o.folds,
			    100 * r.cv_accuracy);
	}
	ystrings_free(files, nfiles);
	store_close(st);
	intents_free(in);
	config_free(c);
	return rc == 0 ? 0 : 1;
}

static int
cmd_eval(int argc, char **argv)
{
	static const char *const flags[] = { "json", "with-lang", "source=", "show=", NULL };
	const char *config, *vals[4];
	struct config *c;
	struct intents *in;
	struct eval_opts o;
	int first, rc;

	if ((rc = cli_parse_opts(argc, argv, usage_eval, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first >= argc)
		return cli_usage_error(usage_eval, "eval needs a FILE.jsonl");
	if (first + 1 < argc)
		return cli_usage_error(usage_eval, "unexpected argument '%s'", argv[first + 1]);
	if (load_brain(config, &c, &in) != 0)
		return 1;
	if ((rc = check_source_lang(c, usage_eval, vals[2], NULL)) != 0) {
		intents_free(in);
		config_free(c);
		return rc;
	}
	log_min_level = LOG_ERROR;
	memset(&o, 0, sizeof(o));
	o.as_json = vals[0] != NULL;
	o.with_lang = vals[1] != NULL;
	o.source = vals[2];
	o.show = vals[3] ? (size_t)strtoul(vals[3], NULL, 10) : 20;
	rc = eval_run(c, in, argv[first], &o, stdout);
	intents_free(in);
	config_free(c);
	return rc;
}

/* ---- run ---- */

static const char usage_run[] =
    "usage: ackbot run [-c FILE] [--log-level LEVEL] [--log-format logfmt|json]\n"
    "                  [--log-file FILE] [-q]\n"
    "Runs the daemon: every enabled source, the sender, the admin listener.\n"
    "SIGTERM/SIGINT drain and stop; SIGHUP reloads the configuration and intents (the old\n"
    "ones stay when the new ones have errors) and reopens the log file.\n"
    "Logs go to stderr (or --log-file, appended), one line per event: logfmt, or a JSON\n"
    "object with --log-format json. --log-level debug|info|warn|error overrides log_level\n"
    "in the configuration; -q is --log-level warn.\n"
    "Exit 0 after a clean stop, 1 on configuration errors, 2 on a usage error, 3 when it\n"
    "could not start.\n";

static int
cmd_run(int argc, char **argv)
{
	static const char *const flags[] = { "log-level=", "log-format=", "log-file=", "quiet",
		NULL };
	const char *config, *vals[4];
	struct daemon_opts o;
	int first, rc, lv;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-q") == 0)
			argv[i] = (char *)"--quiet";
	if ((rc = cli_parse_opts(argc, argv, usage_run, flags, vals, &config, &first)) >= 0)
		return rc;
	if (first < argc)
		return cli_usage_error(usage_run, "unexpected argument '%s'", argv[first]);
	memset(&o, 0, sizeof(o));
	o.config_path = config;
	o.log_level = vals[0];
	o.log_file = vals[2];
	if (vals[0] != NULL && vals[3] != NULL)
		return cli_usage_error(usage_run, "-q and --log-level both given: use one");
	if (vals[3] != NULL)
		o.log_level = "warn";
	if (o.log_level != NULL && log_parse_level(o.log_level, &lv) != 0)
		return cli_usage_error(usage_run, "invalid --log-level '%s' (expected debug, info, warn "
		    "or error)", o.log_level);
	if (vals[1] != NULL && log_set_format(vals[1]) != 0)
		return cli_usage_error(usage_run, "invalid --log-format '%s' (expected logfmt or json)",
		    vals[1]);
	if (o.log_file != NULL && log_open_file(o.log_file) != 0) {
		fprintf(stderr, "ackbot: cannot open the log file %s: %s\n  hint: %s\n", o.log_file,
		    strerror(errno), errno == EACCES ? "check the permissions of the file and its "
		    "directory" : errno == ENOENT ? "create its directory first" : "give another "
		    "--log-file");
		return 3;
	}
	return daemon_run(&o);
}

int
cli_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("ackbot %s\n", ACKBOT_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "receiver") == 0)
		return cmd_receiver(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "reload") == 0)
		return cmd_reload(argc - 1, argv + 1);
	if (strcmp(argv[1], "stop") == 0)
		return cmd_stop(argc - 1, argv + 1);
	if (strcmp(argv[1], "handoff") == 0)
		return cmd_handoff(argc - 1, argv + 1);
	if (strcmp(argv[1], "model") == 0)
		return cmd_model(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "intents") == 0) {
		if (argc >= 3 && strcmp(argv[2], "test") == 0)
			return cmd_intents_test(argc - 2, argv + 2);
		if (argc >= 3 && strcmp(argv[2], "verify") == 0)
			return cmd_intents_verify(argc - 2, argv + 2);
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			fputs(usage_intents_test, stdout);
			fputs(usage_intents_verify, stdout);
			return 0;
		}
		fputs(usage_intents_test, stderr);
		fputs(usage_intents_verify, stderr);
		return EXIT_USAGE;
	}
	fprintf(stderr, "ackbot: unknown command '%s'\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
