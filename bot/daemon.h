/* daemon.h - `ackbot run`: one libuv loop that runs the pipeline's stages
 * (sources -> inbox -> pipeline -> outbox -> sender, the handoff log and the admin
 * listener beside them) until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
#ifndef ACKBOT_DAEMON_H
#define ACKBOT_DAEMON_H

struct daemon_opts {
	const char *config_path;
	const char *log_level;	/* NULL: the configuration's log_level (also after a reload) */
	const char *log_file;	/* NULL: stderr; reopened on SIGHUP */
};

/* Runs the daemon. Returns the process exit code: 0 after a clean stop, 1 when the
 * configuration has errors, 3 when it could not start (or a source found at start-up that
 * it can never work). */
int daemon_run(const struct daemon_opts *o);

#endif
