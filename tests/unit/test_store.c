/* test_store.c - the SQLite backend: inbox uniqueness, outbox claims (a lease apart from
 * the next attempt, completion only under the live claim), handoffs, tickets, and the
 * handoff log's exactly-once append (long lines included). */
#include <signal.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "handoff.h"
#include "handoff_log.h"
#include "store.h"
#include "syncer.h"
#include "unit.h"

static char dir[64];

static struct store *
fresh(const char *name)
{
	char path[128];
	struct store *st = NULL;
	struct ack_err err;

	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	if (store_open(&st, path, 0, &err) != 0) {
		printf("open: %s\n", err.msg);
		return NULL;
	}
	return st;
}

static void
mk(struct mention *m, const char *id, const char *author)
{
	memset(m, 0, sizeof(*m));
	m->source = strdup("webhook");
	m->platform_id = strdup(id);
	m->text = strdup("hello");
	m->author_id = strdup(author);
	m->author_handle = strdup(author);
	m->received_ms = 1000;
}

TEST(inbox_unique)
{
	struct store *st = fresh("inbox");
	struct mention m, *v;
	size_t n;
	int dup;

	CHECK(st != NULL);
	mk(&m, "m-1", "ana");
	CHECK_INT(st->ops->mention_put(st, &m, &dup, NULL), 0);
	CHECK_INT(dup, 0);
	CHECK(m.row > 0);
	CHECK_INT(st->ops->mention_put(st, &m, &dup, NULL), 0);
	CHECK_INT(dup, 1);
	free(m.source);
	m.source = strdup("console");	/* unique per source */
	CHECK_INT(st->ops->mention_put(st, &m, &dup, NULL), 0);
	CHECK_INT(dup, 0);
	mention_clear(&m);
	CHECK_INT(st->ops->mention_pending(st, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 2);
	CHECK_STR(v[0].platform_id, "m-1");
	CHECK_STR(v[0].author_handle, "ana");
	struct decision_rec d = { "thanks", "reply", "intent", "{}", "en" };
	CHECK_INT(st->ops->mention_finish(st, v[0].row, &d, NULL), 0);
	mention_free_array(v, n);
	CHECK_INT(st->ops->mention_pending(st, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	mention_free_array(v, n);
	store_close(st);
}

/* Deferred sync: commits land in the WAL (visible to a second connection, as after a
 * crash of the process), and sync reaches the WAL's file. */
TEST(group_durability)
{
	struct store *st = fresh("sync"), *other = NULL;
	struct mention m;
	char path[128];
	int dup;
	int64_t n = 0;

	CHECK(st != NULL);
	CHECK_INT(st->ops->sync(st, NULL), 0);	/* nothing written yet */
	CHECK_INT(st->ops->defer_sync(st, 1, NULL), 0);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s-%d", i);
		mk(&m, id, "ana");
		CHECK_INT(st->ops->begin(st, NULL), 0);
		CHECK_INT(st->ops->mention_put(st, &m, &dup, NULL), 0);
		CHECK_INT(st->ops->commit(st, NULL), 0);
		mention_clear(&m);
	}
	CHECK_INT(st->ops->sync(st, NULL), 0);
	CHECK_INT(st->ops->maintain(st, NULL), 0);	/* a checkpoint on its own connection */
	snprintf(path, sizeof(path), "%s/sync.db", dir);
	CHECK_INT(store_open(&other, path, 1, NULL), 0);
	struct mention *v;
	size_t k;
	CHECK_INT(other->ops->mention_pending(other, 10, &v, &k, NULL), 0);
	n = (int64_t)k;
	mention_free_array(v, k);
	store_close(other);
	CHECK_INT(n, 3);
	CHECK_INT(st->ops->defer_sync(st, 0, NULL), 0);
	store_close(st);
}

TEST(outbox_lease_and_once)
{
	struct store *st = fresh("outbox");
	struct mention m;
	struct reply r, *v;
	size_t n;
	int dup, held = 0, matched = 0;
	int64_t next, c1, c2, row;

	CHECK(st != NULL);
	mk(&m, "m-1", "ana");
	st->ops->mention_put(st, &m, &dup, NULL);
	memset(&r, 0, sizeof(r));
	r.mention_row = m.row;
	r.source = m.source;
	r.idem_key = (char *)"ack_1";
	r.platform_id = m.platform_id;
	r.author_id = m.author_id;
	r.author_handle = m.author_handle;
	r.text = (char *)"thanks!";
	r.priority = 4;
	r.next_ms = 5000;
	r.created_ms = 5000;
	CHECK_INT(st->ops->reply_put(st, &r, NULL), 0);
	/* a second reply to the same mention is refused by the schema */
	r.idem_key = (char *)"ack_2";
	CHECK(st->ops->reply_put(st, &r, NULL) != 0);
	/* not due before its next attempt */
	CHECK_INT(st->ops->reply_claim(st, "a", 4999, 5999, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(v);
	CHECK_INT(st->ops->reply_claim(st, "a", 5000, 6000, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	CHECK_STR(v[0].idem_key, "ack_1");
	c1 = v[0].claim;
	row = v[0].row;
	reply_free_array(v, n);
	/* claimed: nobody claims it again while the lease lives, however long the post */
	CHECK_INT(st->ops->reply_claim(st, "b", 5500, 6500, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(v);
	CHECK_INT(st->ops->reply_renew(st, row, c1, 9000, &held, NULL), 0);
	CHECK_INT(held, 1);
	CHECK_INT(st->ops->reply_claim(st, "b", 8000, 9000, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(v);
	/* in flight (leased): not what the sender waits for; once the lease ran out, due */
	CHECK_INT(st->ops->reply_next_due(st, 8000, &next, NULL), 0);
	CHECK_INT(next, 0);
	CHECK_INT(st->ops->reply_next_due(st, 9000, &next, NULL), 0);
	CHECK_INT(next, 5000);
	/* the lease lapses (a dead owner): another claim takes it, with a newer number */
	CHECK_INT(st->ops->reply_claim(st, "b", 9000, 10000, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	c2 = v[0].claim;
	CHECK(c2 > c1);
	reply_free_array(v, n);
	/* the newer claim records the send; the old one's late failure changes nothing */
	CHECK_INT(st->ops->reply_complete(st, row, c2, REPLY_SENT, 1, 0, NULL, &matched, NULL), 0);
	CHECK_INT(matched, 1);
	CHECK_INT(st->ops->reply_complete(st, row, c1, REPLY_PENDING, 1, 9500, "HTTP 500", &matched,
	    NULL), 0);
	CHECK_INT(matched, 0);
	CHECK_INT(st->ops->reply_renew(st, row, c2, 20000, &held, NULL), 0);
	CHECK_INT(held, 0);	/* sent: nothing left to hold */
	CHECK_INT(st->ops->reply_claim(st, "a", 99999, 100999, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(v);
	CHECK_INT(st->ops->reply_next_due(st, 99999, &next, NULL), 0);
	CHECK_INT(next, 0);
	CHECK_INT(st->ops->author_last_reply(st, "webhook", "ana", &next, NULL), 0);
	CHECK_INT(next, 5000);
	mention_clear(&m);
	store_close(st);
}

/* A restart (release of dead leases) keeps every reply's next attempt and every hold. */
TEST(outbox_waits_survive_restart)
{
	struct store *st = fresh("waits");
	struct mention m1, m2;
	struct reply r, *v;
	size_t n;
	int dup, matched = 0;
	int64_t next;

	CHECK(st != NULL);
	mk(&m1, "w-1", "ana");
	mk(&m2, "w-2", "bo");
	st->ops->mention_put(st, &m1, &dup, NULL);
	st->ops->mention_put(st, &m2, &dup, NULL);
	memset(&r, 0, sizeof(r));
	r.source = m1.source;
	r.author_id = m1.author_id;
	r.author_handle = m1.author_handle;
	r.text = (char *)"hi";
	r.priority = 3;
	r.next_ms = 1000;
	r.mention_row = m1.row;
	r.idem_key = (char *)"ack_w1";
	r.platform_id = m1.platform_id;
	CHECK_INT(st->ops->reply_put(st, &r, NULL), 0);
	r.mention_row = m2.row;
	r.idem_key = (char *)"ack_w2";
	r.platform_id = m2.platform_id;
	CHECK_INT(st->ops->reply_put(st, &r, NULL), 0);
	CHECK_INT(st->ops->reply_claim(st, "a", 1000, 61000, 1, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	/* a 429: this reply backs off 20 s and the whole source is held as long */
	CHECK_INT(st->ops->reply_complete(st, v[0].row, v[0].claim, REPLY_PENDING, 1, 21000,
	    "HTTP 429", &matched, NULL), 0);
	CHECK_INT(matched, 1);
	CHECK_INT(st->ops->hold_set(st, "webhook", 21000, "HTTP 429", NULL), 0);
	CHECK_INT(st->ops->hold_set(st, "webhook", 15000, "earlier", NULL), 0);	/* never earlier */
	reply_free_array(v, n);
	/* the daemon dies; the next one releases dead claims */
	CHECK_INT(st->ops->reply_release_leases(st, NULL, NULL), 0);
	CHECK_INT(st->ops->reply_claim(st, "b", 2000, 62000, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 0);	/* both wait: one for its backoff, the other for the hold */
	free(v);
	CHECK_INT(st->ops->reply_next_due(st, 2000, &next, NULL), 0);
	CHECK_INT(next, 21000);
	CHECK_INT(st->ops->reply_claim(st, "b", 21000, 81000, 10, &v, &n, NULL), 0);
	CHECK_INT(n, 2);
	reply_free_array(v, n);
	mention_clear(&m1);
	mention_clear(&m2);
	store_close(st);
}

TEST(handoffs)
{
	struct store *st = fresh("handoffs");
	struct mention m;
	struct handoff h, g, *v;
	size_t n;
	int dup;
	int64_t cnt;

	CHECK(st != NULL);
	mk(&m, "m-9", "bob");
	st->ops->mention_put(st, &m, &dup, NULL);
	memset(&h, 0, sizeof(h));
	h.mention_row = m.row;
	h.reason = (char *)"intent";
	h.intent = (char *)"complaint";
	h.queue = (char *)"support";
	h.priority = 2;
	h.created_ms = 1700000000000;
	CHECK_INT(st->ops->handoff_put(st, &h, NULL), 0);
	CHECK(h.ticket != NULL && strncmp(h.ticket, "T-", 2) == 0 && strlen(h.ticket) == 8);
	/* one handoff per mention */
	CHECK(st->ops->handoff_put(st, &h, NULL) != 0);
	CHECK_INT(st->ops->handoff_get(st, h.ticket, &g, NULL), 0);
	CHECK_STR(g.author_handle, "bob");
	CHECK_STR(g.platform_id, "m-9");
	CHECK_INT(g.status, HANDOFF_OPEN);
	handoff_clear(&g);
	CHECK_INT(st->ops->handoff_count(st, HANDOFF_OPEN, &cnt, NULL), 0);
	CHECK_INT(cnt, 1);
	CHECK_INT(st->ops->handoff_set_status(st, h.ticket, HANDOFF_RESOLVED, "done", 5, NULL), 0);
	CHECK_INT(st->ops->handoff_list(st, HANDOFF_OPEN, 100, &v, &n, NULL), 0);
	CHECK_INT(n, 0);
	free(v);
	CHECK_INT(st->ops->handoff_list(st, HANDOFF_RESOLVED, 100, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	CHECK_STR(v[0].note, "done");
	handoff_free_array(v, n);
	struct ack_err err;
	CHECK_INT(st->ops->handoff_set_status(st, "T-NOPE00", HANDOFF_RESOLVED, NULL, 5, &err), ACK_ENOENT);
	free(h.ticket);
	mention_clear(&m);
	store_close(st);
}

TEST(tickets_unique)
{
	char a[16], b[16];
	/* a bijection: no two rows in the first million share a ticket (spot-check neighbours) */
	for (int64_t r = 1; r < 1000000; r += 7) {
		store_ticket_for_row(r, a);
		store_ticket_for_row(r + 1, b);
		CHECK(strcmp(a, b) != 0);
		CHECK_INT(strlen(a), 8);
	}
	store_ticket_for_row(((int64_t)1 << 30) + 5, a);
	store_ticket_for_row(5, b);
	CHECK(strcmp(a, b) != 0);
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (f == NULL)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Lines that are not one whole JSON object with a ticket, and a missing last newline. */
static int
bad_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int bad = 0;

	if (f == NULL)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loadb(line, (size_t)len, 0, NULL);
		if (line[len - 1] != '\n' || !json_is_string(json_object_get(o, "ticket")))
			bad++;
		json_decref(o);
	}
	free(line);
	fclose(f);
	return bad;
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A mention and a handoff for it, as the pipeline would store them. */
static void
mk_handoff(struct store *st, struct mention *m, struct handoff *h, const char *id)
{
	int dup;

	mk(m, id, "cy");
	st->ops->mention_put(st, m, &dup, NULL);
	memset(h, 0, sizeof(*h));
	h->mention_row = m->row;
	h->reason = (char *)"intent";
	h->queue = (char *)"support";
	h->priority = 3;
}

static void nop_wake(void *arg) { (void)arg; }

/* Runs the loop until the log has written, synced and marked everything. */
static void
log_until_idle(uv_loop_t *loop, struct handoff_log *l)
{
	for (int i = 0; i < 2000; i++) {
		int rc = handoff_log_flush(l, NULL);
		if (rc < 0)
			break;
		if (rc == 0 && handoff_log_idle(l))
			return;
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	printf("  handoff log did not become idle\n");
}

TEST(handoff_log_exactly_once)
{
	struct store *st = fresh("hlog");
	struct handoff_log *l;
	struct syncer *sy;
	uv_loop_t loop;
	struct mention m, m2;
	struct handoff h, h2, *hv;
	char path[128], *big;
	size_t w;
	FILE *f;

	CHECK(st != NULL);
	snprintf(path, sizeof(path), "%s/handoff.jsonl", dir);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "m-%d", i);
		mk_handoff(st, &m, &h, id);
		st->ops->handoff_put(st, &h, NULL);
		if (i == 0) {
			/* as if the daemon died after writing this line but before marking it,
			 * and a later line was cut short */
			f = fopen(path, "w");
			fprintf(f, "{\"ticket\":\"%s\",\"x\":1}\n{\"ticket\":\"T-CUT\",\"x\":\"", h.ticket);
			for (int k = 0; k < 9000; k++)	/* longer than the tail scan's buffer */
				fputc('a', f);
			fclose(f);
		}
		free(h.ticket);
		mention_clear(&m);
	}
	uv_loop_init(&loop);
	CHECK_INT(syncer_open(&sy, &loop, NULL), 0);
	CHECK_INT(handoff_log_open(&l, path, st, sy, nop_wake, NULL, NULL), 0);
	log_until_idle(&loop, l);
	CHECK_INT(count_lines(path), 3);	/* the old line and two new: the cut line is gone */
	CHECK_INT(bad_lines(path), 0);
	CHECK_INT(st->ops->handoff_unlogged(st, 10, &hv, &w, NULL), 0);
	CHECK_INT(w, 0);
	free(hv);
	handoff_log_close(l);
	/* a line longer than any buffer, written before a crash and not marked: found, once */
	mk_handoff(st, &m, &h, "m-long");
	h.captures = big = calloc(1, 20000);
	memcpy(big, "{\"x\":\"", 6);
	memset(big + 6, 'a', 19000);
	memcpy(big + 19006, "\"}", 2);
	CHECK_INT(st->ops->handoff_put(st, &h, NULL), 0);
	CHECK_INT(st->ops->handoff_unlogged(st, 10, &hv, &w, NULL), 0);
	CHECK_INT(w, 1);
	{
		json_t *o = handoff_to_json(&hv[0]);
		char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		CHECK(strlen(line) > 16384);
		f = fopen(path, "a");
		fprintf(f, "%s\n", line);
		fclose(f);
		free(line);
		json_decref(o);
	}
	handoff_free_array(hv, w);
	CHECK_INT(handoff_log_open(&l, path, st, sy, nop_wake, NULL, NULL), 0);
	log_until_idle(&loop, l);
	CHECK_INT(count_lines(path), 4);	/* found whole, marked, not written twice */
	/* the disk fills in the middle of a line: no torn line is left, not even for a while,
	 * and the line is written whole once there is room again */
	mk_handoff(st, &m2, &h2, "m-full");
	CHECK_INT(st->ops->handoff_put(st, &h2, NULL), 0);
	{
		struct rlimit old_lim, lim;
		off_t before = file_size(path);

		signal(SIGXFSZ, SIG_IGN);
		getrlimit(RLIMIT_FSIZE, &old_lim);
		lim = old_lim;
		lim.rlim_cur = (rlim_t)before + 40;	/* room for part of the line only */
		CHECK_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
		CHECK(handoff_log_flush(l, NULL) < 0);
		setrlimit(RLIMIT_FSIZE, &old_lim);
		CHECK_INT(file_size(path), before);
		CHECK_INT(bad_lines(path), 0);
	}
	log_until_idle(&loop, l);
	CHECK_INT(count_lines(path), 5);
	CHECK_INT(bad_lines(path), 0);
	CHECK_INT(st->ops->handoff_unlogged(st, 10, &hv, &w, NULL), 0);
	CHECK_INT(w, 0);
	free(hv);
	free(h2.ticket);
	mention_clear(&m2);
	handoff_log_close(l);
	free(big);
	free(h.ticket);
	mention_clear(&m);
	syncer_close(sy);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	store_close(st);
}

TEST(cursors_and_migration)
{
	struct store *st = fresh("cursor");
	char *v = NULL;
	char path[160];
	sqlite3 *db;

	CHECK(st != NULL);
	CHECK_INT(st->ops->cursor_get(st, "mastodon", &v, NULL), 0);
	CHECK(v == NULL);
	CHECK_INT(st->ops->cursor_set(st, "mastodon", "109999999999999999", NULL), 0);
	CHECK_INT(st->ops->cursor_set(st, "mastodon", "110000000000000001", NULL), 0);
	CHECK_INT(st->ops->cursor_set(st, "mastodon", "99999999999999999", NULL), 0);	/* older */
	CHECK_INT(st->ops->cursor_get(st, "mastodon", &v, NULL), 0);
	CHECK_STR(v, "110000000000000001");
	free(v);
	store_close(st);
	/* a version-2 store (leases in next_ms, no holds) is upgraded in place, its rows kept */
	st = fresh("v2");
	CHECK(st != NULL);
	store_close(st);
	snprintf(path, sizeof(path), "%s/v2.db", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "DROP TABLE holds; DROP INDEX replies_next; ALTER TABLE replies DROP COLUMN owner;"
	    "ALTER TABLE replies DROP COLUMN lease_until; ALTER TABLE replies DROP COLUMN claim;"
	    "ALTER TABLE mentions DROP COLUMN author_since_ms;"
	    "ALTER TABLE mentions DROP COLUMN author_followers;"
	    "ALTER TABLE handoffs DROP COLUMN label; ALTER TABLE handoffs DROP COLUMN label_ms;"
	    "INSERT INTO cursors (source, value, updated_ms) VALUES ('kept', '7', 0);"
	    "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_open(&st, path, 0, NULL), 0);
	CHECK_INT(st->ops->cursor_get(st, "kept", &v, NULL), 0);
	CHECK_STR(v, "7");
	free(v);
	CHECK_INT(st->ops->hold_set(st, "m", 1, "x", NULL), 0);
	store_close(st);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM pragma_table_info('replies') WHERE name ="
	    " 'lease_until'), (SELECT user_version FROM pragma_user_version)", -1, &q, NULL);
	CHECK_INT(sqlite3_step(q), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(q, 0), 1);
	CHECK_INT(sqlite3_column_int(q, 1), 4);	/* walked every version up to now */
	sqlite3_finalize(q);
	sqlite3_close(db);
}

TEST(urgent_replies_first)
{
	struct store *st = fresh("prio");
	struct mention m1, m2;
	struct reply r, *v;
	size_t n;
	int dup;

	CHECK(st != NULL);
	mk(&m1, "m-thanks", "ana");
	mk(&m2, "m-fire", "bob");
	st->ops->mention_put(st, &m1, &dup, NULL);
	st->ops->mention_put(st, &m2, &dup, NULL);
	memset(&r, 0, sizeof(r));
	r.source = m1.source;
	r.author_id = m1.author_id;
	r.author_handle = m1.author_handle;
	r.text = (char *)"thanks!";
	r.mention_row = m1.row;		/* queued first, low priority */
	r.idem_key = (char *)"ack_t";
	r.platform_id = m1.platform_id;
	r.priority = 4;
	CHECK_INT(st->ops->reply_put(st, &r, NULL), 0);
	r.mention_row = m2.row;		/* queued second, urgent */
	r.idem_key = (char *)"ack_f";
	r.platform_id = m2.platform_id;
	r.priority = 1;
	CHECK_INT(st->ops->reply_put(st, &r, NULL), 0);
	CHECK_INT(st->ops->reply_claim(st, "a", 10, 1010, 1, &v, &n, NULL), 0);
	CHECK_INT(n, 1);
	CHECK_STR(v[0].platform_id, "m-fire");
	reply_free_array(v, n);
	mention_clear(&m1);
	mention_clear(&m2);
	store_close(st);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ackbot-test-store-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	RUN(inbox_unique);
	RUN(group_durability);
	RUN(outbox_lease_and_once);
	RUN(outbox_waits_survive_restart);
	RUN(handoffs);
	RUN(tickets_unique);
	RUN(handoff_log_exactly_once);
	RUN(cursors_and_migration);
	RUN(urgent_replies_first);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", dir);
	}
	UNIT_DONE("test_store");
}
