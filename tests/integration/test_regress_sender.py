"""Regression tests for the sender (outbox) rewrite: leases and in-flight posts, backoff and
rate limits across a restart, which replies may go stale, replies of a vanished source, one
status classifier for every source, and one daemon per data directory.

Each test says at its head how the old binary (HEAD before the rewrite) fails it. None of
them needs a change to the stand-ins: the receiver's ("hang", s) fault already holds a
reply POST for s seconds and then drops the connection (an answer that never comes)."""
import os
import re
import subprocess
import time

from integration.daemon import SECRET, SLOW, binary, env_for_tests, free_port, mention, wait_until

STATES = {0: "pending", 1: "sent", 2: "failed", 3: "dropped"}


def reply_of(ctx, platform_id):
    """(state, attempts) of the reply to the mention platform_id, or None when there is none."""
    rows = ctx.db("SELECT r.state, r.attempts FROM replies r JOIN mentions m"
                  " ON m.row = r.mention_row WHERE m.platform_id = ?", platform_id)
    assert len(rows) <= 1, f"more than one reply row for {platform_id}: {rows}"
    return rows[0] if rows else None


def state_of(ctx, platform_id):
    row = reply_of(ctx, platform_id)
    return None if row is None else row[0]


def outcomes(r, key=None):
    """The receiver's outcome of every POST (for one idempotency key), in arrival order."""
    with r.lock:
        return [d["outcome"] for d in r.deliveries if key is None or d["key"] == key]


def deliveries(r):
    with r.lock:
        return list(r.deliveries)


def write_intents(ctx, text):
    idir = os.path.join(ctx.dir, "intents")
    os.makedirs(idir, exist_ok=True)
    with open(os.path.join(idir, "10-regress.yaml"), "w") as f:
        f.write(text)
    return idir


# A thank-you intent without `kind`, so that both the old and the new binary load it (the
# shared tests/integration/intents may use keys the old binary rejects). These tests do not
# depend on staleness (stale_thanks keeps its 1 h default), so thanks vs answer is moot.
PLAIN_INTENTS = """intents:
  - name: thanks
    priority: 20
    patterns: ['\\bthanks?\\b', '\\bthank you\\b']
    reply: "{{author}} thank you!"
"""


def plain_intents(ctx):
    return write_intents(ctx, PLAIN_INTENTS)


def mastodon_setup(ctx, sender):
    """As test_mastodon.setup, with this file's own intents."""
    import mastodon as standin
    ms = standin.Mastodon()
    ctx.receivers.append(ms)          # closed at clean-up
    ctx.data = os.path.join(ctx.dir, "var")
    ctx.config = os.path.join(ctx.dir, "ackbot.yaml")
    with open(ctx.config, "w") as f:
        f.write(f"""bot: {{handles: [brand]}}
data_dir: {ctx.data}
log_level: debug
intents: {{paths: [{plain_intents(ctx)}]}}
policy: {{cooldown: 0s, one_reply_per_thread: false}}
sender: {sender}
admin: {{listen: 127.0.0.1:{ctx.admin}}}
sources:
  - type: mastodon
    base_url: {ms.base_url}
    token_env: TEST_MASTODON_TOKEN
    ping: 2s
""")
    os.environ["TEST_MASTODON_TOKEN"] = ms.token
    ctx.start(secret=None)
    assert ms.wait(lambda: ms.streams, 10 * SLOW), "no streaming connection\n" + ctx.log_tail()
    wait_until(lambda: "first_start" in ctx.log_text() or "backfilled" in ctx.log_text(), 10,
               "the mastodon source started")
    return ms


# ---- 1. a post in flight longer than the lease ----

