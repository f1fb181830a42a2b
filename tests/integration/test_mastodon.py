"""The mastodon source against the Mastodon stand-in: streaming, visibility, HTML, etiquette,
bad token, reconnect with backfill, 429, lost responses, kill -9, duplicate deliveries."""
import json
import os
import time

from integration.daemon import SLOW, wait_until

TOKEN = "test-token"


def setup(ctx, start=True, token=TOKEN, extra="",
          sender="{timeout: 2s, max_attempts: 20, backoff_min: 100ms, backoff_max: 1s}", **kw):
    import mastodon as standin
    ms = standin.Mastodon(**kw)
    ctx.receivers.append(ms)          # closed at clean-up
    ctx.data = os.path.join(ctx.dir, "var")
    ctx.config = os.path.join(ctx.dir, "ackbot.yaml")
    with open(ctx.config, "w") as f:
        f.write(f"""bot: {{handles: [brand]}}
data_dir: {ctx.data}
log_level: debug
intents: {{paths: [{os.path.join(os.path.dirname(__file__), "intents")}]}}
policy: {{cooldown: 0s, one_reply_per_thread: false}}
sender: {sender}
admin: {{listen: 127.0.0.1:{ctx.admin}}}
sources:
  - type: mastodon
    base_url: {ms.base_url}
    token_env: TEST_MASTODON_TOKEN
    ping: 2s
{extra}
""")
    os.environ["TEST_MASTODON_TOKEN"] = token
    if start:
        ctx.start(secret=None)
        assert ms.wait(lambda: ms.streams, 10 * SLOW), "no streaming connection\n" + ctx.log_tail()
        wait_until(lambda: "first_start" in ctx.log_text() or "backfilled" in ctx.log_text(), 10)
    return ms


def test_reply_in_thread_with_visibility(ctx):
    ms = setup(ctx)
    notes = {}
    for vis in ("public", "unlisted", "private", "direct"):
        notes[vis] = ms.mention(f"@brand thanks for the {vis} help!", username=f"u{vis}",
                                domain="remote.example", visibility=vis)
    cw = ms.mention("@brand my order #A12345 arrived broken", username="bob",
                    spoiler_text="order trouble", language="de")
    assert ms.wait(lambda: len(ms.replies) == 5, 10 * SLOW), ms.replies
    for vis, n in notes.items():
        r = ms.replies_to(n["status"]["id"])
        assert len(r) == 1, r
        r = r[0]
        assert r["visibility"] == vis, (vis, r)
        assert r["text"] == f"@u{vis}@remote.example thank you!", r
        assert r["idempotency_key"] and r["idempotency_key"].startswith("ack_")
    r = ms.replies_to(cw["status"]["id"])[0]
    assert r["spoiler_text"] == "order trouble" and r["language"] == "de"
    assert r["text"].startswith("@bob sorry about order A12345, ref T-"), r
    hs = ctx.handoffs()
    assert len(hs) == 1 and hs[0]["source"] == "mastodon" and hs[0]["captures"] == {"order": "A12345"}
    assert hs[0]["text"] == "@brand my order #A12345 arrived broken"
    assert hs[0]["notification_id"] == cw["id"] and hs[0]["mention_id"] == cw["status"]["id"]
    log_path = os.path.join(ctx.data, "handoff.jsonl")
    wait_until(lambda: os.path.exists(log_path) and os.path.getsize(log_path) > 0, 5, "handoff log line")
    with open(os.path.join(ctx.data, "handoff.jsonl")) as f:
        line = json.loads(f.readline())
    assert line["notification_id"] == cw["id"] and line["ticket"] == hs[0]["ticket"]
    assert "test-token" not in ctx.log_text()


