/* test_config.c - defaults, typed values, relative paths, secrets, source getters, and the
 * exact wording and position of errors. */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char dir[64];

static struct config *
load(const char *yaml, struct diag *d)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/c.yaml", dir);
	f = fopen(p, "w");
	fputs(yaml, f);
	fclose(f);
	diag_init(d);
	return config_load(p, d);
}


TEST(defaults_and_paths)
{
	struct diag d;
	struct config *c = load("bot: {handles: ['@Brand', other]}\n", &d);
	char want[160];

	CHECK(c != NULL);
	CHECK_INT(c->nhandles, 2);
	CHECK_STR(c->handles[0], "Brand");
	CHECK_INT(c->cooldown_ms, 600000);
	CHECK_INT(c->one_per_thread, 1);
	CHECK_INT(c->match_limit, 100000);
	CHECK_INT(c->admin_port, 9090);
	snprintf(want, sizeof(want), "%s/var", dir);
	CHECK_STR(c->data_dir, want);
	snprintf(want, sizeof(want), "%s/var/ackbot.db", dir);
	CHECK_STR(c->db_path, want);
	snprintf(want, sizeof(want), "%s/intents", dir);
	CHECK_STR(c->intent_paths[0], want);
	config_free(c);
	diag_free(&d);
}

TEST(durations_and_sizes)
{
	int64_t ms;
	size_t sz;

	CHECK_INT(conf_parse_duration_ms("250ms", &ms), 0);
	CHECK_INT(ms, 250);
	CHECK_INT(conf_parse_duration_ms("5s", &ms), 0);
	CHECK_INT(ms, 5000);
	CHECK_INT(conf_parse_duration_ms("10m", &ms), 0);
	CHECK_INT(ms, 600000);
	CHECK_INT(conf_parse_duration_ms("2h", &ms), 0);
	CHECK_INT(ms, 7200000);
	CHECK_INT(conf_parse_duration_ms("30", &ms), 0);
	CHECK_INT(ms, 30000);
	CHECK(conf_parse_duration_ms("10 minutes", &ms) != 0);
	CHECK(conf_parse_duration_ms("-1s", &ms) != 0);
	CHECK_INT(conf_parse_size("64KiB", &sz), 0);
	CHECK_INT(sz, 65536);
	CHECK_INT(conf_parse_size("1M", &sz), 0);
	CHECK_INT(sz, 1048576);
	CHECK(conf_parse_size("lots", &sz) != 0);
}

TEST(errors_have_positions)
{
	struct diag d;
	struct config *c = load(
	    "bot: {handles: [brand]}\n"
	    "policy:\n"
	    "  cooldown: soon\n"
	    "  reply_to_bots: maybe\n"
	    "log_level: loud\n"
	    "sender: {max_attempts: 0}\n"
	    "admin: {listen: 'here'}\n"
	    "colour: blue\n"
	    "sources:\n"
	    "  - name: x\n"
	    "  - type: webhook\n"
	    "  - type: webhook\n", &d);

	CHECK(c == NULL);
	CHECK(diag_has(&d, 3, 13, "invalid value 'soon' for 'policy.cooldown' (expected a duration)"));
	CHECK(diag_has(&d, 4, 18, "invalid value 'maybe' for 'policy.reply_to_bots' (expected true or false)"));
	CHECK(diag_has(&d, 5, 12, "invalid value 'loud' for 'log_level' (expected debug, info, warn or error)"));
	CHECK(diag_has(&d, 6, 24, "invalid value '0' for 'sender.max_attempts' (expected an integer from 1 to 1000)"));
	CHECK(diag_has(&d, 7, 17, "invalid value 'here' for 'admin.listen' (expected host:port)"));
	CHECK(diag_has(&d, 8, 1, "unknown key 'colour' in the configuration"));
	CHECK(diag_has(&d, 10, 5, "a source needs a 'type'"));
	CHECK(diag_has(&d, 12, 5, "duplicate source name 'webhook' (first at line 11)"));
	diag_free(&d);
}