def test_post_in_flight_longer_than_lease_is_posted_once(ctx):
    # Old binary: FAILS. The lease is sender.timeout + 5 s = 6 s, but the source's own
    # timeout is 15 s: at 6 s the row is due again and POSTed a second time (answered 200,
    # state 1) while the first POST is still held; when the first one then fails (7 s, the
    # connection dropped) its outcome turns the row from sent back to pending, and it is
    # POSTed a third time (another 200). Caught by the "second POST started while the first
    # was in flight" assertion (and, after it, the 1 -> 0 flip and two successful POSTs).
    hang = 7.0
    r = ctx.receiver()
    r.fail(("hang", hang))        # held 7 s, then the connection drops without an answer
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url,
                     sender="{timeout: 1s, max_attempts: 5, backoff_min: 1s, backoff_max: 1s}",
                     webhook_extra="    timeout: 15s")
    ctx.start()
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: r.deliveries, 5, "the first reply POST")
    first = deliveries(r)[0]
    key, t0 = first["key"], first["t"]
    assert key, first
    # Watch the row until the first POST has failed, its retry has come back sent, and then
    # a little longer: it may never go from sent back to pending.
    seen, end = [], t0 + hang + 6 * SLOW
    settled = None
    while time.monotonic() < end:
        st = state_of(ctx, "m-1")
        if not seen or seen[-1] != st:
            seen.append(st)
        if settled is None and time.monotonic() > t0 + hang + 0.3 and st == 1 \
                and "ok" in outcomes(r, key):
            settled = time.monotonic()
        if settled is not None and time.monotonic() > settled + 1.0:
            break
        time.sleep(0.02)
    posts = [d for d in deliveries(r) if d["key"] == key]
    overlapping = [round(d["t"] - t0, 2) for d in posts[1:] if d["t"] < t0 + hang - 0.2]
    assert not overlapping, \
        f"a second POST started {overlapping} s after the first while it was in flight " \
        f"(outcomes {outcomes(r, key)})"
    flips = [i for i in range(1, len(seen)) if seen[i - 1] == 1 and seen[i] != 1]
    assert not flips, f"the reply left state sent again: states seen {seen}"
    assert outcomes(r, key).count("ok") == 1, f"successful POSTs: {outcomes(r, key)}"
    assert all(d["key"] == key for d in deliveries(r)), "another key for the same reply"
    assert len(r.by_mention().get("m-1", ())) == 1, r.by_mention()
    assert state_of(ctx, "m-1") == 1, seen
    assert not r.violations, r.violations


# ---- 2. a restart keeps backoff and rate limits ----

def _restart_waits(ctx, fault, sender):
    r = ctx.receiver()
    r.fail(fault)
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url, sender=sender)
    ctx.start()
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: reply_of(ctx, "m-1") is not None and reply_of(ctx, "m-1")[1] >= 1,
               10, "the first attempt recorded")
    assert len(r.deliveries) == 1, outcomes(r)
    ctx.stop()
    ctx.start()
    restarted = time.monotonic()
    # nothing may reach the receiver for a while (the wait is 10 s or more)
    while time.monotonic() < restarted + 3:
        assert len(r.deliveries) == 1, \
            f"retried {time.monotonic() - restarted:.2f} s after the restart: {outcomes(r)}"
        time.sleep(0.05)
    state, attempts = reply_of(ctx, "m-1")
    assert (state, attempts) == (0, 1), (STATES.get(state), attempts)


def test_restart_keeps_retry_after(ctx):
    # Old binary: FAILS. The 429's Retry-After: 20 is stored only in next_ms, which the
    # lease shares; at start-up every pending reply's next_ms is set to now, so the reply is
    # POSTed again right after the restart ("retried 0.0x s after the restart").
    _restart_waits(ctx, ("status", 429, 20),
                   "{timeout: 2s, max_attempts: 5, backoff_min: 100ms, backoff_max: 1m}")


def test_restart_keeps_backoff(ctx):
    # Old binary: FAILS. A 503 with backoff_min 20 s schedules the next attempt 10-20 s
    # later; the restart makes it due now, and it is POSTed again at once.
    _restart_waits(ctx, ("status", 503, None),
                   "{timeout: 2s, max_attempts: 5, backoff_min: 20s, backoff_max: 20s}")