def test_html_is_read_as_people_wrote_it(ctx):
    ms = setup(ctx)
    n = ms.mention("@brand Tom & Jerry <3 it's \"great\"\n\nsecond line #A12345 broken", username="cy")
    assert ms.wait(lambda: len(ms.replies) == 1, 10 * SLOW)
    row = ctx.db("SELECT text FROM mentions")[0][0]
    assert row == "@brand Tom & Jerry <3 it's \"great\"\n\nsecond line #A12345 broken", row
    assert ms.replies[0]["text"].startswith("@cy sorry about order A12345")
    assert n["status"]["id"] == ms.replies[0]["in_reply_to_id"]


def test_bots_self_and_nobot_are_not_answered(ctx):
    ms = setup(ctx)
    ms.mention("@brand thanks!", username="tracker", bot=True)
    ms.mention("@brand thanks!", username="brand", account_id="1")
    ms.mention("@brand thanks!", username="quiet", note="<p>hi #NoBot please</p>")
    ms.mention("@brand thanks!", username="human")
    assert ms.wait(lambda: len(ms.replies) == 1, 10 * SLOW)
    wait_until(lambda: ctx.db("SELECT count(*) FROM mentions WHERE state = 1")[0][0] == 4, 10, "processing")
    time.sleep(0.5)
    assert [r["text"] for r in ms.replies] == ["@human thank you!"]
    reasons = sorted(r[0] for r in ctx.db("SELECT reason FROM mentions"))
    assert reasons == ["bot_author", "intent", "nobot", "self"], reasons


def test_bad_token_is_one_error_and_exit_3(ctx):
    setup(ctx, start=False, token="wrong")
    p = ctx.start(secret=None, wait=False)
    p.wait(timeout=10 * SLOW)
    assert p.returncode == 3, p.returncode
    log = ctx.log_text()
    assert log.count("event=source_failed") == 1 and "access token was rejected" in log, log
    assert "wrong" not in log


def test_stream_dropped_while_200_mentions_arrive(ctx):
    ms = setup(ctx)
    ms.refuse_upgrades = 3            # the stream stays away for a while
    ms.drop_streams()
    sent = [ms.mention(f"@brand thanks {i}", username=f"p{i}", stream=False) for i in range(200)]
    assert ms.wait(lambda: ms.streams, 30 * SLOW), "never reconnected"
    assert ms.wait(lambda: len(ms.replies) >= 200, 30 * SLOW), len(ms.replies)
    time.sleep(0.5)
    per = {}
    for r in ms.replies:
        per.setdefault(r["in_reply_to_id"], 0)
        per[r["in_reply_to_id"]] += 1
    assert all(per.get(n["status"]["id"]) == 1 for n in sent), "a mention answered twice or never"
    assert len(ms.replies) == 200


def test_429_then_recovery(ctx):
    ms = setup(ctx)
    ms.post_faults += [("status", 429, 1), ("status", 503, 0)]
    n = ms.mention("@brand thanks!", username="dee")
    assert ms.wait(lambda: len(ms.replies) == 1, 15 * SLOW)
    assert len(ms.posts) == 3
    assert ms.posts[1]["t"] - ms.posts[0]["t"] >= 0.9, "429 retried before X-RateLimit-Reset"
    assert len({p["key"] for p in ms.posts}) == 1
    assert ms.replies[0]["in_reply_to_id"] == n["status"]["id"]


def test_lost_response_creates_one_status(ctx):
    ms = setup(ctx)
    ms.post_faults.append(("lost",))
    ms.mention("@brand thanks!", username="eve")
    assert ms.wait(lambda: len(ms.posts) >= 2, 15 * SLOW), ms.posts
    time.sleep(0.5)
    assert len(ms.replies) == 1, ms.replies
    assert len({p["key"] for p in ms.posts}) == 1


def test_duplicate_notification_delivery(ctx):
    ms = setup(ctx)
    n = ms.mention("@brand thanks!", username="fay")
    ms.push(n)
    ms.push(n)
    assert ms.wait(lambda: len(ms.replies) >= 1, 10 * SLOW)
    time.sleep(0.7)
    assert len(ms.replies) == 1
    assert ctx.db("SELECT count(*) FROM mentions")[0][0] == 1


