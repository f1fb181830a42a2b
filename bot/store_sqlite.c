/* store_sqlite.c - the SQLite backend: WAL, synchronous=FULL, prepared statements, one
 * writer. A COMMIT here is what lets a source acknowledge a mention. */
#include "store.h"
#include "train.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 4

enum {
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
	Q_MENTION_PUT, Q_MENTION_PENDING, Q_MENTION_FINISH,
	Q_AUTHOR_MENTIONS, Q_AUTHOR_LAST_REPLY, Q_THREAD_REPLIED,
	Q_REPLY_PUT, Q_REPLY_CLAIM, Q_REPLY_RENEW, Q_REPLY_NEXT_DUE, Q_REPLY_COMPLETE, Q_REPLY_PENDING,
	Q_REPLY_RELEASE, Q_REPLY_RELEASE_ALL, Q_HOLD_SET,
	Q_HANDOFF_PUT, Q_HANDOFF_TICKET, Q_HANDOFF_SET_REPLY, Q_HANDOFF_BY_MENTION,
	Q_HANDOFF_LIST, Q_HANDOFF_LIST_ALL, Q_HANDOFF_GET, Q_HANDOFF_SET_STATUS,
	Q_HANDOFF_UNLOGGED, Q_HANDOFF_MARK_LOGGED, Q_HANDOFF_COUNT, Q_HANDOFF_COUNT_ALL,
	Q_CURSOR_GET, Q_CURSOR_SET, Q_HANDOFF_SET_LABEL, Q_LABEL_LIST, Q_HANDOFF_PURGE,
	Q_MAX
};

#define HANDOFF_COLS \
	"h.row, h.ticket, h.mention_row, h.reason, h.intent, h.queue, h.priority, h.status, " \
	"h.reply, h.captures, h.created_ms, h.resolved_ms, h.note, h.logged, " \
	"m.source, m.platform_id, m.author_id, m.author_handle, m.author_name, m.text, m.url, " \
	"m.extra " \
	"FROM handoffs h JOIN mentions m ON m.row = h.mention_row "

static const char *const sql_text[Q_MAX] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_MENTION_PUT] =
	    "INSERT INTO mentions (source, platform_id, text, author_id, author_handle, author_name,"
	    " author_bot, url, lang, thread, created_at, extra, received_ms, author_since_ms,"
	    " author_followers)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (source, platform_id) DO NOTHING",
	[Q_MENTION_PENDING] =
	    "SELECT row, source, platform_id, text, author_id, author_handle, author_name,"
	    " author_bot, url, lang, thread, created_at, extra, received_ms, author_since_ms,"
	    " author_followers"
	    " FROM mentions WHERE state = 0 ORDER BY row LIMIT ?",
	[Q_MENTION_FINISH] =
	    "UPDATE mentions SET state = 1, intent = ?, action = ?, reason = ?, captures = ?,"
	    " reply_lang = ?, done_ms = ? WHERE row = ?",
	[Q_AUTHOR_MENTIONS] =
	    "SELECT count(*) FROM mentions WHERE source = ? AND author_id = ?",
	[Q_AUTHOR_LAST_REPLY] =
	    "SELECT max(created_ms) FROM replies WHERE source = ? AND author_id = ? AND state != 3",
	[Q_THREAD_REPLIED] =
	    "SELECT 1 FROM replies WHERE source = ? AND thread = ? AND state != 3 LIMIT 1",
	[Q_REPLY_PUT] =
	    "INSERT INTO replies (mention_row, source, idem_key, platform_id, author_id,"
	    " author_handle, thread, text, intent, ticket, extra, priority, state, attempts,"
	    " next_ms, created_ms, mention_received_ms)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,0,?,?,?)",
	[Q_REPLY_CLAIM] =
	    "UPDATE replies SET owner = ?1, lease_until = ?2, claim = claim + 1 WHERE row IN"
	    " (SELECT row FROM replies r WHERE state = 0 AND next_ms <= ?3 AND lease_until <= ?3"
	    "  AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.source = r.source AND h.until_ms > ?3)"
	    "  ORDER BY priority, row LIMIT ?4)"
	    " RETURNING row, mention_row, source, idem_key, platform_id, author_id, author_handle,"
	    " thread, text, intent, ticket, extra, priority, state, attempts, next_ms, created_ms,"
	    " mention_received_ms, last_error, claim",
	[Q_REPLY_RENEW] =
	    "UPDATE replies SET lease_until = ? WHERE row = ? AND claim = ? AND state = 0",
	/* the earliest attempt of a row that is neither leased (in flight: its outcome wakes
	 * the sender anyway) nor held, and the earliest end of a hold that keeps rows back:
	 * an index walk in next_ms order, not a scan of the whole outbox */
	[Q_REPLY_NEXT_DUE] =
	    "SELECT coalesce((SELECT next_ms FROM replies r WHERE state = 0 AND lease_until <= ?1"
	    "  AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.source = r.source AND h.until_ms > ?1)"
	    "  ORDER BY next_ms LIMIT 1), 0),"
	    " coalesce((SELECT min(until_ms) FROM holds h WHERE until_ms > ?1 AND EXISTS"
	    "  (SELECT 1 FROM replies r WHERE r.source = h.source AND r.state = 0)), 0)",
	[Q_REPLY_COMPLETE] =
	    "UPDATE replies SET state = ?1, attempts = ?2, next_ms = ?3, last_error = ?4,"
	    " sent_ms = CASE WHEN ?1 = 1 THEN ?5 ELSE sent_ms END, owner = NULL, lease_until = 0"
	    " WHERE row = ?6 AND claim = ?7 AND state = 0",
	[Q_REPLY_PENDING] = "SELECT count(*) FROM replies WHERE state = 0",
	[Q_REPLY_RELEASE] =
	    "UPDATE replies SET owner = NULL, lease_until = 0 WHERE state = 0 AND owner = ?",
	[Q_REPLY_RELEASE_ALL] =
	    "UPDATE replies SET owner = NULL, lease_until = 0 WHERE state = 0 AND lease_until > 0",
	[Q_HOLD_SET] =
	    "INSERT INTO holds (source, until_ms, reason) VALUES (?, ?, ?)"
	    " ON CONFLICT (source) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason"
	    " WHERE excluded.until_ms > until_ms",
	[Q_HANDOFF_PUT] =
	    "INSERT INTO handoffs (mention_row, reason, intent, queue, priority, status, reply,"
	    " captures, created_ms) VALUES (?,?,?,?,?,0,?,?,?)",
	[Q_HANDOFF_TICKET] = "UPDATE handoffs SET ticket = ? WHERE row = ?",
	[Q_HANDOFF_SET_REPLY] = "UPDATE handoffs SET reply = ? WHERE row = ?",
	[Q_HANDOFF_BY_MENTION] = "SELECT " HANDOFF_COLS "WHERE h.mention_row = ?",
	[Q_HANDOFF_LIST] = "SELECT " HANDOFF_COLS "WHERE h.status = ? ORDER BY h.priority, h.row LIMIT ?",
	[Q_HANDOFF_LIST_ALL] = "SELECT " HANDOFF_COLS "ORDER BY h.row LIMIT ?",
	[Q_HANDOFF_GET] = "SELECT " HANDOFF_COLS "WHERE h.ticket = ?",
	[Q_HANDOFF_SET_STATUS] =
	    "UPDATE handoffs SET status = ?, note = coalesce(?, note),"
	    " resolved_ms = CASE WHEN ? = 2 THEN ? ELSE NULL END WHERE ticket = ?",
	[Q_HANDOFF_UNLOGGED] = "SELECT " HANDOFF_COLS "WHERE h.logged = 0 ORDER BY h.row LIMIT ?",
	[Q_HANDOFF_MARK_LOGGED] = "UPDATE handoffs SET logged = 1 WHERE row = ?",
	[Q_HANDOFF_COUNT] = "SELECT count(*) FROM handoffs WHERE status = ?",
	[Q_HANDOFF_COUNT_ALL] = "SELECT count(*) FROM handoffs",
	[Q_HANDOFF_PURGE] = "DELETE FROM handoffs WHERE mention_row IN"
	    " (SELECT row FROM mentions WHERE source = ?)",
	[Q_CURSOR_GET] = "SELECT value FROM cursors WHERE source = ?",
	[Q_CURSOR_SET] =
	    "INSERT INTO cursors (source, value, updated_ms) VALUES (?, ?, ?)"
	    " ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms"
	    " WHERE length(excluded.value) > length(value)"	/* ids compare as (length, text) */
	    " OR (length(excluded.value) = length(value) AND excluded.value > value)",
	[Q_HANDOFF_SET_LABEL] = "UPDATE handoffs SET label = ?, label_ms = ? WHERE ticket = ?",
	[Q_LABEL_LIST] =
	    "SELECT m.text, m.lang, h.label FROM handoffs h JOIN mentions m ON m.row = h.mention_row"
	    " WHERE h.label IS NOT NULL ORDER BY h.row",
};

