"""The console as a person uses it, through a pseudo-terminal: a REPL in the foreground
(line editing, history, commands, output above the prompt, the log off the prompt, colour
and NO_COLOR), silent in the background, and the same commands on a pipe."""
import json
import os
import re
import signal
import subprocess
import time

from integration import daemon
from integration.ptyrun import Pty


def repl_config(ctx):
    """The shipped intents (replies in ten languages), the console forced to auto."""
    return ctx.write_config(intents=os.path.join(daemon.ROOT, "intents"),
                            extra="guard: {enabled: false}")


def start_repl(ctx, env_extra=None, background=False):
    repl_config(ctx)
    with open(ctx.config) as f:
        text = f.read().replace("  - type: console\n    enabled: false",
                                "  - type: console\n    user: kim")
    with open(ctx.config, "w") as f:
        f.write(text)
    env = daemon.env_for_tests()
    env["TERM"] = "xterm"
    env["TEST_WEBHOOK_SECRET"] = daemon.SECRET
    env.pop("NO_COLOR", None)
    env.update(env_extra or {})
    t = Pty([daemon.binary(), "run", "-c", ctx.config], env=env, background=background)
    ctx.ptys = getattr(ctx, "ptys", []) + [t]
    return t


def stop(t):
    t.kill(signal.SIGTERM)
    assert t.wait(10 * daemon.SLOW) == 0, t.plain()[-2000:]


def test_repl_commands_history_and_log_off_the_prompt(ctx):
    t = start_repl(ctx)
    try:
        at = t.expect("/help lists the commands", 10 * daemon.SLOW)
        at = t.expect("the log goes to " + os.path.join(ctx.data, "console.log"), start=at)
        t.send("@brand thanks for the quick delivery!\r")
        at = t.expect("[thanks_praise] @kim", 10 * daemon.SLOW, at)
        t.send("/help\r")
        at = t.expect("/as NAME", start=at)
        # a bare handle and an arrow-key sequence typed alone are not mentions
        t.send("@brand\r")
        at = t.expect("type a message after @brand", start=at)
        t.send("/as ana\r")
        at = t.expect("(speaking as @ana)", start=at)
        t.send("/lang de\r")
        at = t.expect("(language: de)", start=at)
        t.send("/lang xx-garbage\r")
        at = t.expect("/lang takes a language code", start=at)
        t.send("@brand danke, alles super\r")
        at = t.expect("[thanks_praise] @ana vielen Dank", 10 * daemon.SLOW, at)
        # history: up arrow brings the last line back, Enter sends it again
        t.send("\x1b[A\r")
        at = t.expect("[thanks_praise] @ana vielen Dank", 10 * daemon.SLOW, at)
        # a line longer than a terminal's line limit (4,095 bytes) arrives whole
        long_text = "@brand my order #A12345 arrived broken " + "x" * 6000
        t.send(long_text + "\r")
        at = t.expect("handoff: ticket T-", 10 * daemon.SLOW, at)
        t.send("/tickets\r")
        at = t.expect("1 open handoff from console", 10 * daemon.SLOW, at)
        t.send("/bogus\r")
        at = t.expect("unknown command /bogus", start=at)
        # nothing of the log on the terminal once the console runs: it went to the file
        banner = t.plain().find("/help lists the commands")
        assert "level=" not in t.plain()[banner:], t.plain()[banner:]
        with open(os.path.join(ctx.data, "console.log")) as f:
            log = f.read()
        assert "event=ready" in log and "event=decided" in log, log[-2000:]
        assert "\x1b[32m[thanks_praise]\x1b[0m" in t.text()    # colour on a terminal
        t.send("\x04")                                          # Ctrl-D: the console only
        at = t.expect("console closed", start=at)
        time.sleep(0.3)
        assert t.alive()
        stop(t)
    finally:
        t.close()
    hs = ctx.handoffs()
    assert len(hs) == 1 and hs[0]["source"] == "console" and hs[0]["author"] == "ana", hs
    assert len(hs[0]["text"]) > 6000 and hs[0]["text"].endswith("x" * 100)
    # the console's try-outs are told apart and purged
    r = ctx.cli("handoff", "list", "--source", "webhook")
    assert "0 open handoffs from webhook" in r.stdout, r.stdout
    r = ctx.cli("handoff", "purge", "--source", "console")
    assert "1 ticket from console purged" in r.stdout, r.stdout
    assert ctx.handoffs() == []
    r = ctx.cli("handoff", "purge", "--source", "twitter", check=False)
    assert r.returncode == 1 and "no source 'twitter'" in r.stderr and "console" in r.stderr
    # the history is kept for the next session
    with open(os.path.join(ctx.data, "console_history"), encoding="utf-8") as f:
        kept = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f.read())  # strvis
    assert "@brand danke, alles super" in kept, kept[:300]