def test_kill9_mid_run_exactly_once(ctx):
    ms = setup(ctx)
    sent = []
    for i in range(150):
        sent.append(ms.mention(f"@brand thanks {i}", username=f"k{i}"))
        if i in (40, 90):
            ctx.kill9()
            ctx.start(secret=None)
    assert ms.wait(lambda: len({r["in_reply_to_id"] for r in ms.replies}) >= 150, 30 * SLOW), len(ms.replies)
    time.sleep(0.5)
    ids = [r["in_reply_to_id"] for r in ms.replies]
    assert len(ids) == len(set(ids)) == 150, (len(ids), len(set(ids)))


def test_kill9_during_backfill_leaves_no_gap(ctx):
    """Mentions sent while ackbot is down come back by backfill; if it is killed again while
    that backfill is still running, mentions the new stream delivered meanwhile must not move
    the cursor past the gap."""
    ms = setup(ctx)
    ctx.kill9()
    gap = [ms.mention(f"@brand thanks {i}", username=f"g{i}", stream=False) for i in range(5)]
    ms.notifications_delay = 3.0              # the backfill is slow to answer
    ctx.start(secret=None)
    assert ms.wait(lambda: ms.streams, 10 * SLOW), "no stream after restart"
    live = [ms.mention(f"@brand thanks live {i}", username=f"l{i}") for i in range(5)]
    assert ms.wait(lambda: len(ms.replies) >= 5, 10 * SLOW), ms.replies
    assert not any(ms.replies_to(n["status"]["id"]) for n in gap), "backfill was not slow"
    ctx.kill9()                                # before the backfill came back
    ms.notifications_delay = 0
    ctx.start(secret=None)
    want = {n["status"]["id"] for n in gap + live}
    assert ms.wait(lambda: want <= {r["in_reply_to_id"] for r in ms.replies}, 15 * SLOW), \
        [n["status"]["id"] for n in gap if not ms.replies_to(n["status"]["id"])]
    time.sleep(0.5)
    ids = [r["in_reply_to_id"] for r in ms.replies]
    assert len(ids) == len(set(ids)) == 10, ids


def test_stream_out_of_id_order_then_kill9_loses_nothing(ctx):
    """Defect: two notifications created at once reach the stream in either order. When the
    later id came first, its commit moved the cursor past the earlier one; killed before the
    earlier one arrived, the restart's backfill resumed after it and it was never answered.
    Only REST pages (complete, in id order) may move the cursor."""
    ms = setup(ctx)
    first = ms.mention("@brand thanks, first", username="early", stream=False)
    second = ms.mention("@brand thanks, second", username="late")     # on the stream only
    assert ms.wait(lambda: ms.replies_to(second["status"]["id"]), 10 * SLOW), ctx.log_tail()
    time.sleep(0.3)                              # committed, the cursor written if it moves
    ctx.kill9()                                  # before the earlier one is pushed
    ctx.start(secret=None)
    assert ms.wait(lambda: ms.replies_to(first["status"]["id"]), 15 * SLOW), \
        "the earlier notification was lost\n" + ctx.log_tail()
    time.sleep(0.5)
    ids = [r["in_reply_to_id"] for r in ms.replies]
    assert len(ids) == len(set(ids)) == 2, ids


def test_catch_up_moves_the_cursor_while_streaming(ctx):
    """The stream alone never moves the cursor; a catch-up page does, soon after mentions
    pile up, so a restart does not page through everything the stream brought."""
    ms = setup(ctx)
    sent = [ms.mention(f"@brand thanks {i}", username=f"c{i}") for i in range(25)]
    assert ms.wait(lambda: len(ms.replies) >= 25, 15 * SLOW), len(ms.replies)
    newest = max(int(n["id"]) for n in sent)
    wait_until(lambda: int((ctx.db("SELECT value FROM cursors") or [["0"]])[0][0]) >= newest,
               10, "the cursor to move past the streamed mentions")


