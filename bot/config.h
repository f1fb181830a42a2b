/* config.h - the YAML configuration (config/ackbot.yaml), loaded and validated in one pass.
 * Every error is collected into a struct diag with file:line:column and a hint. */
#ifndef ACKBOT_CONFIG_H
#define ACKBOT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum { CONF_OFF = 0, CONF_ON = 1, CONF_AUTO = 2 };

/* One "key: value" of a source entry, kept for the source's own parser. Sequences of
 * scalars are joined with '\n' and is_list is set. */
struct conf_kv {
	char *key;
	char *value;
	int   is_list;
	int   line, col;	/* of the value */
	int   used;		/* set by conf_src_* getters; unused keys are reported */
};

struct source_conf {
	char   *name;		/* unique; defaults to the type */
	char   *type;		/* "console", "webhook", ... */
	int     enabled;	/* CONF_ON / CONF_OFF / CONF_AUTO */
	size_t  max_length;	/* reply cap in graphemes; 0 = the source's default */
	int64_t cooldown_ms;	/* per-author cooldown for this source; -1 = policy.cooldown */
	int     line, col;	/* of the entry */
	struct conf_kv *kv;	/* every other key, for the source type's parser */
	size_t  nkv;
	char    asked[32][40];	/* keys the source's parser asked for (did-you-mean hints) */
	size_t  nasked;
};

struct config {
	char   *path;		/* the config file as given */
	char   *dir;		/* its directory: relative paths below are resolved against it */

	char  **handles;	/* the bot's own handles, without '@' (bot.handles / bot.name) */
	size_t  nhandles;
	char   *data_dir;	/* absolute or relative to cwd, already resolved against dir */
	int     data_dir_pos[2];	/* line, column of data_dir in the file (0, 0: the default) */
	int     sources_pos[2];	/* of sources: (0, 0: none) */
	char   *db_path;	/* data_dir/ackbot.db unless store.path */
	char   *handoff_log;	/* data_dir/handoff.jsonl unless handoff.log */
	char   *log_level;	/* "info" */

	char  **intent_paths;	/* files or directories (resolved); dirs: every *.yaml, sorted */
	size_t  nintent_paths;
	int    *intent_path_pos;	/* line, column of each in the file (0, 0: the default) */
	char   *default_lang;	/* "en" */
	uint32_t match_limit;	/* PCRE2 match limit per pattern (default 100000) */
	uint32_t depth_limit;	/* PCRE2 depth limit (default 1000) */
	int     ucp;		/* Unicode classes (\\w, \\b, \\d) in patterns (1); 0: ASCII ones */
	size_t  max_text;	/* mentions longer than this (bytes) are cut before matching (20000) */

	int     detect_lang;	/* identify the language when the platform gives none (1) */
	double  lang_confidence; /* below this the detection is not used (0.5) */
	char  **languages;	/* the languages every reply should have (check warns) */
	size_t  nlanguages;

	/* the second opinion (guard.h) */
	int     guard_on;	/* 1 */
	char   *guard_model;	/* model file (data_dir/guard.model); trained when missing */
	char  **guard_corpus;	/* corpus files or directories of *.jsonl (resolved) */
	size_t  nguard_corpus;
	double  guard_problem;	/* no thank-you at or above this P(problem) (0.5) */
	double  guard_spam;	/* no reply at or above this P(spam) (0.7) */
	double  guard_praise;	/* an unmatched mention at or above this P(praise) is thanked (0.8) */
	double  guard_praise_problem;	/* ... when P(problem) stays below this (0.1) */
	double  guard_urgent;	/* P(safety) or P(legal_privacy) at or above this: a person (0.5) */
	int     guard_spam_handoff;	/* spam also gets a ticket (0) */
	char  **allow_domains;	/* links to these (and their subdomains) are not a spam signal */
	size_t  nallow_domains;
	char   *guard_ack_intent;	/* whose reply is the neutral acknowledgement ("fallback") */
	char   *guard_praise_intent;	/* whose reply thanks praise ("thanks_praise") */
	uint64_t guard_seed;	/* training seed (1) */

	/* policy */
	int64_t cooldown_ms;	/* one auto-reply per author per cooldown (600000) */
	int     one_per_thread;	/* one auto-reply per thread (1) */
	int     reply_to_bots;	/* 0 */
	char  **blocked;	/* blocked author handles or ids */
	size_t  nblocked;
	int     handoff_unmatched; /* hand off mentions no intent matched (1) */
	int     supporter_min;	/* mentions before an author counts as a regular supporter (3) */

