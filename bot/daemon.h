/* daemon.h - `ackbot run`: one libuv loop that runs the pipeline's stages
 * (sources -> inbox -> pipeline -> outbox -> sender, the handoff log and the admin
 * listener beside them) until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
#ifndef ACKBOT_DAEMON_H
#define ACKBOT_DAEMON_H

/* Runs the daemon on config_path. Returns the process exit code: 0 after a clean stop,
 * 1 when the configuration has errors, 3 when it could not start (or a source found at
 * start-up that it can never work). */
int daemon_run(const char *config_path);

#endif