TEST(yaml_syntax_error)
{
	struct diag d;
	struct config *c = load("bot: {handles: [brand\npolicy: x\n", &d);

	CHECK(c == NULL);
	CHECK_INT(d.errors, 1);
	CHECK(d.items[0].line > 0 && d.items[0].col > 0);
	diag_free(&d);
}

TEST(source_getters_and_secrets)
{
	struct diag d;
	struct config *c;
	char *s = NULL, *h = NULL;
	int port = 0;
	size_t sz = 0;
	int64_t ms = 0;
	char yaml[512], sf[128];
	FILE *f;

	snprintf(sf, sizeof(sf), "%s/secret.txt", dir);
	f = fopen(sf, "w");
	fputs("whsec_fromfile\n", f);
	fclose(f);
	setenv("TEST_CFG_SECRET", "whsec_fromenv", 1);
	snprintf(yaml, sizeof(yaml),
	    "sources:\n"
	    "  - type: webhook\n"
	    "    listen: ':8181'\n"
	    "    body_limit: 1KiB\n"
	    "    tolerance: 90s\n"
	    "    secret_env: TEST_CFG_SECRET\n"
	    "    reply_urll: x\n"
	    "  - type: webhook\n"
	    "    name: two\n"
	    "    secret_file: secret.txt\n"
	    "    secret: inline\n");
	c = load(yaml, &d);
	CHECK(c != NULL);
	CHECK_INT(c->nsources, 2);
	CHECK_INT(conf_src_listen(&c->sources[0], "listen", "127.0.0.1:8080", &h, &port, c, &d), 0);
	CHECK_STR(h, "127.0.0.1");
	CHECK_INT(port, 8181);
	free(h);
	CHECK_INT(conf_src_size(&c->sources[0], "body_limit", 1, &sz, c, &d), 0);
	CHECK_INT(sz, 1024);
	CHECK_INT(conf_src_duration_ms(&c->sources[0], "tolerance", 1, &ms, c, &d), 0);
	CHECK_INT(ms, 90000);
	CHECK_INT(conf_src_secret(&c->sources[0], "secret", &s, c, &d), 0);
	CHECK_STR(s, "whsec_fromenv");
	free(s);
	conf_src_str_env(&c->sources[0], "reply_url", NULL, &s, c, &d);
	CHECK(s == NULL);
	conf_src_unused(&c->sources[0], c, &d);
	CHECK(diag_has(&d, 7, 17, "unknown key 'reply_urll' for a webhook source"));
	CHECK_STR(d.items[d.n - 1].hint, "did you mean 'reply_url'?");
	CHECK_INT(conf_src_secret(&c->sources[1], "secret", &s, c, &d), -1);
	CHECK(diag_has(&d, 11, 13, "secrets are not allowed in the config file ('secret')"));
	config_free(c);
	diag_free(&d);
	/* the file variant, alone */
	c = load("bot: {handles: [brand]}\nsources:\n  - type: webhook\n    secret_file: secret.txt\n", &d);
	CHECK_INT(conf_src_secret(&c->sources[0], "secret", &s, c, &d), 0);
	CHECK_STR(s, "whsec_fromfile");
	free(s);
	config_free(c);
	diag_free(&d);
	c = load("bot: {handles: [brand]}\nsources:\n  - type: webhook\n    secret_file: nope.txt\n", &d);
	CHECK_INT(conf_src_secret(&c->sources[0], "secret", &s, c, &d), -1);
	CHECK_INT(d.items[0].line, 4);
	CHECK(strstr(d.items[0].msg, "cannot read secret_file") != NULL);
	config_free(c);
	diag_free(&d);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ackbot-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	RUN(defaults_and_paths);
	RUN(durations_and_sizes);
	RUN(errors_have_positions);
	RUN(yaml_syntax_error);
	RUN(source_getters_and_secrets);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", dir);
	}
	UNIT_DONE("test_config");
}