	/* sender */
	int64_t send_timeout_ms;   /* 10000 */
	int     send_max_attempts; /* 8, then hand off */
	int64_t backoff_min_ms;    /* 1000 */
	int64_t backoff_max_ms;    /* 300000 */
	int64_t stale_low_ms;      /* low-priority replies (thank-yous) older than this are dropped (3600000) */

	/* admin listener */
	char   *admin_host;	/* "127.0.0.1"; NULL: off */
	int     admin_port;	/* 9090 */

	int64_t drain_ms;	/* SIGTERM drain budget (4000) */

	struct source_conf *sources;
	size_t  nsources;
};

/* Loads and validates path. Returns a config, or NULL when d has errors (each one
 * positioned). Warnings may be added either way. Caller frees with config_free(). */
struct config *config_load(const char *path, struct diag *d);
void config_free(struct config *c);	/* NULL-safe */
/* As config_load, but returns what could be read even when d got errors (NULL only when
 * the file cannot be read or parsed at all), so `ackbot check` can go on to the sources. */
struct config *config_parse(const char *path, struct diag *d);

/* What `check` and `run` need beyond a valid file: at least one source, and a data_dir that
 * is (or can be made) a directory ackbot can write. Errors go to d at the key's position;
 * returns their number. */
size_t config_check_runnable(const struct config *c, struct diag *d);

/* p lexically normalised in place: "a//b/./c/../d" -> "a/b/d" (no symlinks are read). */
void config_normalize_path(char *p);

/* The auto-reply cooldown for a source: its own `cooldown`, else policy.cooldown. */
int64_t config_cooldown_ms(const struct config *c, const char *source);

/* Typed getters for a source's own keys; each marks the key used and reports a bad value
 * into d at the value's position. Missing key: *out = def (copied for strings), returns 0.
 * Return 0 ok, -1 on a reported error. */
int conf_src_str(struct source_conf *s, const char *key, const char *def, char **out,
    const struct config *c, struct diag *d);
int conf_src_int(struct source_conf *s, const char *key, long def, long min, long max,
    long *out, const struct config *c, struct diag *d);
int conf_src_bool(struct source_conf *s, const char *key, int def, int *out,
    const struct config *c, struct diag *d);
int conf_src_duration_ms(struct source_conf *s, const char *key, int64_t def, int64_t *out,
    const struct config *c, struct diag *d);
int conf_src_size(struct source_conf *s, const char *key, size_t def, size_t *out,
    const struct config *c, struct diag *d);
/* "host:port" (host defaults to 127.0.0.1 when only ":port" or "port" is given). */
int conf_src_listen(struct source_conf *s, const char *key, const char *def, char **host,
    int *port, const struct config *c, struct diag *d);
/* A secret: key_env names an environment variable, key_file a file (first line, trailing
 * newline stripped; relative to the config dir), key itself is refused (secrets never live
 * in the config file). Unset: *out = NULL, returns 0. The value is never logged or printed. */
int conf_src_secret(struct source_conf *s, const char *key, char **out,
    const struct config *c, struct diag *d);
/* A non-secret value that may also come from the environment or a file: key (inline),
 * key_env (variable name; unset -> def) or key_file. At most one of the three. */
int conf_src_str_env(struct source_conf *s, const char *key, const char *def, char **out,
    const struct config *c, struct diag *d);
/* Reports every key of s that no getter used ("unknown key 'x' for a webhook source"). */
void conf_src_unused(struct source_conf *s, const struct config *c, struct diag *d);

/* The configured corpus paths expanded: directories become their *.jsonl files, sorted.
 * New array of new strings (free with ystrings_free); NULL with *n = 0 on error. */
char **config_corpus_files(const struct config *c, size_t *n);

/* Parses "250ms", "5s", "10m", "2h", "1d" or a plain number of seconds. */
int conf_parse_duration_ms(const char *s, int64_t *out);
/* "host:port", "[::1]:8080" or ":8080" (127.0.0.1); *host is a new string. 0 or -1. */
int conf_parse_listen(const char *v, char **host, int *port);
/* Parses "65536", "64KiB", "64k", "1MiB", "1M". */
int conf_parse_size(const char *s, size_t *out);

#endif
