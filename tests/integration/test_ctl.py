"""The running daemon from the command line (status, reload, stop), the starter (init) and
the reply receiver, against the real binary."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from integration.daemon import SECRET, SLOW, binary, env_for_tests, free_port, mention, wait_until
import webhooks


def ackbot(*args, env=None, timeout=60):
    e = env_for_tests()
    e.update(env or {})
    return subprocess.run([binary(), *args], capture_output=True, text=True, env=e,
                          timeout=timeout * SLOW)


def status(ctx, *extra):
    return ackbot("status", "-c", ctx.config, *extra)


def test_status_reload_stop(ctx):
    ctx.write_config()
    r = status(ctx)
    assert r.returncode == 3, r
    assert f"ackbot is not running on data_dir {ctx.data}" in r.stdout
    assert "store: no store yet" in r.stdout
    p = ctx.start()
    r = status(ctx, "--wait", "--timeout", "10s")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"ackbot is running: pid {p.pid}, up " in out, out
    assert "tickets open: 0" in out and "replies pending: 0" in out
    assert f"webhook      webhook   listening on 127.0.0.1:{ctx.port}/hooks/generic " \
           "(no reply_url: replies are handed off)" in out, out
    assert "console      console   off: enabled: false" in out, out
    assert "last error: none" in out
    # a mention: decided and ticketed by the time --wait returns
    st, _ = ctx.post(mention(1, "@brand my order #A12345 arrived broken"))
    assert st == 202
    r = status(ctx, "--wait", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["state"] == "running" and j["pid"] == p.pid
    assert j["store"]["mentions_waiting"] == 0 and j["store"]["tickets_open"] == 1, j
    assert [s["name"] for s in j["sources"]] == ["console", "webhook"]

    # reload: a changed listener is reported as needing a restart
    new_admin = free_port()
    with open(ctx.config) as f:
        text = f.read()
    with open(ctx.config, "w") as f:
        f.write(text.replace(f"127.0.0.1:{ctx.admin}", f"127.0.0.1:{new_admin}")
                    .replace("path: /hooks/generic", "path: /hooks/other"))
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 0, r.stderr
    assert f"reloaded (pid {p.pid}): " in r.stdout and " intents" in r.stdout, r.stdout
    assert f"admin.listen (127.0.0.1:{ctx.admin} -> 127.0.0.1:{new_admin})" in r.stdout, r.stdout
    assert "sources: webhook.path (/hooks/generic -> /hooks/other)" in r.stdout, r.stdout
    assert ctx.get("/healthz", port=ctx.admin)[0] == 200     # still the old listener
    with open(ctx.config, "w") as f:
        f.write(text)

    # reload with an error in an intent: file:line:column and the hint, the old set stays
    bad = os.path.join(ctx.dir, "intents")
    os.makedirs(bad)
    for name in os.listdir(os.path.join(os.path.dirname(__file__), "intents")):
        with open(os.path.join(os.path.dirname(__file__), "intents", name)) as src, \
                open(os.path.join(bad, name), "w") as dst:
            dst.write(src.read())
    with open(os.path.join(bad, "zz.yaml"), "w") as f:
        f.write("intents:\n  - name: zz\n    priority: 5\n    patterns: ['zzz']\n"
                "    reply: 'hi {{tiket}}'\n")
    with open(ctx.config, "w") as f:
        f.write(text.replace(os.path.join(os.path.dirname(__file__), "intents"), bad))
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 1, (r.stdout, r.stderr)
    zz = os.path.join(bad, "zz.yaml")
    assert f"{zz}:5:16: error: unknown template variable 'tiket' in intent 'zz'" in r.stderr, r.stderr
    assert "  hint: did you mean {{ticket}}?" in r.stderr
    assert f"ackbot: not reloaded (pid {p.pid}): errors: the previous configuration stays in use" in r.stderr
    r = status(ctx)
    assert "last reload: " in r.stdout and ", failed: errors" in r.stdout, r.stdout
    assert f"{zz}:5:16: error: unknown template variable" in r.stdout
    assert "last error: " in r.stdout and "event=reload" in r.stdout, r.stdout
    assert "reload_error" in ctx.log_text() and "hint=" in ctx.log_text()
    st, _ = ctx.post(mention(2, "@brand thanks so much"))     # still served
    assert st == 202

    # zero sources on SIGHUP: refused like check refuses it
    with open(ctx.config, "w") as f:
        f.write(text.split("sources:")[0] + "sources: []\n")
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 1
    assert "error: no sources: ackbot would never receive a mention" in r.stderr, r.stderr
    with open(ctx.config, "w") as f:
        f.write(text)

    r = ackbot("stop", "-c", ctx.config)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"stopped (pid {p.pid})"
    assert p.wait(timeout=1) == 0
    assert not os.path.exists(os.path.join(ctx.data, "ackbot.status"))
    r = status(ctx)
    assert r.returncode == 3 and "not running" in r.stdout
    assert "tickets open: 2" in r.stdout, r.stdout   # the second: its reply could not be delivered
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 3 and "no daemon runs on data_dir" in r.stderr
    r = ackbot("stop", "-c", ctx.config)
    assert r.returncode == 0 and "not running" in r.stdout


def test_status_after_kill9_and_while_the_store_is_locked(ctx):
    ctx.write_config()
    p = ctx.start()
    assert status(ctx, "--wait").returncode == 0
    # another process holds the store's write lock: status still answers, read-only
    con = sqlite3.connect(os.path.join(ctx.data, "ackbot.db"), timeout=1, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.monotonic()
        r = status(ctx)
        assert r.returncode == 0 and "tickets open: 0" in r.stdout, r
        assert time.monotonic() - t0 < 5 * SLOW
    finally:
        con.execute("ROLLBACK")
        con.close()
    ctx.kill9()
    # the status file is left behind, with its pid: nobody holds the lock, so not running
    assert os.path.exists(os.path.join(ctx.data, "ackbot.status"))
    r = status(ctx)
    assert r.returncode == 3, r.stdout
    assert "not running" in r.stdout
    r = status(ctx, "--wait", "--timeout", "300ms")
    assert r.returncode == 3 and "no daemon runs" in r.stderr
    # and a new daemon on it starts, and is the one status sees
    p2 = ctx.start()
    r = status(ctx, "--wait", "--json")
    assert json.loads(r.stdout)["pid"] == p2.pid != p.pid


def test_status_never_keeps_a_daemon_from_starting(ctx):
    """status reads the kernel's lock table: were it to take the lock for a moment, a
    daemon starting at that moment would refuse ("in use by another ackbot")."""
    ctx.write_config()
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            status(ctx)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(6):
            ctx.start()
            ctx.stop()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert "in use by another ackbot" not in ctx.log_text()


def test_init_writes_a_starter_that_passes_check(ctx):
    d = os.path.join(ctx.dir, "mybot")
    r = ackbot("init", "--handle", "@acme", d)
    assert r.returncode == 0, r.stderr
    assert f"wrote {d}/ackbot.yaml and 4 intent files in {d}/intents/" in r.stdout
    cfg = os.path.join(d, "ackbot.yaml")
    with open(cfg) as f:
        text = f.read()
    assert "handles: [acme]" in text and text.count("\n#") > 3     # commented
    r = ackbot("check", "-c", cfg)
    assert r.returncode == 0 and "(0 warnings)" in r.stdout, (r.stdout, r.stderr)
    r = ackbot("intents", "verify", "-c", cfg)
    assert r.returncode == 0, r.stdout + r.stderr
    cases = [("@acme my order #A12345 arrived broken", "problem", "order A12345"),
             ("@acme thanks for the quick delivery!", "thanks", None),
             ("@acme oh great, late again...", "problem", None),
             ("@acme thanks for nothing", "problem", None),
             ("@acme mi pedido llegó roto", "problem", None),
             ("@acme what about the new logo", "fallback", None)]
    for text_in, intent, in_reply in cases:
        r = ackbot("intents", "test", "-c", cfg, "--json", text_in)
        j = json.loads(r.stdout)
        assert j["intent"] == intent, (text_in, j)
        if in_reply:
            assert in_reply in j["reply"], j
    # a second init changes nothing
    before = {n: os.path.getmtime(os.path.join(d, "intents", n)) for n in os.listdir(os.path.join(d, "intents"))}
    r = ackbot("init", d)
    assert r.returncode == 1
    assert f"ackbot: {d}/ackbot.yaml exists already: nothing written" in r.stderr
    after = {n: os.path.getmtime(os.path.join(d, "intents", n)) for n in os.listdir(os.path.join(d, "intents"))}
    assert before == after
    # one intent file there already: still nothing written
    d2 = os.path.join(ctx.dir, "other")
    os.makedirs(os.path.join(d2, "intents"))
    with open(os.path.join(d2, "intents", "80-thanks.yaml"), "w") as f:
        f.write("# mine\n")
    r = ackbot("init", d2)
    assert r.returncode == 1 and not os.path.exists(os.path.join(d2, "ackbot.yaml"))
    r = ackbot("init", "--handle", "a b", os.path.join(ctx.dir, "x"))
    assert r.returncode == 2


def start_receiver(ctx, port, env=None, *extra):
    e = env_for_tests()
    e["ACKBOT_WEBHOOK_SECRET"] = SECRET
    e.update(env or {})
    p = subprocess.Popen([binary(), "receiver", "--listen", f"127.0.0.1:{port}", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    ctx.procs.append(p)
    deadline = time.monotonic() + 10 * SLOW
    while time.monotonic() < deadline:
        try:
            ctx.raw("GET", "/", port=port)
            return p
        except OSError:
            time.sleep(0.05)
    raise AssertionError("receiver did not listen")


def test_receiver_verifies_and_prints(ctx):
    port = free_port()
    p = start_receiver(ctx, port)
    body = json.dumps({"in_reply_to": "m-1", "text": "hi @ana \x1b[2J & \"quoted\"\u009b",
                       "intent": "greeting", "ticket": "T-ABC123",
                       "author": {"id": "42", "handle": "ana"}}).encode()
    h = {"content-type": "application/json", **webhooks.sign(SECRET, "ack_1", body)}
    st, text = ctx.raw("POST", "/replies", body, h, port=port)
    assert st == 200 and json.loads(text) == {"status": "received"}
    st, text = ctx.raw("POST", "/replies", body, h, port=port)      # redelivered
    assert st == 200 and json.loads(text) == {"status": "already received"}
    other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    h2 = {"content-type": "application/json", **webhooks.sign(other, "ack_2", body)}
    st, _ = ctx.raw("POST", "/replies", body, h2, port=port)
    assert st == 401
    st, _ = ctx.raw("POST", "/replies", b"{}", {"content-type": "application/json"}, port=port)
    assert st == 401
    bad = b"not json"
    st, _ = ctx.raw("POST", "/replies", bad, webhooks.sign(SECRET, "ack_3", bad), port=port)
    assert st == 400
    st, _ = ctx.raw("POST", "/elsewhere", body, h, port=port)
    assert st == 404
    # nor through the intent
    evil = json.dumps({"in_reply_to": "m-2", "text": "x", "intent": "x\x1b]0;pwned\x07"}).encode()
    h3 = {"content-type": "application/json", **webhooks.sign(SECRET, "ack_9", evil)}
    assert ctx.raw("POST", "/replies", evil, h3, port=port)[0] == 200
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10 * SLOW)
    assert p.returncode == 0, err
    assert "[greeting] hi @ana  [2J & \"quoted\" \n    in reply to m-1, ticket T-ABC123, webhook-id ack_1" in out, out
    assert "(again, same webhook-id) [greeting]" in out
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert err.count("rejected a delivery from 127.0.0.1") == 3, err
    assert "signature" in err and "not a JSON object" in err
    assert "[x ]0;pwned ] x" in out, out
    assert "3 received, 3 rejected" in err
    # no secret: a clear error, not a receiver that accepts anything
    r = ackbot("receiver", "--listen", f"127.0.0.1:{free_port()}", env={"ACKBOT_WEBHOOK_SECRET": ""})
    assert r.returncode == 1 and "ACKBOT_WEBHOOK_SECRET is unset" in r.stderr and "hint:" in r.stderr
    # a taken port: exit 3, in words
    busy = start_receiver(ctx, port)
    r = ackbot("receiver", "--listen", f"127.0.0.1:{port}", env={"ACKBOT_WEBHOOK_SECRET": SECRET})
    assert r.returncode == 3 and "in use by another process" in r.stderr, r.stderr
    busy.terminate()


def test_receiver_gets_the_daemons_replies(ctx):
    port = free_port()
    p = start_receiver(ctx, port, None, "--json")
    ctx.write_config(reply_url=f"http://127.0.0.1:{port}/replies")
    ctx.start()
    st, _ = ctx.post(mention(7, "@brand my order #A12345 arrived broken", handle="ana"))
    assert st == 202
    wait_until(lambda: ctx.db("SELECT count(*) FROM replies WHERE state = 1")[0][0] == 1, 10,
               "the reply delivered")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10 * SLOW)
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 1 and docs[0]["in_reply_to"] == "m-7" and "A12345" in docs[0]["text"], docs
    assert "1 received, 0 rejected" in err


def test_reload_and_stop_while_the_daemon_starts(ctx):
    """A signal that came between taking the data directory and setting up the handlers
    killed the daemon (exit 129 on SIGHUP): the start was held up by another process
    holding the store's lock."""
    ctx.write_config()
    ctx.start()
    ctx.stop()
    con = sqlite3.connect(os.path.join(ctx.data, "ackbot.db"), timeout=1, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        p = ctx.start(wait=False)
        wait_until(lambda: ackbot("status", "-c", ctx.config).stdout.startswith(
            f"ackbot is starting: pid {p.pid}"), 10, "the daemon holding its data directory")
        rl = subprocess.Popen([binary(), "reload", "-c", ctx.config], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env_for_tests())
        time.sleep(0.5 * SLOW)
        assert p.poll() is None, f"the daemon died of the signal: {p.returncode}"
    finally:
        con.execute("ROLLBACK")
        con.close()
    out, err = rl.communicate(timeout=30 * SLOW)
    assert rl.returncode == 0, err
    assert out.startswith(f"reloaded (pid {p.pid})"), out
    ctx.wait_healthy()
    r = ackbot("stop", "-c", ctx.config)
    assert r.returncode == 0 and p.wait(timeout=5) == 0, r.stderr


def test_a_store_locked_at_start_holds_the_start_up_not_fails_it(ctx):
    """Another process holding the store's write lock longer than the 2 s busy timeout
    (an operator's sqlite3, a backup) failed the start ("begin: database is locked",
    exit 3). Now the daemon waits, says so once, and starts when the lock goes; a
    SIGTERM while it waits stops it cleanly."""
    ctx.write_config()
    ctx.start()
    ctx.stop()
    con = sqlite3.connect(os.path.join(ctx.data, "ackbot.db"), timeout=1, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        p = ctx.start(wait=False)
        wait_until(lambda: "event=store_locked" in ctx.log_tail(), 10, "the wait said")
        time.sleep(3)   # past the old 2 s busy timeout
        assert p.poll() is None, f"the start failed:\n{ctx.log_tail()}"
    finally:
        con.execute("ROLLBACK")
        con.close()
    ctx.wait_healthy()
    assert ctx.log_text().count("event=store_locked") == 1
    assert "start_failed" not in ctx.log_text()
    st, _ = ctx.post(mention(1, "@brand thanks, great service!", handle="ana"))
    assert st == 202
    ctx.stop()

    con = sqlite3.connect(os.path.join(ctx.data, "ackbot.db"), timeout=1, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        p = ctx.start(wait=False)
        wait_until(lambda: ctx.log_tail().count("event=store_locked") == 1, 10, "the wait said")
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=5 * SLOW) == 0, ctx.log_tail()
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert "start_failed" not in ctx.log_tail()


def test_status_trusts_only_this_runs_file(ctx):
    """A status file with the daemon's pid but another run's boot id (pid reuse after a
    kill -9, or a container's pid 1) is not this daemon's."""
    ctx.write_config()
    p = ctx.start()
    assert status(ctx, "--wait").returncode == 0
    path = os.path.join(ctx.data, "ackbot.status")
    with open(path) as f:
        doc = json.load(f)
    assert len(doc["boot"]) == 16 and os.path.isabs(doc["data_dir"]) and os.path.isabs(doc["config"])
    with open(os.path.join(ctx.data, "ackbot.pid")) as f:
        assert f.read() == f"{p.pid}\nboot={doc['boot']}\n"
    doc.update(boot="0123456789abcdef", reload={"seq": 9, "at": 0, "ok": True, "summary": "old",
                                                 "errors": [], "restart": []})
    with open(path, "w") as f:
        json.dump(doc, f)
    j = json.loads(status(ctx, "--json").stdout)
    assert j["state"] == "starting" and "reload" not in j, j
    r = status(ctx, "--wait", "--timeout", "300ms")
    assert r.returncode == 1 and "has not finished starting" in r.stderr


def test_restart_needed_is_judged_against_the_running_configuration(ctx):
    secret = os.path.join(ctx.dir, "secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    ctx.write_config(webhook_extra=f"    secret_file: {secret}\n")
    with open(ctx.config) as f:
        text = f.read()
    text = text.replace("    secret_env: TEST_WEBHOOK_SECRET\n", "")
    with open(ctx.config, "w") as f:
        f.write(text)
    ctx.start(secret=None)
    other = free_port()
    a = f"127.0.0.1:{ctx.admin}"
    with open(ctx.config, "w") as f:
        f.write(text.replace(a, f"127.0.0.1:{other}"))
    for _ in range(2):      # the second reload still says so: the listener did not move
        r = ackbot("reload", "-c", ctx.config)
        assert f"admin.listen ({a} -> 127.0.0.1:{other})" in r.stdout, r.stdout
    with open(ctx.config, "w") as f:
        f.write(text)
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 0 and "restart" not in r.stdout, r.stdout
    # a rotated secret file is read at start only: say so
    with open(secret, "w") as f:
        f.write("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=" + "\n")
    r = ackbot("reload", "-c", ctx.config)
    assert f"sources: webhook.secret_file ({secret} -> its content changed)" in r.stdout, r.stdout
    # a source added by a reload is not "enabled: false"
    with open(ctx.config, "a") as f:
        f.write("  - type: console\n    name: extra\n")
    r = ackbot("reload", "-c", ctx.config)
    assert "sources: extra (console) added" in r.stdout, r.stdout
    assert "extra        console   not running: added by a reload" in status(ctx).stdout


def test_a_status_file_that_cannot_be_written_is_one_warning(ctx):
    ctx.write_config()
    os.makedirs(os.path.join(ctx.data, "ackbot.status", "in-the-way"))
    ctx.start()
    st, _ = ctx.post(mention(1, "@brand thanks!"))
    assert st == 202
    time.sleep(1.2 * SLOW)
    assert ctx.log_text().count("event=status_file") == 1, ctx.log_text()
    assert not os.path.exists(os.path.join(ctx.data, ".ackbot.status.tmp"))
    r = status(ctx)
    assert r.returncode == 0 and "ackbot is starting" in r.stdout   # no file of this run


def test_stop_and_status_reach_a_daemon_whatever_the_configuration_says(ctx):
    ctx.write_config()
    p = ctx.start()
    with open(ctx.config) as f:
        text = f.read()
    with open(ctx.config, "w") as f:
        f.write(text.replace("log_level: debug", "log_level: debug\n\tbroken: tab"))
    r = ackbot("stop", "-c", ctx.config)
    assert r.returncode == 1 and "hint: --data-dir DIR reaches the daemon" in r.stderr, r.stderr
    r = ackbot("reload", "-c", ctx.config)
    assert r.returncode == 1 and "not reloaded: fix the configuration first" in r.stderr
    assert p.poll() is None
    r = ackbot("status", "--data-dir", ctx.data)
    assert r.returncode == 0 and f"pid {p.pid}" in r.stdout, r.stdout
    r = ackbot("stop", "--data-dir", ctx.data)
    assert r.returncode == 0 and r.stdout.strip() == f"stopped (pid {p.pid})"
    assert p.wait(timeout=1) == 0       # stopped means exited, not only unlocked


def test_init_refuses_what_would_not_load(ctx):
    for bad in ("*brand", "!brand", "%x", "?x", "a b"):
        r = ackbot("init", "--handle", bad, os.path.join(ctx.dir, "x"))
        assert r.returncode == 2 and "invalid --handle" in r.stderr, (bad, r.stderr)
    assert not os.path.exists(os.path.join(ctx.dir, "x"))
    d = os.path.join(ctx.dir, "a", "b c", "it's")
    r = ackbot("init", d)           # parents made; the commands quoted for a shell
    assert r.returncode == 0, r.stderr
    line = [x for x in r.stdout.splitlines() if "ackbot check -c" in x][0]
    cmd = line.split("ackbot ", 1)[1]
    r2 = subprocess.run(f"{binary()} {cmd}", shell=True, capture_output=True, text=True,
                        env=env_for_tests())
    assert r2.returncode == 0 and r2.stdout.startswith("ok: "), (cmd, r2.stderr)
    r = subprocess.run([binary().encode(), b"init", os.path.join(ctx.dir, "bad").encode() + b"\xff"],
                       capture_output=True, env=env_for_tests())
    assert r.returncode == 2 and b"not UTF-8" in r.stderr, r.stderr
