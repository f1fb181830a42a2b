/* app.h - the daemon: one libuv loop that owns the store, the intents, the sources, the
 * HTTP listeners, the outbound HTTP client, the durable intake and the sender. */
#ifndef ACKBOT_APP_H
#define ACKBOT_APP_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "mention.h"
#include "source.h"

struct app;
struct http_server;
struct httpc;

enum { INTAKE_ACCEPTED = 0, INTAKE_DUPLICATE = 1, INTAKE_FAILED = 2 };

/* Called on the loop after the mention's commit (or its failure). */
typedef void app_intake_fn(void *arg, int result, const struct mention *m);

/* Runs the daemon on config_path until SIGTERM/SIGINT. Returns the process exit code. */
int app_run(const char *config_path);

/* Queues m for the next group commit; takes ownership of m's fields (m is zeroed).
 * cb runs once, after COMMIT: only then may the source acknowledge the platform.
 * Returns 0, or ACK_ETEMP while draining / ACK_ENOMEM (cb is then not called). */
int app_intake(struct app *a, struct mention *m, app_intake_fn *cb, void *arg);

/* A source reports how sending reply row ended. */
void app_reply_done(struct app *a, int64_t row, const struct send_outcome *o);

uv_loop_t *app_loop(struct app *a);
struct http_server *app_http(struct app *a);
struct httpc *app_httpc(struct app *a);
const struct config *app_config(struct app *a);
/* Asks the daemon to stop, as SIGTERM does (the console at end of input does not). */
void app_stop(struct app *a);
/* A source found at start-up that it can never work (a rejected token): log why and stop
 * with exit code 3. */
void app_fail(struct app *a, const char *source, const char *why);
/* The store, for a source's own state (its cursor); use it only between loop callbacks. */
struct store *app_store(struct app *a);

#endif
