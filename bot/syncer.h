/* syncer.h - makes files durable off the event loop: one worker thread runs each target's
 * sync function (a WAL fdatasync, the handoff log's) when asked, and reports on the loop.
 * The loop never waits for an fsync. */
#ifndef ACKBOT_SYNCER_H
#define ACKBOT_SYNCER_H

#include <stdint.h>
#include <uv.h>

#include "err.h"

struct syncer;

/* Runs on the worker thread; makes everything written before it started durable. */
typedef int syncer_sync_fn(void *arg, struct ack_err *err);
/* Runs on the loop after a round: everything requested up to generation gen is covered
 * (rc 0) or the round failed (rc and err). */
typedef void syncer_done_fn(void *arg, uint64_t gen, int rc, const struct ack_err *err);

int  syncer_open(struct syncer **out, uv_loop_t *loop, struct ack_err *err);
/* Registers a target; returns its slot (>= 0) or -1 when all slots are taken. */
int  syncer_add(struct syncer *s, syncer_sync_fn *fn, void *arg, syncer_done_fn *done,
    void *done_arg);
/* Asks for a round of slot; returns the generation a later done() with gen >= it covers.
 * Requests that arrive while a round runs are served by the next round, together. */
uint64_t syncer_request(struct syncer *s, int slot);
/* While paused, no new round starts (one that runs goes on): the loop pauses it for the
 * transactions of one iteration, so that one round covers them all. */
void syncer_pause(struct syncer *s, int on);
/* The newest generation of slot a round has started on (it covers every request up to it). */
uint64_t syncer_started_gen(const struct syncer *s, int slot);
/* The generation the next syncer_request(slot) will return: a round of it starts after
 * now, so it covers what was written before. */
uint64_t syncer_next_gen(const struct syncer *s, int slot);
/* 1 while a round of slot is asked for, running, or not yet reported. */
int  syncer_slot_busy(const struct syncer *s, int slot);
/* 1 while a round is asked for or running. */
int  syncer_busy(const struct syncer *s);
/* Waits for the running round, stops the thread and closes the loop handle (the struct is
 * freed once the loop has run again). NULL-safe. */
void syncer_close(struct syncer *s);

#endif