/* Version 4: what the platform says about the author's account (created, followers: spam
 * signals), and the true class staff gave a handoff (the second opinion learns from it). */
static const char schema_v4[] =
    "ALTER TABLE mentions ADD COLUMN author_since_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mentions ADD COLUMN author_followers INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE handoffs ADD COLUMN label TEXT;"
    "ALTER TABLE handoffs ADD COLUMN label_ms INTEGER;";

/* Version 3: claims with an owner and a lease apart from the next attempt; holds (a
 * platform's rate limit on a whole source) that survive restarts. */
static const char schema_v3[] =
    "ALTER TABLE replies ADD COLUMN owner TEXT;"
    "ALTER TABLE replies ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE replies ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE holds (source TEXT PRIMARY KEY, until_ms INTEGER NOT NULL, reason TEXT);"
    "CREATE INDEX replies_next ON replies (next_ms) WHERE state = 0;";

/* Version 2: stream cursors per source. */
static const char schema_v2[] =
    "CREATE TABLE cursors (source TEXT PRIMARY KEY, value TEXT NOT NULL,"
    " updated_ms INTEGER NOT NULL);";

static const char schema_v1[] =
    "CREATE TABLE mentions ("
    " row INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL, platform_id TEXT NOT NULL, text TEXT NOT NULL,"
    " author_id TEXT NOT NULL, author_handle TEXT NOT NULL, author_name TEXT,"
    " author_bot INTEGER NOT NULL DEFAULT 0, url TEXT, lang TEXT, thread TEXT,"
    " created_at TEXT, extra TEXT, received_ms INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"	/* 0 new, 1 done */
    " intent TEXT, action TEXT, reason TEXT, captures TEXT, reply_lang TEXT, done_ms INTEGER,"
    " UNIQUE (source, platform_id));"
    "CREATE INDEX mentions_new ON mentions (row) WHERE state = 0;"
    "CREATE INDEX mentions_author ON mentions (source, author_id);"
    "CREATE TABLE replies ("
    " row INTEGER PRIMARY KEY,"
    " mention_row INTEGER NOT NULL UNIQUE REFERENCES mentions (row),"	/* once per mention, ever */
    " source TEXT NOT NULL, idem_key TEXT NOT NULL UNIQUE, platform_id TEXT NOT NULL,"
    " author_id TEXT NOT NULL, author_handle TEXT NOT NULL, thread TEXT,"
    " text TEXT NOT NULL, intent TEXT, ticket TEXT, extra TEXT,"
    " priority INTEGER NOT NULL, state INTEGER NOT NULL,"	/* 0 pending 1 sent 2 failed 3 dropped */
    " attempts INTEGER NOT NULL, next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    " mention_received_ms INTEGER NOT NULL, sent_ms INTEGER, last_error TEXT);"
    "CREATE INDEX replies_due ON replies (priority, row) WHERE state = 0;"
    "CREATE INDEX replies_author ON replies (source, author_id, created_ms);"
    "CREATE INDEX replies_thread ON replies (source, thread);"
    "CREATE TABLE handoffs ("
    " row INTEGER PRIMARY KEY, ticket TEXT UNIQUE,"
    " mention_row INTEGER NOT NULL UNIQUE REFERENCES mentions (row),"	/* one per mention */
    " reason TEXT NOT NULL, intent TEXT, queue TEXT NOT NULL, priority INTEGER NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 0, reply TEXT, captures TEXT,"
    " created_ms INTEGER NOT NULL, resolved_ms INTEGER, note TEXT,"
    " logged INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX handoffs_status ON handoffs (status, priority, row);"
    "CREATE INDEX handoffs_unlogged ON handoffs (row) WHERE logged = 0;";

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *q[Q_MAX];
	int readonly;
	char *path;
	sqlite3 *bg;		/* sqlite_maintain's own connection (a worker thread's) */
	int deferred;		/* defer_sync on: checkpoints are sqlite_maintain's */
	pthread_mutex_t sync_lock;	/* sqlite_sync runs on a worker thread, one at a time */
	int wal_fd;		/* sqlite_sync's own descriptor of the write-ahead log, or -1 */
	char *wal_path;
};

