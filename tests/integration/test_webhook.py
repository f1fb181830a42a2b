"""The webhook source end to end: signed mention in, signed reply out, handoffs, every
bad input rejected without a row, duplicates, delivery faults, policy, metrics."""
import json
import threading
import time

from integration.daemon import SECRET, SLOW, mention, wait_until


def setup(ctx, **kw):
    r = ctx.receiver()
    ctx.write_config(reply_url=r.url, **kw)
    ctx.start()
    return r


def mentions_rows(ctx):
    return ctx.db("SELECT count(*) FROM mentions")[0][0]


def test_thanks_and_complaint_end_to_end(ctx):
    r = setup(ctx)
    st, body = ctx.post(mention(1, "@brand thanks for the quick delivery!", handle="ana"))
    assert st == 202 and body == {"status": "accepted", "id": "m-1"}, (st, body)
    st, body = ctx.post(mention(2, "@brand my order #A12345 arrived broken", handle="bob",
                                url="https://example.test/m-2"))
    assert st == 202, (st, body)
    assert r.wait_for(2, 10 * SLOW), r.deliveries
    assert not r.violations, r.violations
    replies = {d["body"]["in_reply_to"]: d for d in r.delivered()}
    thanks = replies["m-1"]["body"]
    assert thanks["text"] == "@ana thank you!", thanks
    assert thanks["intent"] == "thanks" and thanks["ticket"] is None
    assert thanks["author"] == {"id": "a-1", "handle": "ana"}
    assert replies["m-1"]["key"] == replies["m-1"]["id"]
    comp = replies["m-2"]["body"]
    assert comp["intent"] == "complaint"
    assert comp["ticket"] and comp["ticket"].startswith("T-")
    assert comp["text"] == f"@bob sorry about order A12345, ref {comp['ticket']}", comp
    hs = ctx.handoffs("open")
    assert len(hs) == 1, hs
    h = hs[0]
    for k in ("ticket", "status", "intent", "queue", "source", "mention_id", "author", "text",
              "reply", "created_at"):
        assert k in h, k
    assert h["ticket"] == comp["ticket"] and h["mention_id"] == "m-2" and h["queue"] == "support"
    assert h["priority"] == "high" and h["captures"] == {"order": "A12345"}
    assert h["reply"] == comp["text"] and h["url"] == "https://example.test/m-2"
    # the handoff log holds exactly one line for it
    wait_until(lambda: open(f"{ctx.data}/handoff.jsonl").read().count("\n") == 1, 5, "handoff log")
    line = json.loads(open(f"{ctx.data}/handoff.jsonl").read())
    assert line["ticket"] == h["ticket"] and line["mention_id"] == "m-2"
    # show, then resolve
    shown = json.loads(ctx.cli("handoff", "show", "--json", h["ticket"]).stdout)
    assert shown["ticket"] == h["ticket"] and shown["status"] == "open"
    ctx.cli("handoff", "resolve", h["ticket"], "--note", "replacement sent")
    assert ctx.handoffs("open") == []
    res = ctx.handoffs("resolved")
    assert len(res) == 1 and res[0]["note"] == "replacement sent" and res[0]["resolved_at"]
    bad = ctx.cli("handoff", "resolve", "T-NOPE00", check=False)
    assert bad.returncode == 1 and "no such ticket" in bad.stderr
    assert ctx.stop() < 5


