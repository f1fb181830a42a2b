"""`ackbot run` options: --log-format json, --log-file (reopened on SIGHUP, for log
rotation), --log-level and -q, and their usage errors."""
import json
import os
import signal
import subprocess
import time

from integration import daemon


def run(ctx, *args, stderr=subprocess.PIPE):
    env = daemon.env_for_tests()
    env["TEST_WEBHOOK_SECRET"] = daemon.SECRET
    p = subprocess.Popen([daemon.binary(), "run", "-c", ctx.config, *args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                         env=env)
    ctx.procs.append(p)
    ctx.proc = p
    return p


def test_json_log_lines(ctx):
    ctx.write_config()
    p = run(ctx, "--log-format", "json")
    ctx.wait_healthy()
    st, _ = ctx.post(daemon.mention(1, text='say "hi" & bye'))
    assert st == 202
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10 * daemon.SLOW)
    assert p.returncode == 0
    lines = [json.loads(l) for l in err.decode().splitlines() if l.strip()]
    assert lines and all({"ts", "level", "mod", "event"} <= set(o) for o in lines), lines[:3]
    ready = [o for o in lines if o["event"] == "ready"][0]
    assert isinstance(ready["pid"], int) and ready["pid"] == p.pid
    events = {o["event"] for o in lines}
    assert {"ready", "stopped"} <= events, events


def test_log_file_reopened_on_sighup(ctx):
    ctx.write_config()
    path = os.path.join(ctx.dir, "ackbot.log")
    p = run(ctx, "--log-file", path)
    ctx.wait_healthy()
    with open(path) as f:
        assert "event=ready" in f.read()
    os.rename(path, path + ".1")                 # what logrotate does
    p.send_signal(signal.SIGHUP)
    daemon.wait_until(lambda: os.path.exists(path) and "event=reload" in open(path).read(),
                      10, "the reopened log file")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10 * daemon.SLOW)
    assert p.returncode == 0 and b"event=" not in err, err
    with open(path) as f:
        assert "event=stopped" in f.read()
    with open(path + ".1") as f:
        assert "event=stopped" not in f.read()


def test_quiet_and_levels(ctx):
    ctx.write_config()
    p = run(ctx, "-q")
    ctx.wait_healthy()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=10 * daemon.SLOW)
    assert p.returncode == 0
    assert b"level=info" not in err and b"level=debug" not in err, err
    for args, msg in ((["--log-level", "loud"], "invalid --log-level 'loud'"),
                      (["-q", "--log-level", "debug"], "-q and --log-level both given"),
                      (["--log-format", "xml"], "invalid --log-format 'xml'")):
        r = ctx.cli("run", *args, check=False)
        assert r.returncode == 2 and msg in r.stderr, (args, r.returncode, r.stderr)
    r = ctx.cli("run", "--log-file", os.path.join(ctx.dir, "no", "such", "dir", "x.log"),
                check=False)
    assert r.returncode == 3 and "cannot open the log file" in r.stderr, r.stderr
    assert "hint: create its directory first" in r.stderr, r.stderr