# ---- 3. only thank-yous go stale ----

ANSWER_INTENT = """intents:
  - name: opening_hours
    priority: 10
    patterns: ['\\bopening hours\\b', '\\bwhen are you open\\b']
    reply: "{{author}} we are open 9-17, Monday to Friday."
"""

THANKS_INTENT = """  - name: thanks
    kind: thanks
    priority: 20
    patterns: ['\\bthanks?\\b', '\\bthank you\\b']
    reply: "{{author}} thank you!"
"""

STALE_SENDER = "{timeout: 2s, max_attempts: 50, backoff_min: 200ms, backoff_max: 400ms, stale_thanks: 2s}"


def _fail_until_stale(ctx, r, acked_at, want):
    """503 for every POST until one arrives when the replies are older than stale_thanks
    (2 s) -- or until want() -- then the receiver recovers."""
    def stale_attempt():
        return any(d["t"] > acked_at + 2.4 for d in deliveries(r))
    wait_until(lambda: stale_attempt() or want(), 15, "an attempt after the replies went stale")
    with r.lock:
        r.faults.clear()


def test_stale_answer_is_still_sent(ctx):
    # Old binary: FAILS. Every reply without a handoff gets the lowest priority, so the
    # answer is dropped as a stale thank-you once it is older than stale_thanks (state 3,
    # "dropped", never delivered). This intent file has no `kind` key, so the old binary
    # loads it. (stale_thanks is a sender key: sender.stale_thanks, as README and
    # config.c have it.)
    idir = write_intents(ctx, ANSWER_INTENT)
    r = ctx.receiver()
    r.fail(*[("status", 503, None)] * 200)
    ctx.write_config(reply_url=r.url, intents=idir, sender=STALE_SENDER)
    ctx.start()
    assert ctx.post(mention(1, "what are your opening hours?"))[0] == 202
    acked_at = time.monotonic()
    _fail_until_stale(ctx, r, acked_at, lambda: state_of(ctx, "m-1") not in (None, 0))
    wait_until(lambda: state_of(ctx, "m-1") not in (None, 0), 10, "the answer settled")
    assert state_of(ctx, "m-1") == 1, f"the answer ended {STATES.get(state_of(ctx, 'm-1'))}"
    got = r.by_mention()
    assert len(got.get("m-1", ())) == 1, got
    assert r.delivered()[0]["body"]["text"] == "@user1 we are open 9-17, Monday to Friday."
    assert "event=dropped_stale" not in ctx.log_text()


def test_stale_kind_thanks_is_dropped(ctx):
    # Old binary: FAILS at start-up: intents.c rejects the unknown key 'kind' (the daemon
    # exits 1: "daemon exited with 1"). New behaviour checked here: the reply of a
    # `kind: thanks` intent is dropped once stale (state 3, never delivered) while the
    # answer queued beside it is still sent.
    idir = write_intents(ctx, ANSWER_INTENT + THANKS_INTENT)
    r = ctx.receiver()
    r.fail(*[("status", 503, None)] * 200)
    ctx.write_config(reply_url=r.url, intents=idir, sender=STALE_SENDER)
    ctx.start()
    assert ctx.post(mention(1, "thanks for the quick delivery!"))[0] == 202
    assert ctx.post(mention(2, "what are your opening hours?"))[0] == 202
    acked_at = time.monotonic()
    _fail_until_stale(ctx, r, acked_at, lambda: False)
    wait_until(lambda: state_of(ctx, "m-1") not in (None, 0) and state_of(ctx, "m-2") not in (None, 0),
               10, "both replies settled")
    assert state_of(ctx, "m-1") == 3, f"the thank-you ended {STATES.get(state_of(ctx, 'm-1'))}"
    assert state_of(ctx, "m-2") == 1, f"the answer ended {STATES.get(state_of(ctx, 'm-2'))}"
    got = r.by_mention()
    assert "m-1" not in got and len(got.get("m-2", ())) == 1, got


