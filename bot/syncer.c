/* syncer.c - one worker thread for fsyncs; generations per target; uv_async back to the loop. */
#include "syncer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SYNCER_SLOTS 4

struct slot {
	syncer_sync_fn *fn;
	void *arg;
	syncer_done_fn *done;
	void *done_arg;
	uint64_t requested;	/* generations asked for (loop writes, under the lock) */
	uint64_t started;	/* the newest generation a round has started on */
	uint64_t completed;	/* ... and finished */
	uint64_t reported;	/* ... and told the loop about (loop only) */
	int rc;
	struct ack_err err;
	uint64_t failed;	/* the newest failed generation not yet reported, 0 if none */
	struct ack_err fail_err;
};

struct syncer {
	uv_loop_t *loop;
	uv_async_t async;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot slot[SYNCER_SLOTS];
	int nslots;
	int running;		/* a round is in progress */
	int paused;		/* the loop is committing: rounds start when it is done */
	int quit;
	int started_thread;
};

static void *
worker(void *arg)
{
	struct syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		int did = 0;
		for (int i = 0; i < s->nslots; i++) {
			struct slot *sl = &s->slot[i];
			uint64_t g;
			struct ack_err err;
			int rc;

			if (sl->requested == sl->started || (s->paused && !s->quit))
				continue;
			g = sl->started = sl->requested;
			s->running = 1;
			pthread_mutex_unlock(&s->lock);
			ack_err_clear(&err);
			rc = sl->fn(sl->arg, &err);
			pthread_mutex_lock(&s->lock);
			s->running = 0;
			sl->completed = g;
			sl->rc = rc;
			sl->err = err;
			if (rc != 0) {	/* a later good round must not hide it */
				sl->failed = g;
				sl->fail_err = err;
			}
			did = 1;
		}
		if (did) {
			uv_async_send(&s->async);
			continue;
		}
		if (s->quit)
			break;
		pthread_cond_wait(&s->cond, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void
async_cb(uv_async_t *a)
{
	struct syncer *s = a->data;

	for (int i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slot[i];
		uint64_t g, failed;
		int rc;
		struct ack_err err, ferr;

		pthread_mutex_lock(&s->lock);
		g = sl->completed;
		rc = sl->rc;
		err = sl->err;
		failed = sl->failed;
		ferr = sl->fail_err;
		sl->failed = 0;
		pthread_mutex_unlock(&s->lock);
		if (failed > sl->reported) {
			/* everything up to the failed round failed, even if a later one went well
			 * (after a failed fsync the kernel may have dropped those pages) */
			sl->reported = failed;
			sl->done(sl->done_arg, failed, ferr.code ? ferr.code : ACK_EIO, &ferr);
		}
		if (g == sl->reported)
			continue;
		sl->reported = g;
		sl->done(sl->done_arg, g, rc, &err);
	}
}

static void
closed_cb(uv_handle_t *h)
{
	struct syncer *s = h->data;

	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

int
syncer_open(struct syncer **out, uv_loop_t *loop, struct ack_err *err)
{
	struct syncer *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	s->loop = loop;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (uv_async_init(loop, &s->async, async_cb) != 0) {
		free(s);
		return ack_fail(err, ACK_EIO, "syncer: cannot create its loop handle");
	}
	s->async.data = s;
	if (pthread_create(&s->thread, NULL, worker, s) != 0) {
		uv_close((uv_handle_t *)&s->async, closed_cb);	/* frees s */
		return ack_fail(err, ACK_EIO, "syncer: cannot start its thread");
	}
	s->started_thread = 1;
	*out = s;
	return 0;
}

int
syncer_add(struct syncer *s, syncer_sync_fn *fn, void *arg, syncer_done_fn *done, void *done_arg)
{
	int i;

	pthread_mutex_lock(&s->lock);
	i = s->nslots < SYNCER_SLOTS ? s->nslots++ : -1;
	if (i >= 0) {
		s->slot[i].fn = fn;
		s->slot[i].arg = arg;
		s->slot[i].done = done;
		s->slot[i].done_arg = done_arg;
	}
	pthread_mutex_unlock(&s->lock);
	return i;
}

uint64_t
syncer_request(struct syncer *s, int slot)
{
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = ++s->slot[slot].requested;
	if (!s->paused)		/* else syncer_pause(s, 0) wakes it */
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return g;
}

void
syncer_pause(struct syncer *s, int on)
{
	pthread_mutex_lock(&s->lock);
	s->paused = on;
	for (int i = 0; !on && i < s->nslots; i++)
		if (s->slot[i].requested != s->slot[i].started) {
			pthread_cond_signal(&s->cond);	/* only when there is a round to run */
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

uint64_t
syncer_started_gen(const struct syncer *sc, int slot)
{
	struct syncer *s = (struct syncer *)sc;
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->slot[slot].started;
	pthread_mutex_unlock(&s->lock);
	return g;
}

uint64_t
syncer_next_gen(const struct syncer *sc, int slot)
{
	struct syncer *s = (struct syncer *)sc;
	uint64_t g;

	pthread_mutex_lock(&s->lock);
	g = s->slot[slot].requested + 1;
	pthread_mutex_unlock(&s->lock);
	return g;
}

int
syncer_slot_busy(const struct syncer *sc, int slot)
{
	struct syncer *s = (struct syncer *)sc;
	int busy;

	pthread_mutex_lock(&s->lock);
	busy = s->slot[slot].requested != s->slot[slot].reported;
	pthread_mutex_unlock(&s->lock);
	return busy;
}

int
syncer_busy(const struct syncer *sc)
{
	struct syncer *s = (struct syncer *)sc;
	int busy = 0;

	pthread_mutex_lock(&s->lock);
	busy = s->running;
	for (int i = 0; i < s->nslots; i++)
		if (s->slot[i].requested != s->slot[i].reported)
			busy = 1;
	pthread_mutex_unlock(&s->lock);
	return busy;
}

void
syncer_close(struct syncer *s)
{
	if (s == NULL)
		return;
	if (s->started_thread) {
		pthread_mutex_lock(&s->lock);
		s->quit = 1;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started_thread = 0;
	}
	uv_close((uv_handle_t *)&s->async, closed_cb);
}