/* The daemon's connection waits this long at most for another process's write lock (an
 * operator's sqlite3, a CLI command); then the caller retries later, off the loop's path. */
#define LOOP_BUSY_MS 10
/* Past this many frames in the write-ahead log (about 40 MiB) maintenance restarts it. */
#define WAL_FRAMES_MAX 10000

static int
db_fail(struct store_sqlite *s, struct ack_err *err, const char *what)
{
	int rc = sqlite3_extended_errcode(s->db);
	int prim = rc & 0xff;
	/* busy: try again soon; a row the schema refuses (constraint, too big, type): the
	 * caller's input, never better on a retry; the rest: the disk or the file */
	int code = prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? ACK_ETEMP :
	    prim == SQLITE_CONSTRAINT || prim == SQLITE_TOOBIG || prim == SQLITE_MISMATCH ||
	    prim == SQLITE_RANGE ? ACK_EINVAL : ACK_EIO;

	return ack_fail(err, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *
stmt(struct store_sqlite *s, int q, struct ack_err *err)
{
	if (s->q[q] == NULL &&
	    sqlite3_prepare_v3(s->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT, &s->q[q], NULL) != SQLITE_OK) {
		db_fail(s, err, "prepare");
		return NULL;
	}
	sqlite3_reset(s->q[q]);
	sqlite3_clear_bindings(s->q[q]);
	return s->q[q];
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t == NULL ? NULL : strdup((const char *)t);
}

/* Runs a statement that returns no rows (or whose rows we ignore). */
static int
exec_done(struct store_sqlite *s, sqlite3_stmt *st, struct ack_err *err, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s, err, what);
	return 0;
}

static int
query_int64(struct store_sqlite *s, sqlite3_stmt *st, int64_t *out, struct ack_err *err, const char *what)
{
	int rc = sqlite3_step(st);

	*out = 0;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, err, what);
	return 0;
}