# ---- 4. replies of a source that no longer exists ----

def test_reply_of_removed_source_is_handed_off(ctx):
    # Old binary: FAILS. A reply whose source is not running is put back with next_ms =
    # now + 60 s and the same attempt count, forever: after the restart its attempts stay
    # 0, it stays pending and no handoff is made ("timed out waiting for the reply given up").
    sender = "{timeout: 10s, max_attempts: 3, backoff_min: 100ms, backoff_max: 300ms}"
    r = ctx.receiver()
    r.fail(("hang", 20))          # the first (and only) POST never comes back
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url, sender=sender)
    ctx.start()
    assert ctx.post(mention(1, "thanks!"))[0] == 202
    wait_until(lambda: r.deliveries, 5, "the reply POST under way")
    ctx.kill9()                   # pending, still leased by the dead process
    assert reply_of(ctx, "m-1")[0] == 0, reply_of(ctx, "m-1")
    # the same webhook, renamed: nothing runs as "webhook" any more
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url, sender=sender,
                     webhook_extra="    name: other")
    ctx.start()

    def given_up():
        row = reply_of(ctx, "m-1")
        return row is not None and row[0] != 0
    try:
        wait_until(given_up, 8, "the reply given up")
    except AssertionError:
        state, attempts = reply_of(ctx, "m-1")
        raise AssertionError(f"reply of the removed source still {STATES.get(state)} with "
                             f"attempts={attempts} after 8 s")
    state, attempts = reply_of(ctx, "m-1")
    assert (state, attempts) == (2, 3), (STATES.get(state), attempts)
    hs = [h for h in ctx.handoffs() if h["mention_id"] == "m-1"]
    assert len(hs) == 1 and hs[0]["reason"] == "delivery_failed", hs
    assert len(r.deliveries) == 1, f"posted through another source: {outcomes(r)}"


# ---- 5. one classifier for every source ----

def test_webhook_403_is_retried(ctx):
    # Old binary: FAILS. webhook.c's send_done treats 401/403 (and 408) as final: the first
    # 403 fails the reply (state 2) and hands it off (delivery_failed); it is never POSTed
    # again. New: 403 is retried, honouring Retry-After (1 s on the second 403).
    r = ctx.receiver()
    r.fail(("status", 403, None), ("status", 403, 1))
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url,
                     sender="{timeout: 2s, max_attempts: 5, backoff_min: 100ms, backoff_max: 2s}")
    ctx.start()
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: state_of(ctx, "m-1") not in (None, 0), 10, "the reply settled")
    assert state_of(ctx, "m-1") == 1, \
        f"reply ended {STATES.get(state_of(ctx, 'm-1'))} after {outcomes(r)}"
    assert outcomes(r) == ["status-403", "status-403", "ok"], outcomes(r)
    ts = [d["t"] for d in deliveries(r)]
    assert ts[2] - ts[1] >= 0.9, f"Retry-After: 1 not honoured ({ts[2] - ts[1]:.2f} s)"
    assert len({d["key"] for d in deliveries(r)}) == 1
    assert not [h for h in ctx.handoffs() if h["reason"] == "delivery_failed"]


def test_webhook_401_and_408_are_retried(ctx):
    # Old binary: FAILS like the 403 test: the 401 fails the reply at once (state 2).
    r = ctx.receiver()
    r.fail(("status", 401, None), ("status", 408, None))
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url,
                     sender="{timeout: 2s, max_attempts: 5, backoff_min: 100ms, backoff_max: 1s}")
    ctx.start()
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: state_of(ctx, "m-1") not in (None, 0), 10, "the reply settled")
    assert state_of(ctx, "m-1") == 1, \
        f"reply ended {STATES.get(state_of(ctx, 'm-1'))} after {outcomes(r)}"
    assert outcomes(r) == ["status-401", "status-408", "ok"], outcomes(r)