def test_repl_no_color_and_quit(ctx):
    t = start_repl(ctx, {"NO_COLOR": "1"})
    try:
        at = t.expect("/help lists the commands", 10 * daemon.SLOW)
        t.send("@brand thanks!\r")
        t.expect("[thanks_praise] @kim", 10 * daemon.SLOW, at)
        assert "\x1b[32m" not in t.text() and "\x1b[2m" not in t.text()
        t.send("/quit\r")
        assert t.wait(10 * daemon.SLOW) == 0
        assert "stopping ackbot" in t.plain()
    finally:
        t.close()


def test_background_daemon_never_touches_the_terminal(ctx):
    """`ackbot run -c ... &` in an interactive shell: the console stays off (the shell would
    stop a background job that reads the terminal), the daemon serves its other sources."""
    t = start_repl(ctx, background=True)
    try:
        end = time.monotonic() + 10 * daemon.SLOW
        pidfile = os.path.join(ctx.data, "ackbot.pid")
        while time.monotonic() < end and not (os.path.exists(pidfile) and open(pidfile).read().strip()):
            t.read(0.05)
        pid = int(open(pidfile).read().split()[0])
        t.expect("event=ready", 10 * daemon.SLOW)
        assert "the console needs the foreground" in t.plain(), t.plain()
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        assert state != "T", "the daemon was stopped by the terminal"
        t.send("@brand thanks\r")             # typed at the shell, not at ackbot
        time.sleep(0.5)
        assert "[thanks_praise]" not in t.plain()
        st, body = ctx.get("/healthz", port=ctx.admin)
        assert st == 200
        r = ctx.post(daemon.mention(1))
        assert r[0] == 202, r
        os.kill(pid, signal.SIGTERM)
        assert t.wait(10 * daemon.SLOW) == 0
    finally:
        t.close()


def test_piped_console_commands_and_controls(ctx):
    """enabled: true on a pipe: the same commands, control sequences and blank lines
    ignored, a line of 100,000 bytes read whole."""
    ctx.write_config(console=True)
    p = ctx.start(stdin=subprocess.PIPE)
    long_line = "@brand my order #A12345 arrived broken " + "y" * 100000
    p.stdin.write(("\n   \n\x1b[A\x1b[B\n@brand\n/as zoe\n" + long_line + "\n/nope\n").encode())
    p.stdin.flush()
    out = []
    deadline = time.monotonic() + 10 * daemon.SLOW
    while time.monotonic() < deadline:
        line = p.stdout.readline().decode()
        out.append(line)
        if "unknown command /nope" in line:
            break
    text = "".join(out)
    assert "type a message after @brand" in text and "(speaking as @zoe)" in text, text
    daemon.wait_until(lambda: len(ctx.handoffs()) == 1, 10, "the ticket")
    hs = ctx.handoffs()
    assert hs[0]["author"] == "zoe" and len(hs[0]["text"]) > 100000, hs[0]["author"]
    p.stdin.close()
    assert ctx.stop() < 5