static int
migrate(struct store_sqlite *s, struct ack_err *err)
{
	int version = 0;
	sqlite3_stmt *st;
	char *msg = NULL;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, err, "user_version");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == SCHEMA_VERSION)
		return 0;
	if (version > SCHEMA_VERSION)
		return ack_fail(err, ACK_EIO, "store schema version %d is newer than this ackbot (%d)",
		    version, SCHEMA_VERSION);
	if (s->readonly)
		return ack_fail(err, ACK_EIO, "store is not initialised yet (start the daemon once)");
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	/* each step upgrades one version; a store of any older version walks them all */
	if (version < 1 && sqlite3_exec(s->db, schema_v1, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rb;
	if (version < 2 && sqlite3_exec(s->db, schema_v2, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rb;
	if (version < 3 && sqlite3_exec(s->db, schema_v3, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rb;
	if (version < 4 && sqlite3_exec(s->db, schema_v4, NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rb;
	if (sqlite3_exec(s->db, "PRAGMA user_version = 4; COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail_rb;
	return 0;
fail_rb:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
fail:
	ack_fail(err, ACK_EIO, "migrating the store: %s", msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return ACK_EIO;
}

static void sqlite_close(struct store *st);

/* Why SQLite could not open path, in words, before it says "unable to open database file":
 * 0 when nothing is in the way. The store needs its file and, to write, its directory
 * (the -wal and -shm files live beside it). */
static int
access_problem(const char *path, int readonly, struct ack_err *err)
{
	char dir[4096], side[4200];
	struct stat st;
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return ack_fail(err, ACK_EIO, "store %s is a directory, not a database file "
			    "(hint: store.path names the file, e.g. %s/ackbot.db)", path, path);
		if (access(path, readonly ? R_OK : R_OK | W_OK) != 0 && errno == EACCES)
			return ack_fail(err, ACK_EIO, "store %s: permission denied: this user (uid %d) "
			    "cannot %s it (hint: run ackbot as the user that owns it, or chown it)",
			    path, (int)geteuid(), readonly ? "read" : "write");
		for (int k = 0; k < 2 && !readonly; k++) {
			snprintf(side, sizeof(side), "%s-%s", path, k ? "shm" : "wal");
			if (access(side, F_OK) == 0 && access(side, R_OK | W_OK) != 0 && errno == EACCES)
				return ack_fail(err, ACK_EIO, "store %s: permission denied on %s (uid %d) "
				    "(hint: another user ran ackbot here; chown the directory's files to one "
				    "user)", path, side, (int)geteuid());
		}
	} else if (errno == ENOENT && readonly) {
		return ack_fail(err, ACK_ENOENT, "no store at %s yet (hint: it is made when "
		    "`ackbot run` first starts with this configuration)", path);
	}
	if (stat(dir, &st) != 0)
		return ack_fail(err, ACK_EIO, "store %s: its directory %s %s (hint: check data_dir or "
		    "store.path)", path, dir, errno == ENOENT ? "does not exist" : strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ack_fail(err, ACK_EIO, "store %s: %s is a file, not a directory (hint: check "
		    "data_dir or store.path)", path, dir);
	if (!readonly && access(dir, W_OK | X_OK) != 0 && errno == EACCES)
		return ack_fail(err, ACK_EIO, "store %s: permission denied: this user (uid %d) cannot "
		    "create files in %s, where SQLite keeps the store's journal (hint: chown the "
		    "directory to the user ackbot runs as)", path, (int)geteuid(), dir);
	return 0;
}

static int
sqlite_open(struct store **out, const char *path, int readonly, struct ack_err *err)
{
	struct store_sqlite *s;
	char *msg = NULL;
	int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	s->base.ops = &store_sqlite_ops;
	s->readonly = readonly;
	s->wal_fd = -1;
	pthread_mutex_init(&s->sync_lock, NULL);
	if ((s->path = strdup(path)) == NULL || asprintf(&s->wal_path, "%s-wal", path) < 0) {
		s->wal_path = NULL;
		free(s->path);
		pthread_mutex_destroy(&s->sync_lock);
		free(s);
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	if (access_problem(path, readonly, err) != 0)
		goto fail;
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		ack_fail(err, ACK_EIO, "cannot open store %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 2000);
	sqlite3_extended_result_codes(s->db, 1);
	if (!readonly && sqlite3_exec(s->db,
	    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
	    NULL, NULL, &msg) != SQLITE_OK) {
		ack_fail(err, ACK_EIO, "cannot set up store %s: %s", path, msg);
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(s, err) != 0)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	sqlite_close(&s->base);
	return err ? err->code : ACK_EIO;
}

static void
sqlite_close(struct store *st)
{
	struct store_sqlite *s = (struct store_sqlite *)st;

	if (s == NULL)
		return;
	for (int i = 0; i < Q_MAX; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_close(s->bg);
	sqlite3_close(s->db);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	pthread_mutex_destroy(&s->sync_lock);
	free(s->wal_path);
	free(s->path);
	free(s);
}

static int
simple(struct store *st, int q, struct ack_err *err, const char *what)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x = stmt(s, q, err);

	if (x == NULL)
		return err ? err->code : ACK_EIO;
	return exec_done(s, x, err, what);
}

static int
sqlite_begin(struct store *st, struct ack_err *err)
{
	return simple(st, Q_BEGIN, err, "begin");
}

static int
sqlite_commit(struct store *st, struct ack_err *err)
{
	return simple(st, Q_COMMIT, err, "commit");
}

static void
sqlite_rollback(struct store *st)
{
	struct store_sqlite *s = (struct store_sqlite *)st;

	if (!sqlite3_get_autocommit(s->db))
		simple(st, Q_ROLLBACK, NULL, "rollback");
}

static int
sqlite_defer_sync(struct store *st, int on, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	char *msg = NULL;

	/* WAL with synchronous=NORMAL: a commit appends to the WAL without fsync; the WAL is
	 * fsynced before every checkpoint, and by sqlite_sync */
	if (sqlite3_exec(s->db, on ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
	    NULL, NULL, &msg) != SQLITE_OK) {
		ack_fail(err, ACK_EIO, "store: %s", msg ? msg : "synchronous");
		sqlite3_free(msg);
		return ACK_EIO;
	}
	/* checkpoints (with their fsyncs of the database file) leave the writer's commits:
	 * sqlite_maintain runs them from a worker thread */
	s->deferred = on;
	/* the daemon touches recent rows only: a 1 MiB page cache is plenty */
	sqlite3_exec(s->db, on ? "PRAGMA cache_size = -1024" : "PRAGMA cache_size = -2000", NULL,
	    NULL, NULL);
	sqlite3_wal_autocheckpoint(s->db, on ? 0 : 1000);
	/* nothing on the loop waits long for a lock: a busy store is retried later */
	sqlite3_busy_timeout(s->db, on ? LOOP_BUSY_MS : 2000);
	return 0;
}

static int
sqlite_maintain(struct store *st, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	int rc, frames = 0;

	if (s->bg == NULL) {
		if (sqlite3_open_v2(s->path, &s->bg, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		    NULL) != SQLITE_OK) {
			ack_fail(err, ACK_EIO, "store: checkpoint connection: %s",
			    s->bg ? sqlite3_errmsg(s->bg) : "out of memory");
			sqlite3_close(s->bg);
			s->bg = NULL;
			return ACK_EIO;
		}
		sqlite3_busy_timeout(s->bg, 1000);
		/* a connection learns that the database is in WAL mode only when it first reads
		 * it: until then a checkpoint on it does nothing at all (and says SQLITE_OK) */
		if (sqlite3_exec(s->bg, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			ack_fail(err, ACK_EIO, "store: checkpoint connection: %s", sqlite3_errmsg(s->bg));
			sqlite3_close(s->bg);
			s->bg = NULL;
			return ACK_EIO;
		}
	}
	/* PASSIVE: copies what no reader needs, never waits for the writer */
	rc = sqlite3_wal_checkpoint_v2(s->bg, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return ack_fail(err, ACK_EIO, "store: checkpoint: %s", sqlite3_errmsg(s->bg));
	/* under steady load the log never empties by itself: past WAL_FRAMES_MAX, RESTART
	 * holds writers back for the moment it takes to finish (the loop's writes wait at
	 * most LOOP_BUSY_MS and are retried), so that the next one starts the log over */
	if (rc == SQLITE_OK && frames > WAL_FRAMES_MAX) {
		rc = sqlite3_wal_checkpoint_v2(s->bg, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			return ack_fail(err, ACK_EIO, "store: checkpoint: %s", sqlite3_errmsg(s->bg));
	}
	return 0;
}

/* fdatasync of the write-ahead log through a descriptor of our own: it flushes the file
 * whichever descriptor wrote it, so it can run on a worker thread while the loop's
 * connection goes on committing. */
static int
sqlite_sync(struct store *st, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	struct stat a, b;
	int rc = 0;

	if (!s->deferred)
		return 0;	/* every commit was durable by itself */
	pthread_mutex_lock(&s->sync_lock);
	if (s->wal_fd >= 0 && (stat(s->wal_path, &a) != 0 || fstat(s->wal_fd, &b) != 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
		close(s->wal_fd);	/* the log was removed or replaced */
		s->wal_fd = -1;
	}
	if (s->wal_fd < 0 && (s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC)) >= 0) {
		/* a log created since the last sync: its name must survive a power loss too */
		char dir[4096];
		const char *slash = strrchr(s->path, '/');
		int dfd;
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - s->path) : 1,
		    slash ? s->path : ".");
		if (slash == s->path)
			snprintf(dir, sizeof(dir), "/");
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			if (fsync(dfd) != 0)
				rc = ack_fail(err, ACK_EIO, "store: fsync of %s: %s", dir,
				    strerror(errno));
			close(dfd);
		}
	}
	if (s->wal_fd < 0) {
		if (errno != ENOENT)	/* no log: nothing was written since the last checkpoint */
			rc = ack_fail(err, ACK_EIO, "store: cannot open the write-ahead log: %s",
			    strerror(errno));
	} else if (fdatasync(s->wal_fd) != 0) {
		rc = ack_fail(err, ACK_EIO, "store: fsync of the write-ahead log: %s", strerror(errno));
		/* after a failed fsync the kernel may have dropped the pages: never trust the
		 * descriptor again */
		close(s->wal_fd);
		s->wal_fd = -1;
	}
	pthread_mutex_unlock(&s->sync_lock);
	return rc;
}

#define PREP(s, q) do { x = stmt(s, q, err); if (x == NULL) return err ? err->code : ACK_EIO; } while (0)

static int
sqlite_mention_put(struct store *st, struct mention *m, int *is_dup, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_MENTION_PUT);
	bind_text(x, 1, m->source);
	bind_text(x, 2, m->platform_id);
	bind_text(x, 3, m->text);
	bind_text(x, 4, m->author_id);
	bind_text(x, 5, m->author_handle);
	bind_text(x, 6, m->author_name);
	sqlite3_bind_int(x, 7, m->author_flags);
	bind_text(x, 8, m->url);
	bind_text(x, 9, m->lang);
	bind_text(x, 10, m->thread);
	bind_text(x, 11, m->created_at);
	bind_text(x, 12, m->extra);
	sqlite3_bind_int64(x, 13, m->received_ms);
	sqlite3_bind_int64(x, 14, m->author_since_ms);
	sqlite3_bind_int64(x, 15, m->author_followers);
	rc = exec_done(s, x, err, "insert mention");
	if (rc != 0)
		return rc;
	*is_dup = sqlite3_changes(s->db) == 0;
	m->row = *is_dup ? 0 : sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
sqlite_mention_pending(struct store *st, size_t limit, struct mention **out, size_t *n,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	struct mention *v;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	PREP(s, Q_MENTION_PENDING);
	v = calloc(limit ? limit : 1, sizeof(*v));
	if (v == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	sqlite3_bind_int64(x, 1, (sqlite3_int64)limit);
	while (k < limit && (rc = sqlite3_step(x)) == SQLITE_ROW) {
		struct mention *m = &v[k++];
		m->row = sqlite3_column_int64(x, 0);
		m->source = col_dup(x, 1);
		m->platform_id = col_dup(x, 2);
		m->text = col_dup(x, 3);
		m->author_id = col_dup(x, 4);
		m->author_handle = col_dup(x, 5);
		m->author_name = col_dup(x, 6);
		m->author_flags = sqlite3_column_int(x, 7);
		m->url = col_dup(x, 8);
		m->lang = col_dup(x, 9);
		m->thread = col_dup(x, 10);
		m->created_at = col_dup(x, 11);
		m->extra = col_dup(x, 12);
		m->received_ms = sqlite3_column_int64(x, 13);
		m->author_since_ms = sqlite3_column_int64(x, 14);
		m->author_followers = sqlite3_column_int64(x, 15);
		if (m->source == NULL || m->platform_id == NULL || m->text == NULL ||
		    m->author_id == NULL || m->author_handle == NULL) {
			sqlite3_reset(x);
			mention_free_array(v, k);
			return ack_fail(err, ACK_ENOMEM, "out of memory");
		}
	}
	sqlite3_reset(x);
	*out = v;
	*n = k;
	return 0;
}

static int
sqlite_mention_finish(struct store *st, int64_t row, const struct decision_rec *d,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_MENTION_FINISH);
	bind_text(x, 1, d->intent);
	bind_text(x, 2, d->action);
	bind_text(x, 3, d->reason);
	bind_text(x, 4, d->captures);
	bind_text(x, 5, d->lang);
	sqlite3_bind_int64(x, 6, store_now_ms());
	sqlite3_bind_int64(x, 7, row);
	return exec_done(s, x, err, "finish mention");
}

static int
sqlite_author_mentions(struct store *st, const char *source, const char *author_id,
    int64_t *count, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_AUTHOR_MENTIONS);
	bind_text(x, 1, source);
	bind_text(x, 2, author_id);
	return query_int64(s, x, count, err, "author mentions");
}

static int
sqlite_author_last_reply(struct store *st, const char *source, const char *author_id,
    int64_t *ms, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_AUTHOR_LAST_REPLY);
	bind_text(x, 1, source);
	bind_text(x, 2, author_id);
	return query_int64(s, x, ms, err, "author last reply");
}

static int
sqlite_thread_replied(struct store *st, const char *source, const char *thread, int *yes,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int64_t v;
	int rc;

	PREP(s, Q_THREAD_REPLIED);
	bind_text(x, 1, source);
	bind_text(x, 2, thread);
	rc = query_int64(s, x, &v, err, "thread replied");
	*yes = v != 0;
	return rc;
}

static int
sqlite_reply_put(struct store *st, struct reply *r, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_REPLY_PUT);
	sqlite3_bind_int64(x, 1, r->mention_row);
	bind_text(x, 2, r->source);
	bind_text(x, 3, r->idem_key);
	bind_text(x, 4, r->platform_id);
	bind_text(x, 5, r->author_id);
	bind_text(x, 6, r->author_handle);
	bind_text(x, 7, r->thread);
	bind_text(x, 8, r->text);
	bind_text(x, 9, r->intent);
	bind_text(x, 10, r->ticket);
	bind_text(x, 11, r->extra);
	sqlite3_bind_int(x, 12, r->priority);
	sqlite3_bind_int64(x, 13, r->next_ms);
	sqlite3_bind_int64(x, 14, r->created_ms);
	sqlite3_bind_int64(x, 15, r->mention_received_ms);
	rc = exec_done(s, x, err, "insert reply");
	if (rc == 0)
		r->row = sqlite3_last_insert_rowid(s->db);
	return rc;
}

static int
reply_order(const void *a, const void *b)
{
	const struct reply *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int
sqlite_reply_claim(struct store *st, const char *owner, int64_t now_ms, int64_t lease_until,
    size_t limit, struct reply **out, size_t *n, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	struct reply *v;
	size_t k = 0;
	int rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	PREP(s, Q_REPLY_CLAIM);
	v = calloc(limit ? limit : 1, sizeof(*v));
	if (v == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	bind_text(x, 1, owner);
	sqlite3_bind_int64(x, 2, lease_until);
	sqlite3_bind_int64(x, 3, now_ms);
	sqlite3_bind_int64(x, 4, (sqlite3_int64)limit);
	while (k < limit && (rc = sqlite3_step(x)) == SQLITE_ROW) {
		struct reply *r = &v[k++];
		r->row = sqlite3_column_int64(x, 0);
		r->mention_row = sqlite3_column_int64(x, 1);
		r->source = col_dup(x, 2);
		r->idem_key = col_dup(x, 3);
		r->platform_id = col_dup(x, 4);
		r->author_id = col_dup(x, 5);
		r->author_handle = col_dup(x, 6);
		r->thread = col_dup(x, 7);
		r->text = col_dup(x, 8);
		r->intent = col_dup(x, 9);
		r->ticket = col_dup(x, 10);
		r->extra = col_dup(x, 11);
		r->priority = sqlite3_column_int(x, 12);
		r->state = sqlite3_column_int(x, 13);
		r->attempts = sqlite3_column_int(x, 14);
		r->next_ms = sqlite3_column_int64(x, 15);
		r->created_ms = sqlite3_column_int64(x, 16);
		r->mention_received_ms = sqlite3_column_int64(x, 17);
		r->last_error = col_dup(x, 18);
		r->claim = sqlite3_column_int64(x, 19);
		if (r->source == NULL || r->idem_key == NULL || r->text == NULL ||
		    r->platform_id == NULL || r->author_id == NULL || r->author_handle == NULL) {
			sqlite3_reset(x);
			reply_free_array(v, k);
			return ack_fail(err, ACK_ENOMEM, "out of memory");
		}
	}
	if (rc == SQLITE_ROW)	/* the statement claimed more than it returned: finish it */
		while ((rc = sqlite3_step(x)) == SQLITE_ROW)
			;
	sqlite3_reset(x);
	if (rc != SQLITE_DONE) {
		reply_free_array(v, k);
		return db_fail(s, err, "claim replies");
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), reply_order);
	*out = v;
	*n = k;
	return 0;
}

static int
sqlite_reply_renew(struct store *st, int64_t row, int64_t claim, int64_t lease_until, int *held,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_REPLY_RENEW);
	sqlite3_bind_int64(x, 1, lease_until);
	sqlite3_bind_int64(x, 2, row);
	sqlite3_bind_int64(x, 3, claim);
	rc = exec_done(s, x, err, "renew lease");
	*held = rc == 0 && sqlite3_changes(s->db) > 0;
	return rc;
}

static int
sqlite_reply_next_due(struct store *st, int64_t now, int64_t *ms, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	int64_t a = 0, b = 0;
	int rc;

	PREP(s, Q_REPLY_NEXT_DUE);
	sqlite3_bind_int64(x, 1, now);
	if ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		a = sqlite3_column_int64(x, 0);
		b = sqlite3_column_int64(x, 1);
	}
	sqlite3_reset(x);
	if (rc != SQLITE_ROW)
		return db_fail(s, err, "next due reply");
	*ms = a == 0 ? b : b == 0 ? a : a < b ? a : b;
	return 0;
}

static int
sqlite_reply_complete(struct store *st, int64_t row, int64_t claim, int state, int attempts,
    int64_t next_ms, const char *last_error, int *matched, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_REPLY_COMPLETE);
	sqlite3_bind_int(x, 1, state);
	sqlite3_bind_int(x, 2, attempts);
	sqlite3_bind_int64(x, 3, next_ms);
	bind_text(x, 4, last_error);
	sqlite3_bind_int64(x, 5, store_now_ms());
	sqlite3_bind_int64(x, 6, row);
	sqlite3_bind_int64(x, 7, claim);
	rc = exec_done(s, x, err, "complete reply");
	*matched = rc == 0 && sqlite3_changes(s->db) > 0;
	return rc;
}

static int
sqlite_reply_counts(struct store *st, int64_t *pending, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_REPLY_PENDING);
	return query_int64(s, x, pending, err, "count replies");
}

static int
sqlite_reply_release_leases(struct store *st, const char *owner, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	if (owner == NULL) {
		PREP(s, Q_REPLY_RELEASE_ALL);
	} else {
		PREP(s, Q_REPLY_RELEASE);
		bind_text(x, 1, owner);
	}
	return exec_done(s, x, err, "release leases");
}

static int
sqlite_hold_set(struct store *st, const char *source, int64_t until_ms, const char *why,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HOLD_SET);
	bind_text(x, 1, source);
	sqlite3_bind_int64(x, 2, until_ms);
	bind_text(x, 3, why);
	return exec_done(s, x, err, "hold source");
}

static int
sqlite_handoff_put(struct store *st, struct handoff *h, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	char ticket[16];
	int rc;

	PREP(s, Q_HANDOFF_PUT);
	sqlite3_bind_int64(x, 1, h->mention_row);
	bind_text(x, 2, h->reason);
	bind_text(x, 3, h->intent);
	bind_text(x, 4, h->queue);
	sqlite3_bind_int(x, 5, h->priority);
	bind_text(x, 6, h->reply);
	bind_text(x, 7, h->captures);
	sqlite3_bind_int64(x, 8, h->created_ms);
	if ((rc = exec_done(s, x, err, "insert handoff")) != 0)
		return rc;
	h->row = sqlite3_last_insert_rowid(s->db);
	store_ticket_for_row(h->row, ticket);
	PREP(s, Q_HANDOFF_TICKET);
	bind_text(x, 1, ticket);
	sqlite3_bind_int64(x, 2, h->row);
	if ((rc = exec_done(s, x, err, "set ticket")) != 0)
		return rc;
	free(h->ticket);
	h->ticket = strdup(ticket);
	if (h->ticket == NULL)
		return ack_fail(err, ACK_ENOMEM, "out of memory");
	return 0;
}

static int
sqlite_handoff_set_reply(struct store *st, int64_t row, const char *reply, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HANDOFF_SET_REPLY);
	bind_text(x, 1, reply);
	sqlite3_bind_int64(x, 2, row);
	return exec_done(s, x, err, "set handoff reply");
}

static int
read_handoff(sqlite3_stmt *x, struct handoff *h)
{
	memset(h, 0, sizeof(*h));
	h->row = sqlite3_column_int64(x, 0);
	h->ticket = col_dup(x, 1);
	h->mention_row = sqlite3_column_int64(x, 2);
	h->reason = col_dup(x, 3);
	h->intent = col_dup(x, 4);
	h->queue = col_dup(x, 5);
	h->priority = sqlite3_column_int(x, 6);
	h->status = sqlite3_column_int(x, 7);
	h->reply = col_dup(x, 8);
	h->captures = col_dup(x, 9);
	h->created_ms = sqlite3_column_int64(x, 10);
	h->resolved_ms = sqlite3_column_int64(x, 11);
	h->note = col_dup(x, 12);
	h->logged = sqlite3_column_int(x, 13);
	h->source = col_dup(x, 14);
	h->platform_id = col_dup(x, 15);
	h->author_id = col_dup(x, 16);
	h->author_handle = col_dup(x, 17);
	h->author_name = col_dup(x, 18);
	h->text = col_dup(x, 19);
	h->url = col_dup(x, 20);
	h->extra = col_dup(x, 21);
	if (h->ticket == NULL || h->reason == NULL || h->queue == NULL || h->source == NULL ||
	    h->platform_id == NULL || h->text == NULL) {
		handoff_clear(h);
		return ACK_ENOMEM;
	}
	return 0;
}

static int
handoff_rows(struct store_sqlite *s, sqlite3_stmt *x, size_t limit, struct handoff **out,
    size_t *n, struct ack_err *err)
{
	struct handoff *v = NULL;
	size_t k = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while (k < limit && (rc = sqlite3_step(x)) == SQLITE_ROW) {
		if (k == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct handoff *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL)
				goto oom;
			v = nv;
			cap = ncap;
		}
		if (read_handoff(x, &v[k]) != 0)
			goto oom;
		k++;
	}
	sqlite3_reset(x);
	if (k < limit && rc != SQLITE_DONE) {
		handoff_free_array(v, k);
		return db_fail(s, err, "list handoffs");
	}
	*out = v;
	*n = k;
	return 0;
oom:
	sqlite3_reset(x);
	handoff_free_array(v, k);
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}

static int
handoff_one(struct store_sqlite *s, sqlite3_stmt *x, struct handoff *out, struct ack_err *err)
{
	int rc = sqlite3_step(x);

	memset(out, 0, sizeof(*out));
	if (rc == SQLITE_ROW) {
		rc = read_handoff(x, out);
		sqlite3_reset(x);
		return rc == 0 ? 0 : ack_fail(err, ACK_ENOMEM, "out of memory");
	}
	sqlite3_reset(x);
	if (rc == SQLITE_DONE)
		return ack_fail(err, ACK_ENOENT, "no such handoff");
	return db_fail(s, err, "get handoff");
}

static int
sqlite_handoff_by_mention(struct store *st, int64_t mention_row, struct handoff *out,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HANDOFF_BY_MENTION);
	sqlite3_bind_int64(x, 1, mention_row);
	return handoff_one(s, x, out, err);
}

static int
sqlite_handoff_list(struct store *st, int status, size_t limit, struct handoff **out,
    size_t *n, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	if (status == HANDOFF_ANY) {
		PREP(s, Q_HANDOFF_LIST_ALL);
		sqlite3_bind_int64(x, 1, (sqlite3_int64)limit);
	} else {
		PREP(s, Q_HANDOFF_LIST);
		sqlite3_bind_int(x, 1, status);
		sqlite3_bind_int64(x, 2, (sqlite3_int64)limit);
	}
	return handoff_rows(s, x, limit, out, n, err);
}

static int
sqlite_handoff_get(struct store *st, const char *ticket, struct handoff *out, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HANDOFF_GET);
	bind_text(x, 1, ticket);
	return handoff_one(s, x, out, err);
}

static int
sqlite_handoff_set_status(struct store *st, const char *ticket, int status, const char *note,
    int64_t now_ms, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_HANDOFF_SET_STATUS);
	sqlite3_bind_int(x, 1, status);
	bind_text(x, 2, note);
	sqlite3_bind_int(x, 3, status);
	sqlite3_bind_int64(x, 4, now_ms);
	bind_text(x, 5, ticket);
	if ((rc = exec_done(s, x, err, "update handoff")) != 0)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return ack_fail(err, ACK_ENOENT, "no such ticket '%s'", ticket);
	return 0;
}

