/* test_pipeline.c - decide and render: self, bots, blocked authors, cooldown, threads,
 * PCRE2 limits, unmatched mentions, reply language, neutralised captures, reply keys. */
#include <unistd.h>

#include "config.h"
#include "intents.h"
#include "pipeline.h"
#include "render.h"
#include "unit.h"

static char dir[64];
static struct config *cfg;
static struct intents *in;

static const char intents_yaml[] =
    "intents:\n"
    "  - name: evil\n"
    "    priority: 5\n"
    "    patterns: ['^(a+)+$']\n"
    "    reply: \"never\"\n"
    "  - name: complaint\n"
    "    priority: 10\n"
    "    patterns: ['\\bbroken\\b.{0,40}#(?<order>[A-Z]\\d{5})', '\\bkaputt\\b']\n"
    "    reply:\n"
    "      en: \"{{author}} sorry about order {{order|your order}}, ref {{ticket}}\"\n"
    "      de: \"{{author}} Entschuldigung, Ticket {{ticket}}\"\n"
    "    handoff: {queue: orders, priority: high}\n"
    "  - name: spam\n"
    "    priority: 20\n"
    "    patterns: ['\\bfree followers\\b']\n"
    "    handoff: {queue: moderation, priority: low}\n"
    "  - name: thanks\n"
    "    priority: 30\n"
    "    patterns: ['\\bthanks?\\b', {lang: de, pattern: '\\bdanke\\b'}]\n"
    "    exclude: ['\\bfor nothing\\b']\n"
    "    reply:\n"
    "      en: \"{{author}} thank you, {{name|friend}}!\"\n"
    "      de: \"{{author}} danke dir!\"\n";

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
setup(void)
{
	char p[128], conf[1024];
	struct diag d;

	snprintf(dir, sizeof(dir), "/tmp/ackbot-test-pipe-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/intents.yaml", dir);
	if (write_file(p, intents_yaml) != 0)
		return -1;
	snprintf(conf, sizeof(conf),
	    "bot: {handles: [brand]}\n"
	    "data_dir: %s/var\n"
	    "intents: {paths: [intents.yaml], match_limit: 10000, depth_limit: 100}\n"
	    "policy: {cooldown: 10m, blocked_authors: [troll, '@Nasty'], handoff_unmatched: true}\n"
	    "admin: {listen: false}\n"
	    "sources: [{type: console, enabled: false, cooldown: 0s}]\n", dir);
	snprintf(p, sizeof(p), "%s/ackbot.yaml", dir);
	if (write_file(p, conf) != 0)
		return -1;
	diag_init(&d);
	cfg = config_load(p, &d);
	if (cfg != NULL)
		in = intents_load(cfg, &d);
	if (cfg == NULL || in == NULL) {
		diag_print(&d, stdout);
		diag_free(&d);
		return -1;
	}
	diag_free(&d);
	return 0;
}

static void
mk(struct mention *m, const char *text, const char *handle)
{
	memset(m, 0, sizeof(*m));
	m->source = (char *)"webhook";
	m->platform_id = (char *)"m-1";
	m->text = (char *)text;
	m->author_id = (char *)"42";
	m->author_handle = (char *)handle;
}

TEST(reply_and_handoff_with_capture)
{
	struct mention m;
	struct plan p;
	char *r;

	mk(&m, "@brand my kettle arrived broken, order #A12345", "ana");
	CHECK_INT(decide_plan(cfg, in, &m, NULL, 0, &p, NULL), 0);
	CHECK(p.match.intent != NULL);
	CHECK_STR(p.match.intent->name, "complaint");
	CHECK_STR(p.action, "reply+handoff");
	CHECK_STR(p.queue, "orders");
	CHECK_INT(p.priority, HANDOFF_HIGH);
	CHECK_STR(p.captures_json, "{\"order\":\"A12345\"}");
	r = render_reply(&p, &m, "T-ABC123", 500, NULL);
	CHECK_STR(r, "@ana sorry about order A12345, ref T-ABC123");
	free(r);
	decide_plan_clear(&p);
}

TEST(silent_for_self_bots_blocked)
{
	struct mention m;
	struct plan p;

	mk(&m, "thanks!", "Brand");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.action, "silent");
	CHECK_STR(p.reason, "self");
	decide_plan_clear(&p);
	mk(&m, "thanks!", "brand@other.example");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reason, "self");
	decide_plan_clear(&p);
	mk(&m, "thanks!", "tracker");
	m.author_flags = MENTION_BOT;
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reason, "bot_author");
	CHECK_INT(p.reply, 0);
	CHECK_INT(p.handoff, 0);
	decide_plan_clear(&p);
	mk(&m, "thanks!", "ana");
	m.author_flags = MENTION_NOBOT;
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reason, "nobot");
	decide_plan_clear(&p);
	mk(&m, "thanks!", "renamed_brand_account");
	m.author_flags = MENTION_SELF;
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reason, "self");
	decide_plan_clear(&p);
	mk(&m, "thanks!", "nasty");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reason, "blocked");
	decide_plan_clear(&p);
}

