/* cli.h - the command line. */
#ifndef ACKBOT_CLI_H
#define ACKBOT_CLI_H

#define ACKBOT_VERSION "0.1.0"

int cli_main(int argc, char **argv);

/* For the command files (cli*.c, receiver.c). */
#define EXIT_USAGE 2
struct config;
struct store;
const char *cli_default_config(void);	/* $ACKBOT_CONFIG, else config/ackbot.yaml */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -c/--config, --help and flags ("name" boolean, "name=" with a value; vals[i] NULL when
 * absent); -1 to go on, else an exit code. */
int cli_parse_opts(int argc, char **argv, const char *usage, const char *const *flags,
    const char **vals, const char **config, int *first_arg);
/* The configuration and its store. mode 0: read-write, 1: read-only; 2 and 3: the same,
 * but a store not made yet returns 2 with *c loaded, without a word. 0, or 1 after
 * printing why. */
int cli_open_store(const char *config, int mode, struct config **c, struct store **st);

int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_receiver(int argc, char **argv);

#endif