def test_mastodon_classifies_like_webhook(ctx):
    # Old binary: FAILS. mastodon.c retries 401 and 403 (webhook.c does not) but fails a 408
    # (state 2, handed off), and it ignores Retry-After on a 503 (it only reads
    # X-RateLimit-Reset on a 429). New: 401, 403, 408 and 503 are all retried, the 503's
    # Retry-After: 2 honoured.
    ms = mastodon_setup(ctx, sender="{timeout: 2s, max_attempts: 8, backoff_min: 100ms, backoff_max: 3s}")
    ms.post_faults += [("status", 401, 0, None), ("status", 403, 0, None),
                       ("status", 408, 0, None), ("status", 503, 0, 2)]
    n = ms.mention("@brand thanks!", username="ola")
    sid = n["status"]["id"]
    wait_until(lambda: state_of(ctx, sid) not in (None, 0), 15, "the reply settled")
    assert state_of(ctx, sid) == 1, \
        f"reply ended {STATES.get(state_of(ctx, sid))} after {len(ms.posts)} posts"
    assert len(ms.posts) == 5, ms.posts
    gap = ms.posts[4]["t"] - ms.posts[3]["t"]
    assert gap >= 1.8, f"Retry-After: 2 on the 503 not honoured ({gap:.2f} s)"
    assert len({p["key"] for p in ms.posts}) == 1
    assert [x["in_reply_to_id"] for x in ms.replies] == [sid]
    assert not [h for h in ctx.handoffs() if h["reason"] == "delivery_failed"]


# ---- 6. one daemon per data directory ----

def test_second_daemon_on_same_data_dir_exits_3(ctx):
    # Old binary: FAILS. Nothing guards the data directory: the second daemon starts,
    # listens on its own ports and shares the store ("second daemon still running").
    r = ctx.receiver()
    ctx.write_config(intents=plain_intents(ctx), reply_url=r.url)
    first = ctx.start()
    with open(ctx.config) as f:
        text = f.read()
    port2, admin2 = free_port(), free_port()
    text = text.replace(f"127.0.0.1:{ctx.port}", f"127.0.0.1:{port2}")
    text = text.replace(f"127.0.0.1:{ctx.admin}", f"127.0.0.1:{admin2}")
    assert f"127.0.0.1:{port2}" in text and f"127.0.0.1:{admin2}" in text
    second_conf = os.path.join(ctx.dir, "second.yaml")
    with open(second_conf, "w") as f:
        f.write(text)
    env = env_for_tests()
    env["TEST_WEBHOOK_SECRET"] = SECRET
    err_path = os.path.join(ctx.dir, "second-daemon.log")
    with open(err_path, "w") as err:
        wrapper = os.environ.get("ACKBOT_TEST_WRAPPER", "").split()
        p = subprocess.Popen([*wrapper, binary(), "run", "-c", second_conf],
                             stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
    ctx.procs.append(p)           # killed at clean-up if it is still running
    try:
        p.wait(timeout=5 * SLOW)
    except subprocess.TimeoutExpired:
        raise AssertionError("second daemon still running 5 s after it started on a data_dir "
                             "in use")
    with open(err_path, errors="replace") as f:
        lines = f.read().splitlines()
    assert p.returncode == 3, f"second daemon exit code {p.returncode}:\n" + "\n".join(lines[-10:])
    hits = [line for line in lines if "is in use by another ackbot" in line]
    assert len(hits) == 1, lines
    assert re.search(rf"(?<!\d){first.pid}(?!\d)", hits[0]), (first.pid, hits[0])
    # the first one is untouched
    assert first.poll() is None, "the first daemon exited"
    assert ctx.get("/healthz", port=ctx.admin)[0] == 200
    assert ctx.post(mention(1))[0] == 202
    assert r.wait_for(1, 10 * SLOW), "the first daemon stopped answering"
