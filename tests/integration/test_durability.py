"""Nothing lost, nothing sent twice: restarts, SIGTERM under load, kill -9 at random
points, reload. Also measures webhook ack latency (printed, never asserted)."""
import http.client
import json
import os
import random
import statistics
import threading
import time
import urllib.error

from integration.daemon import SLOW, mention, wait_until


def send_until_acked(ctx, doc, deadline):
    """Retries until the daemon answers 202/200 (it may be down or restarting)."""
    while time.monotonic() < deadline:
        try:
            st, _ = ctx.post(doc)
            if st in (200, 202):
                return st
            assert st == 503, st
        except (OSError, urllib.error.URLError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise AssertionError(f"mention {doc['id']} never acknowledged")


def assert_exactly_once(ctx, r, ids):
    per = r.by_mention()
    missing = [i for i in ids if i not in per]
    assert not missing, f"{len(missing)} mentions never answered, e.g. {missing[:5]}"
    doubled = {k: v for k, v in per.items() if len(v) != 1}
    assert not doubled, f"replies with more than one id: {list(doubled.items())[:3]}"
    assert set(per) == set(ids), set(per) - set(ids)
    assert not r.violations, r.violations


def assert_handoffs_unique(ctx):
    hs = ctx.handoffs()
    mids = [h["mention_id"] for h in hs]
    assert len(mids) == len(set(mids)), "duplicate handoff for a mention"
    path = os.path.join(ctx.data, "handoff.jsonl")
    lines = [json.loads(x) for x in open(path).read().splitlines() if x.strip()]
    tickets = [x["ticket"] for x in lines]
    assert len(tickets) == len(set(tickets)), "a ticket logged twice"
    assert sorted(tickets) == sorted(h["ticket"] for h in hs), "log and store disagree"
    return hs


def test_restart_resends_pending_with_same_ids(ctx):
    r = ctx.receiver()
    url = r.url
    r.close()                      # the receiver is down: connections are refused
    ctx.write_config(reply_url=url, sender="{timeout: 1s, max_attempts: 50, backoff_min: 100ms, backoff_max: 300ms}")
    ctx.start()
    ids = [f"m-{i}" for i in range(20)]
    for i in range(20):
        assert ctx.post(mention(i))[0] == 202
    time.sleep(0.5)
    assert ctx.stop() < 5
    first_keys = dict(ctx.db("SELECT platform_id, idem_key FROM replies"))
    assert len(first_keys) == 20
    from integration.daemon import receiver_mod
    r2 = receiver_mod.Receiver(r.secret)
    ctx.receivers.append(r2)
    # same port as before, so the stored reply_url still points at it
    r2.server.server_close()
    import http.server
    r2.server = http.server.ThreadingHTTPServer(("127.0.0.1", int(url.split(":")[2].split("/")[0])), r2._handler())
    threading.Thread(target=r2.server.serve_forever, daemon=True).start()
    ctx.start()
    assert r2.wait_for(20, 15 * SLOW), len(r2.delivered())
    assert_exactly_once(ctx, r2, ids)
    for d in r2.delivered():
        assert d["id"] == first_keys[d["body"]["in_reply_to"]]


def test_sigterm_under_load_loses_nothing(ctx):
    r = ctx.receiver()
    ctx.write_config(reply_url=r.url)
    ctx.start()
    acked = []
    stop = threading.Event()

    def sender(k):
        i = 0
        while not stop.is_set() and i < 100:
            doc = mention(f"{k}-{i}")
            try:
                st, _ = ctx.post(doc)
                if st == 202:
                    acked.append(doc["id"])
            except (OSError, http.client.HTTPException):
                pass
            i += 1

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    took = ctx.stop()
    stop.set()
    for t in threads:
        t.join()
    assert took < 5, took
    assert acked, "nothing was acknowledged before SIGTERM"
    ctx.start()
    wait_until(lambda: all(a in r.by_mention() for a in acked), 15, "replies after restart")
    per = r.by_mention()
    assert all(len(per[a]) == 1 for a in acked)
    stored = {row[0] for row in ctx.db("SELECT platform_id FROM mentions")}
    assert set(acked) <= stored


def test_kill9_1000_mentions_exactly_once(ctx):
    r = ctx.receiver()
    ctx.write_config(reply_url=r.url, sender="{timeout: 2s, max_attempts: 100, backoff_min: 50ms, backoff_max: 500ms}")
    ctx.start()
    n = 1000
    docs = [mention(i, random.Random(i).choice([
        "thanks for the quick delivery!", "my order #A%05d arrived broken" % i,
        "free followers here", "hello there"])) for i in range(n)]
    queue = list(range(n))
    lock = threading.Lock()
    acked = set()
    deadline = time.monotonic() + 120 * SLOW

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            send_until_acked(ctx, docs[i], deadline)
            with lock:
                acked.add(docs[i]["id"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    # kill -9 at random points of the run: after a random number of acknowledgements,
    # plus a random few milliseconds so the kill lands mid-commit or mid-send
    rng = random.Random(int(os.environ.get("ACKBOT_TEST_SEED", "1234")))
    points = sorted(rng.sample(range(30, n - 30), 6))
    kills = 0
    for pt in points:
        while len(acked) < pt and any(t.is_alive() for t in threads):
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.01))
        ctx.kill9()
        kills += 1
        ctx.start(wait=False)
        ctx.wait_healthy()
    for t in threads:
        t.join()
    assert kills >= 5, f"only {kills} kills happened before all mentions were acknowledged"
    assert len(acked) == n
    expected = [d["id"] for d in docs if "free followers" not in d["text"]]
    wait_until(lambda: len(r.by_mention()) >= len(expected), 60, "every reply")
    time.sleep(0.5)
    assert_exactly_once(ctx, r, expected)
    stored = ctx.db("SELECT count(*), sum(state = 1) FROM mentions")[0]
    assert stored == (n, n), stored
    hs = assert_handoffs_unique(ctx)
    want_handoffs = sum(1 for d in docs if "broken" in d["text"] or "free" in d["text"] or "hello" in d["text"])
    assert len(hs) == want_handoffs, (len(hs), want_handoffs)
    print(f"  kill -9 run: {n} mentions, {kills} kills, {len(r.deliveries)} deliveries, "
          f"{len(r.delivered())} distinct replies, {len(hs)} handoffs")


def test_ack_latency_1000_sequential(ctx):
    r = ctx.receiver()
    ctx.write_config(reply_url=r.url)
    ctx.start()
    import http.client
    from integration.daemon import SECRET, webhooks
    c = http.client.HTTPConnection("127.0.0.1", ctx.port, timeout=10)
    lat = []
    for i in range(1000):
        body = json.dumps(mention(i)).encode()
        h = {"content-type": "application/json", **webhooks.sign(SECRET, f"msg_{i}", body)}
        t0 = time.perf_counter()
        c.request("POST", "/hooks/generic", body=body, headers=h)
        resp = c.getresponse()
        resp.read()
        lat.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 202
    c.close()
    lat.sort()
    p50, p99 = lat[499], lat[989]
    print(f"  webhook ack latency over 1000 sequential mentions (keep-alive, loopback): "
          f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {statistics.mean(lat):.2f} ms")
    assert r.wait_for(1000, 60 * SLOW)


def test_sighup_reload_keeps_old_set_on_error(ctx):
    r = ctx.receiver()
    idir = os.path.join(ctx.dir, "intents")
    os.makedirs(idir)
    with open(os.path.join(idir, "a.yaml"), "w") as f:
        f.write("intents:\n  - name: hello\n    priority: 1\n    patterns: ['^']\n    reply: '{{author}} v1'\n")
    ctx.write_config(reply_url=r.url, intents=idir)
    ctx.start()
    assert ctx.post(mention(1, "x"))[0] == 202
    assert r.wait_for(1, 10 * SLOW)
    with open(os.path.join(idir, "a.yaml"), "w") as f:
        f.write("intents:\n  - name: hello\n    priority: 1\n    patterns: ['^']\n    reply: '{{author}} v2'\n")
    ctx.proc.send_signal(1)
    wait_until(lambda: "event=reload ok=1" in ctx.log_text(), 5, "reload")
    assert ctx.post(mention(2, "x"))[0] == 202
    assert r.wait_for(2, 10 * SLOW)
    with open(os.path.join(idir, "a.yaml"), "w") as f:
        f.write("intents:\n  - name: hello\n    priority: 1\n    patterns: ['(unclosed']\n    reply: 'v3'\n")
    ctx.proc.send_signal(1)
    wait_until(lambda: "event=reload ok=0" in ctx.log_text(), 5, "failed reload")
    assert "a.yaml:4:16" in ctx.log_text()
    assert ctx.post(mention(3, "x"))[0] == 202
    assert r.wait_for(3, 10 * SLOW)
    texts = {d["body"]["in_reply_to"]: d["body"]["text"] for d in r.delivered()}
    assert texts == {"m-1": "@user1 v1", "m-2": "@user2 v2", "m-3": "@user3 v2"}, texts