static int
sqlite_handoff_set_label(struct store *st, const char *ticket, const char *label, int64_t now_ms,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_HANDOFF_SET_LABEL);
	bind_text(x, 1, label);
	sqlite3_bind_int64(x, 2, now_ms);
	bind_text(x, 3, ticket);
	if ((rc = exec_done(s, x, err, "label handoff")) != 0)
		return rc;
	if (sqlite3_changes(s->db) == 0)
		return ack_fail(err, ACK_ENOENT, "no such ticket '%s'", ticket);
	return 0;
}

static int
sqlite_label_list(struct store *st, struct labelled **out, size_t *n, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	struct labelled *v = NULL;
	size_t k = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	PREP(s, Q_LABEL_LIST);
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		int label = guard_class_of((const char *)sqlite3_column_text(x, 2));
		if (label < 0)
			continue;	/* a class this version does not know */
		if (k == cap) {
			struct labelled *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*nv));
			if (nv == NULL)
				goto oom;
			v = nv;
		}
		v[k].text = col_dup(x, 0);
		v[k].lang = col_dup(x, 1);
		v[k].label = label;
		v[k].line = 0;
		k++;
		if (v[k - 1].text == NULL)
			goto oom;
	}
	sqlite3_reset(x);
	if (rc != SQLITE_DONE) {
		labelled_free(v, k);
		return db_fail(s, err, "list labels");
	}
	*out = v;
	*n = k;
	return 0;