def test_bad_inputs_get_their_status_and_leave_no_row(ctx):
    setup(ctx)
    ok = mention(1)
    body = json.dumps(ok).encode()
    from integration.daemon import webhooks
    cases = [
        ("bad json", dict(raw=b'{"id": "x", '), 400),
        ("not an object", dict(raw=b'["a"]'), 400),
        ("missing id", dict(doc={"text": "hi", "author": {"id": "1", "handle": "a"}}), 400),
        ("empty id", dict(doc={"id": "", "text": "hi", "author": {"id": "1", "handle": "a"}}), 400),
        ("missing text", dict(doc={"id": "x1", "author": {"id": "1", "handle": "a"}}), 400),
        ("missing author", dict(doc={"id": "x2", "text": "hi"}), 400),
        ("missing author.id", dict(doc={"id": "x3", "text": "hi", "author": {"handle": "a"}}), 400),
        ("missing author.handle", dict(doc={"id": "x4", "text": "hi", "author": {"id": "1"}}), 400),
        ("text not a string", dict(doc={"id": "x5", "text": 5, "author": {"id": "1", "handle": "a"}}), 400),
        ("bot not a bool", dict(doc={"id": "x6", "text": "hi", "author": {"id": "1", "handle": "a", "bot": "yes"}}), 400),
        ("invalid utf-8", dict(raw=b'{"id":"x7","text":"\xff\xfe","author":{"id":"1","handle":"a"}}'), 400),
        ("no signature", dict(doc=ok, secret=None), 401),
        ("wrong secret", dict(doc=ok, secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="), 401),
        ("stale timestamp", dict(doc=ok, timestamp=time.time() - 360), 401),
        ("future timestamp", dict(doc=ok, timestamp=time.time() + 360), 401),
        ("tampered body", dict(raw=body.replace(b"thanks", b"THANKS"), headers=webhooks.sign(SECRET, "msg_t", body)), 401),
        ("too large", dict(raw=b'{"id":"big","text":"' + b"a" * 70000 + b'","author":{"id":"1","handle":"a"}}'), 413),
    ]
    for name, kw, want in cases:
        st, resp = ctx.post(kw.pop("doc", None), **kw)
        assert st == want, (name, st, resp)
        if want != 413:
            assert isinstance(resp, dict) and "error" in resp, (name, resp)
    st, _ = ctx.raw("GET", "/hooks/generic")
    assert st == 405
    st, _ = ctx.raw("POST", "/other", b"{}")
    assert st == 404
    assert mentions_rows(ctx) == 0
    assert ctx.handoffs() == []
    log = ctx.log_text()
    assert log.count("event=rejected") >= len(cases) + 2, log
    assert SECRET not in log and SECRET[6:] not in log
    # still answering
    st, _ = ctx.post(mention(9))
    assert st == 202
    assert mentions_rows(ctx) == 1
    m = ctx.metrics()
    assert m['ackbot_webhook_rejected_total{status="401"}'] == 5
    assert m['ackbot_webhook_rejected_total{status="400"}'] == 11
    assert m['ackbot_webhook_rejected_total{status="413"}'] == 1


def test_signature_rotation_any_valid_entry(ctx):
    setup(ctx)
    from integration.daemon import webhooks
    body = json.dumps(mention(1)).encode()
    h = webhooks.sign(SECRET, "msg_rot", body)
    old = webhooks.signature("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=", "msg_rot",
                             h["webhook-timestamp"], body)
    h["webhook-signature"] = old + " " + h["webhook-signature"]
    st, resp = ctx.post(None, raw=body, secret=None, headers=h)
    assert st == 202, (st, resp)
    h["webhook-signature"] = old
    st, _ = ctx.post(None, raw=body, secret=None, headers=h)
    assert st == 401


def test_duplicate_delivery_one_reply(ctx):
    r = setup(ctx)
    results = []

    def send():
        results.append(ctx.post(mention(7, "thanks!"), msg_id="msg_dup")[0])

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.append(ctx.post(mention(7, "thanks!"))[0])
    results.append(ctx.post(mention(7, "thanks!"))[0])
    assert sorted(results) == [200, 200, 200, 200, 202], results
    assert r.wait_for(1, 10 * SLOW)
    time.sleep(0.5)
    assert len(r.deliveries) == 1, r.deliveries
    assert mentions_rows(ctx) == 1
    assert ctx.metrics()['ackbot_mentions_duplicate_total{source="webhook"}'] == 4


def test_retry_5xx_then_success_same_id(ctx):
    r = setup(ctx)
    r.fail(("status", 500, None), ("status", 503, None))
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: len(r.delivered()) == 1, 10, "delivery after retries")
    assert len(r.deliveries) == 3
    assert len({d["id"] for d in r.deliveries}) == 1
    assert len({d["key"] for d in r.deliveries}) == 1


def test_retry_after_is_honoured(ctx):
    r = setup(ctx)
    r.fail(("status", 429, 1))
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: len(r.delivered()) == 1, 10, "delivery after 429")
    gap = r.deliveries[1]["t"] - r.deliveries[0]["t"]
    assert gap >= 0.95, gap


def test_4xx_fails_and_hands_off(ctx):
    r = setup(ctx)
    r.fail(("status", 400, None))
    assert ctx.post(mention(1, "thanks!"))[0] == 202
    wait_until(lambda: len(ctx.handoffs()) == 1, 10, "delivery_failed handoff")
    time.sleep(0.3)
    assert len(r.deliveries) == 1
    h = ctx.handoffs()[0]
    assert h["reason"] == "delivery_failed" and h["mention_id"] == "m-1"
    assert h["reply"] == "@user1 thank you!"
    assert ctx.metrics()['ackbot_replies_failed_total{source="webhook"}'] == 1