TEST(cooldown_and_thread)
{
	struct mention m;
	struct plan p;
	struct author_facts f;

	memset(&f, 0, sizeof(f));
	f.last_reply_ms = 1000000;
	mk(&m, "thanks!", "ana");
	decide_plan(cfg, in, &m, &f, 1000000 + 9 * 60000, &p, NULL);
	CHECK_STR(p.reason, "cooldown");
	CHECK_INT(p.reply, 0);
	decide_plan_clear(&p);
	decide_plan(cfg, in, &m, &f, 1000000 + 11 * 60000, &p, NULL);
	CHECK_INT(p.reply, 1);
	decide_plan_clear(&p);
	/* a source may set its own cooldown: the console answers every line */
	m.source = (char *)"console";
	decide_plan(cfg, in, &m, &f, 1000001, &p, NULL);
	CHECK_INT(p.reply, 1);
	decide_plan_clear(&p);
	m.source = (char *)"webhook";
	/* on cooldown, a complaint still reaches a person */
	mk(&m, "it is broken, order #B12345", "ana");
	f.last_reply_ms = 1000000;
	decide_plan(cfg, in, &m, &f, 1000001, &p, NULL);
	CHECK_INT(p.reply, 0);
	CHECK_INT(p.handoff, 1);
	CHECK_STR(p.action, "handoff");
	decide_plan_clear(&p);
	memset(&f, 0, sizeof(f));
	f.thread_replied = 1;
	mk(&m, "thanks!", "bo");
	decide_plan(cfg, in, &m, &f, 5, &p, NULL);
	CHECK_STR(p.reason, "thread_replied");
	decide_plan_clear(&p);
}

TEST(limit_hit_goes_to_person)
{
	struct mention m;
	struct plan p;
	char text[64];

	memset(text, 'a', 40);
	strcpy(text + 40, "!");
	mk(&m, text, "ana");
	CHECK_INT(decide_plan(cfg, in, &m, NULL, 0, &p, NULL), 0);
	CHECK_INT(p.match.limit_hit, 1);
	CHECK_INT(p.reply, 0);
	CHECK_INT(p.handoff, 1);
	CHECK_STR(p.reason, "match_limit");
	decide_plan_clear(&p);
}

TEST(unmatched_and_spam)
{
	struct mention m;
	struct plan p;

	mk(&m, "what colour is the sky", "ana");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK(p.match.intent == NULL);
	CHECK_STR(p.action, "handoff");
	CHECK_STR(p.reason, "unmatched");
	decide_plan_clear(&p);
	mk(&m, "get free followers now", "spammer");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.match.intent->name, "spam");
	CHECK_STR(p.action, "handoff");
	CHECK_STR(p.reason, "no_reply_intent");
	CHECK_STR(p.queue, "moderation");
	decide_plan_clear(&p);
	mk(&m, "thanks for nothing", "ana");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK(p.match.intent == NULL);
	decide_plan_clear(&p);
}

TEST(reply_language)
{
	struct mention m;
	struct plan p;
	char *r;

	/* no language given: the German pattern picks the German template */
	mk(&m, "danke schön", "ana");
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reply_lang, "de");
	r = render_reply(&p, &m, NULL, 500, NULL);
	CHECK_STR(r, "@ana danke dir!");
	free(r);
	decide_plan_clear(&p);
	/* the mention's own language wins when a template exists */
	mk(&m, "thanks", "ana");
	m.lang = (char *)"de-AT";
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reply_lang, "de");
	decide_plan_clear(&p);
	/* no template for French: the pattern's language, then the default */
	m.lang = (char *)"fr";
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	CHECK_STR(p.reply_lang, "en");
	decide_plan_clear(&p);
}

TEST(name_is_neutralised)
{
	struct mention m;
	struct plan p;
	char *r;

	mk(&m, "thanks", "ana");
	m.author_name = (char *)"@everyone http://evil.example";
	decide_plan(cfg, in, &m, NULL, 0, &p, NULL);
	r = render_reply(&p, &m, NULL, 500, NULL);
	CHECK(r != NULL);
	CHECK(strstr(r, "@everyone") == NULL);
	CHECK(strstr(r, "evil.example") == NULL);
	CHECK(strncmp(r, "@ana thank you, ", 16) == 0);
	free(r);
	decide_plan_clear(&p);
}

TEST(reply_key_stable)
{
	char a[40], b[40], c[40];

	pipeline_reply_key("webhook", "m-1", a);
	pipeline_reply_key("webhook", "m-1", b);
	pipeline_reply_key("webhook", "m-2", c);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	CHECK_INT(strlen(a), 36);
	CHECK(strncmp(a, "ack_", 4) == 0);
	pipeline_reply_key("webhoo", "km-1", c);	/* the separator matters */
	CHECK(strcmp(a, c) != 0);
}

int
main(void)
{
	if (setup() != 0) {
		printf("FAIL setup\nunit test_pipeline: 0 passed, 1 failed\n");
		return 1;
	}
	RUN(reply_and_handoff_with_capture);
	RUN(silent_for_self_bots_blocked);
	RUN(cooldown_and_thread);
	RUN(limit_hit_goes_to_person);
	RUN(unmatched_and_spam);
	RUN(reply_language);
	RUN(name_is_neutralised);
	RUN(reply_key_stable);
	intents_free(in);
	config_free(cfg);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", dir);
	}
	UNIT_DONE("test_pipeline");
}