oom:
	sqlite3_reset(x);
	labelled_free(v, k);
	return ack_fail(err, ACK_ENOMEM, "out of memory");
}

static int
sqlite_handoff_unlogged(struct store *st, size_t limit, struct handoff **out, size_t *n,
    struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HANDOFF_UNLOGGED);
	sqlite3_bind_int64(x, 1, (sqlite3_int64)limit);
	return handoff_rows(s, x, limit, out, n, err);
}

static int
sqlite_handoff_mark_logged(struct store *st, int64_t row, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_HANDOFF_MARK_LOGGED);
	sqlite3_bind_int64(x, 1, row);
	return exec_done(s, x, err, "mark handoff logged");
}

static int
sqlite_handoff_count(struct store *st, int status, int64_t *n, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	if (status == HANDOFF_ANY) {
		PREP(s, Q_HANDOFF_COUNT_ALL);
	} else {
		PREP(s, Q_HANDOFF_COUNT);
		sqlite3_bind_int(x, 1, status);
	}
	return query_int64(s, x, n, err, "count handoffs");
}

static int
sqlite_handoff_purge(struct store *st, const char *source, int64_t *n, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	PREP(s, Q_HANDOFF_PURGE);
	bind_text(x, 1, source);
	rc = exec_done(s, x, err, "purge handoffs");
	*n = rc == 0 ? sqlite3_changes(s->db) : 0;
	return rc;
}