def test_first_start_skips_old_history(ctx):
    ms = setup(ctx, start=False)
    ms.mention("@brand thanks from long ago", username="old", stream=False,
               created_at="2020-01-01T00:00:00.000Z")
    recent = ms.mention("@brand thanks just now", username="new", stream=False)
    ctx.start(secret=None)
    assert ms.wait(lambda: len(ms.replies) >= 1, 10 * SLOW)
    time.sleep(0.5)
    assert [r["in_reply_to_id"] for r in ms.replies] == [recent["status"]["id"]]


def test_stale_thanks_are_dropped_complaints_still_sent(ctx):
    ms = setup(ctx, sender="{timeout: 2s, max_attempts: 50, backoff_min: 300ms, backoff_max: 600ms, stale_thanks: 1s}")
    ms.post_faults += [("status", 503, 0)] * 8
    thanks = ms.mention("@brand thanks!", username="gil")
    comp = ms.mention("@brand it arrived broken", username="hal")
    assert ms.wait(lambda: len(ms.replies) >= 1, 20 * SLOW), ms.posts
    wait_until(lambda: "event=dropped_stale" in ctx.log_text(), 10, "the stale thank-you dropped")
    time.sleep(0.5)
    assert [r["in_reply_to_id"] for r in ms.replies] == [comp["status"]["id"]]
    state = dict(ctx.db("SELECT m.platform_id, r.state FROM replies r JOIN mentions m ON m.row = r.mention_row"))
    assert state[thanks["status"]["id"]] == 3 and state[comp["status"]["id"]] == 1, state


def test_silent_stream_is_replaced(ctx):
    ms = setup(ctx)
    first = ms.upgrades
    ms.silent = True                  # the connection stays open but nothing comes back
    n = ms.mention("@brand thanks!", username="ivy", stream=False)
    assert ms.wait(lambda: ms.upgrades > first, 20 * SLOW), "a silent stream was never replaced"
    ms.silent = False
    assert ms.wait(lambda: len(ms.replies_to(n["status"]["id"])) == 1, 15 * SLOW)


def test_two_accounts_side_by_side(ctx):
    import mastodon as standin
    other = standin.Mastodon(token="other-token")
    ctx.receivers.append(other)
    os.environ["TEST_MASTODON_TOKEN2"] = "other-token"
    ms = setup(ctx, start=False, extra=f"""  - type: mastodon
    name: second
    base_url: {other.base_url}
    token_env: TEST_MASTODON_TOKEN2
""")
    ctx.start(secret=None)
    assert ms.wait(lambda: ms.streams, 10 * SLOW) and other.wait(lambda: other.streams, 10 * SLOW)
    wait_until(lambda: ctx.log_text().count("event=first_start") == 2, 10, "both first starts")
    a = ms.mention("@brand thanks!", username="one")
    b = other.mention("@brand thanks!", username="two")
    assert ms.wait(lambda: len(ms.replies) == 1, 10 * SLOW)
    assert other.wait(lambda: len(other.replies) == 1, 10 * SLOW)
    assert ms.replies[0]["in_reply_to_id"] == a["status"]["id"]
    assert other.replies[0]["in_reply_to_id"] == b["status"]["id"]
    assert {r[0] for r in ctx.db("SELECT source FROM cursors")} == {"mastodon", "second"}


def test_public_answered_unlisted_by_config(ctx):
    ms = setup(ctx, extra="    reply_public: unlisted\n")
    a = ms.mention("@brand thanks!", username="pub", visibility="public")
    b = ms.mention("@brand thanks!", username="dm", visibility="direct")
    assert ms.wait(lambda: len(ms.replies) == 2, 10 * SLOW)
    vis = {r["in_reply_to_id"]: r["visibility"] for r in ms.replies}
    assert vis == {a["status"]["id"]: "unlisted", b["status"]["id"]: "direct"}, vis