def test_lost_response_retried_with_same_id(ctx):
    r = setup(ctx)
    r.fail(("drop",))
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: len(r.deliveries) >= 2, 10, "retry after a lost response")
    ids = {d["id"] for d in r.deliveries}
    assert len(ids) == 1, r.deliveries
    assert r.by_mention() == {"m-1": ids}


def test_policy_bots_self_cooldown(ctx):
    r = setup(ctx, policy="{cooldown: 10m, one_reply_per_thread: true}")
    assert ctx.post(mention(1, "thanks!", author_bot=None) | {"author": {"id": "b1", "handle": "tracker", "bot": True}})[0] == 202
    assert ctx.post(mention(2, "thanks!", handle="brand"))[0] == 202
    a = {"id": "same", "handle": "carol"}
    assert ctx.post({"id": "m-3", "text": "thanks!", "author": a})[0] == 202
    assert ctx.post({"id": "m-4", "text": "it arrived broken", "author": a})[0] == 202
    assert ctx.post({"id": "m-5", "text": "thanks", "author": {"id": "t1", "handle": "dan"}, "thread": "th-1"})[0] == 202
    assert ctx.post({"id": "m-6", "text": "thanks", "author": {"id": "t2", "handle": "eve"}, "thread": "th-1"})[0] == 202
    wait_until(lambda: ctx.db("SELECT count(*) FROM mentions WHERE state = 1")[0][0] == 6, 10, "processing")
    time.sleep(0.5)
    got = sorted(d["body"]["in_reply_to"] for d in r.delivered())
    assert got == ["m-3", "m-5"], got
    rows = dict(ctx.db("SELECT platform_id, reason FROM mentions"))
    assert rows["m-1"] == "bot_author" and rows["m-2"] == "self"
    assert rows["m-4"] == "cooldown" and rows["m-6"] == "thread_replied"
    # the complaint on cooldown still reached a person
    hs = {h["mention_id"]: h for h in ctx.handoffs()}
    assert "m-4" in hs and hs["m-4"]["queue"] == "support" and hs["m-4"]["reply"] is None
    assert "m-1" not in hs and "m-2" not in hs


def test_spam_gets_no_reply_but_a_handoff(ctx):
    r = setup(ctx)
    assert ctx.post(mention(1, "get free followers now!!"))[0] == 202
    wait_until(lambda: len(ctx.handoffs()) == 1, 10, "spam handoff")
    time.sleep(0.3)
    assert r.deliveries == []
    assert ctx.handoffs()[0]["queue"] == "moderation"


def test_metrics_and_health(ctx):
    r = setup(ctx)
    for i in range(5):
        assert ctx.post(mention(i))[0] == 202
    assert r.wait_for(5, 10 * SLOW)
    wait_until(lambda: ctx.metrics().get('ackbot_replies_sent_total{source="webhook"}') == 5, 5, "metrics")
    m = ctx.metrics()
    assert m['ackbot_mentions_received_total{source="webhook"}'] == 5
    assert m["ackbot_ack_latency_seconds_count"] == 5
    assert m["ackbot_reply_latency_seconds_count"] == 5
    assert m["ackbot_handoffs_open"] == 0
    assert m['ackbot_ack_latency_seconds_bucket{le="+Inf"}'] == 5
    st, body = ctx.get("/healthz", port=ctx.admin)
    assert st == 200 and body == "ok\n"


def test_no_reply_url_hands_off(ctx):
    ctx.write_config(reply_url=None)
    ctx.start()
    assert ctx.post(mention(1))[0] == 202
    wait_until(lambda: len(ctx.handoffs()) == 1, 10, "handoff without a reply url")
    assert ctx.handoffs()[0]["reason"] == "delivery_failed"


def test_listeners_bind_loopback_only(ctx):
    setup(ctx)

    def listening(path):
        out = set()
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            return out
        for line in lines:
            f = line.split()
            if f[3] == "0A":            # TCP_LISTEN
                addr, port = f[1].split(":")
                out.add((addr, int(port, 16)))
        return out

    v4, v6 = listening("/proc/net/tcp"), listening("/proc/net/tcp6")
    for port in (ctx.port, ctx.admin):
        assert ("0100007F", port) in v4, (port, v4)
        assert not any(p == port for _, p in v6), (port, v6)
        assert ("00000000", port) not in v4