static int
sqlite_cursor_get(struct store *st, const char *source, char **value, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;
	int rc;

	*value = NULL;
	PREP(s, Q_CURSOR_GET);
	bind_text(x, 1, source);
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW)
		*value = col_dup(x, 0);
	sqlite3_reset(x);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, err, "get cursor");
	return 0;
}

static int
sqlite_cursor_set(struct store *st, const char *source, const char *value, struct ack_err *err)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *x;

	PREP(s, Q_CURSOR_SET);
	bind_text(x, 1, source);
	bind_text(x, 2, value);
	sqlite3_bind_int64(x, 3, store_now_ms());
	return exec_done(s, x, err, "set cursor");
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.defer_sync = sqlite_defer_sync,
	.sync = sqlite_sync,
	.maintain = sqlite_maintain,
	.mention_put = sqlite_mention_put,
	.mention_pending = sqlite_mention_pending,
	.mention_finish = sqlite_mention_finish,
	.author_mentions = sqlite_author_mentions,
	.author_last_reply = sqlite_author_last_reply,
	.thread_replied = sqlite_thread_replied,
	.reply_put = sqlite_reply_put,
	.reply_claim = sqlite_reply_claim,
	.reply_renew = sqlite_reply_renew,
	.reply_complete = sqlite_reply_complete,
	.reply_next_due = sqlite_reply_next_due,
	.reply_counts = sqlite_reply_counts,
	.reply_release_leases = sqlite_reply_release_leases,
	.hold_set = sqlite_hold_set,
	.handoff_put = sqlite_handoff_put,
	.handoff_set_reply = sqlite_handoff_set_reply,
	.handoff_by_mention = sqlite_handoff_by_mention,
	.handoff_list = sqlite_handoff_list,
	.handoff_get = sqlite_handoff_get,
	.handoff_set_status = sqlite_handoff_set_status,
	.handoff_set_label = sqlite_handoff_set_label,
	.label_list = sqlite_label_list,
	.handoff_unlogged = sqlite_handoff_unlogged,
	.handoff_mark_logged = sqlite_handoff_mark_logged,
	.handoff_count = sqlite_handoff_count,
	.handoff_purge = sqlite_handoff_purge,
	.cursor_get = sqlite_cursor_get,
	.cursor_set = sqlite_cursor_set,
};
