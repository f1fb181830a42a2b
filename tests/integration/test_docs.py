"""The README's tour, run as written: its commands are read from README.md (every ```sh
block of "A five-minute tour", in order, and the ```yaml file it asks to create), not
copied here, and run by one bash in a copy of the checkout's config/, intents/ and
tests/standins/ with build/ pointing at the binary under test. One substitution: the
ticket id placeholder T-XXXXXX, which a reader copies from `handoff list`, becomes the id
that list printed."""
import json
import os
import re
import shutil
import subprocess

from integration.daemon import SLOW, binary, env_for_tests

TICKET = ("$(./build/ackbot handoff list --json | "
          "python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"ticket\"])')")


def tour(readme):
    """[("sh", text) | ("file", path, text)] of the tour section, in order."""
    with open(readme) as f:
        text = f.read()
    start = text.index("## A five-minute tour")
    end = text.index("\n## ", start + 1)
    sec = text[start:end]
    steps = []
    for m in re.finditer(r"```(\w+)\n(.*?)```", sec, re.S):
        kind, body = m.group(1), m.group(2)
        if kind == "sh":
            steps.append(("sh", body))
        elif kind == "yaml":
            before = sec[:m.start()].rstrip().rsplit("\n\n", 1)[-1]
            p = re.findall(r"Create `([^`]+)`", before)
            assert p, f"a yaml block without 'Create `PATH`' before it:\n{before}"
            steps.append(("file", p[-1], body))
    return steps


def quick_start_commands(readme):
    """The commands the Quick start shows inline (`./build/ackbot ...`), in order, but for
    the interactive ones (a bare `run`: the console REPL, which test_console_repl drives
    through a pseudo-terminal)."""
    with open(readme) as f:
        text = f.read()
    start = text.index("## Quick start")
    sec = text[start:text.index("\n## ", start + 1)]
    out = []
    for m in re.finditer(r"`([^`]*\./build/ackbot [^`]*)`", sec.replace("\n", " ")):
        cmd = m.group(1).split(" answers and exits")[0]
        if re.search(r"(^|\s)\./build/ackbot run\b", cmd) and "|" not in cmd:
            continue
        out.append(cmd)
    return out


def commands(body):
    """The block's commands, continuation lines joined."""
    out, cur = [], ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            out.append(cur)
        cur = ""
    return out


def test_readme_tour_runs_as_written(ctx):
    import integration.daemon as d
    root = d.ROOT
    steps = tour(os.path.join(root, "README.md"))
    assert sum(1 for s in steps if s[0] == "sh") >= 4 and any(s[0] == "file" for s in steps)
    work = os.path.join(ctx.dir, "checkout")
    os.makedirs(work)
    for sub in ("config", "intents", os.path.join("tests", "standins")):
        shutil.copytree(os.path.join(root, sub), os.path.join(work, sub),
                        ignore=shutil.ignore_patterns("__pycache__"))
    os.symlink(os.path.dirname(binary()), os.path.join(work, "build"))
    model = os.path.join(root, "var", "guard.model")
    if os.path.exists(model):           # else the daemon trains one at its first start
        os.makedirs(os.path.join(work, "var"))
        shutil.copy(model, os.path.join(work, "var"))

    script = ["set -eu"]
    n = 0
    # the Quick start's commands first, as the README has them, then the tour
    quick = quick_start_commands(os.path.join(root, "README.md"))
    assert len(quick) >= 4, quick
    for cmd in quick:
        n += 1
        script.append(f"echo '@@@ {n}'")
        script.append(cmd)
    for st in steps:
        if st[0] == "file":
            path = os.path.join(work, st[1])
            with open(path, "w") as f:
                f.write(st[2])
            continue
        for cmd in commands(st[1]):
            n += 1
            script.append(f"echo '@@@ {n}'")
            script.append(cmd.replace("T-XXXXXX", TICKET))
    script.append("echo '@@@ end'")
    script.append("wait")
    env = env_for_tests()
    for k in list(env):
        if k.startswith("ACKBOT_"):
            del env[k]
    r = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, capture_output=True,
                       text=True, timeout=180 * SLOW, stdin=subprocess.DEVNULL)
    out, err = r.stdout, r.stderr
    with open(os.path.join(ctx.dir, "tour.out"), "w") as f:
        f.write(out + "\n--- stderr ---\n" + err)
    assert r.returncode == 0, f"the tour stopped (exit {r.returncode}):\n{out[-3000:]}\n{err[-3000:]}"
    assert "@@@ end" in out
    assert "Traceback" not in out + err, err
    parts = dict((int(m.group(1)) if m.group(1) != "end" else 0, m.group(2))
                 for m in re.finditer(r"@@@ (\d+|end)\n(.*?)(?=@@@ |\Z)", out, re.S))
    cmds = [c for st in steps if st[0] == "sh" for c in commands(st[1])]
    assert len(cmds) + len(quick) == n

    def out_of(prefix, nth=0):
        hits = [len(quick) + i + 1 for i, c in enumerate(cmds) if c.lstrip().startswith(prefix)]
        assert len(hits) > nth, (prefix, cmds)
        return parts.get(hits[nth], "")

    first = out_of("./build/ackbot intents test \"@brand where")
    assert "entities: order=A12345" in first and re.search(r"reply: .*order A12345", first), first
    de = json.loads(out_of("./build/ackbot intents test --json --lang de"))
    assert de["intent"] != "thanks_praise" and de["handoff"] and de["lang"] == "de", de
    two = [json.loads(x) for x in out_of("printf").strip().splitlines()]
    assert [t["intent"] == "thanks_praise" for t in two] == [True, False], two
    assert two[1]["handoff"], two
    assert out_of("./build/ackbot check").startswith("ok: ")
    assert "intent:   loyalty_card" in out_of("./build/ackbot intents test \"@brand how do I")
    st = out_of("./build/ackbot status --wait")
    assert "ackbot is running: pid " in st and "webhook      webhook   listening on 127.0.0.1:8080" in st, st
    # the receiver printed the reply, signature checked
    assert re.search(r"\[damaged_item\] @ana .*A12345.*\(ref T-[0-9A-Z]{6}\)", out), out
    assert "rejected a delivery" not in err
    lst = out_of("./build/ackbot handoff list")
    assert "damaged_item" in lst and "ana" in lst, lst
    m = re.search(r"^(T-[0-9A-Z]{6}) ", lst, re.M)
    assert m and m.group(1) in out_of("./build/ackbot handoff resolve"), out_of("./build/ackbot handoff resolve")
    sent = out_of("curl -s 127.0.0.1:9090/metrics")
    assert re.search(r"^ackbot_replies_sent_total\S* [1-9]", sent, re.M), sent
    assert out_of("./build/ackbot reload").startswith("reloaded (pid ")
    assert out_of("./build/ackbot stop").startswith("stopped (pid ")
    # Mastodon: the reply is a direct status in the thread, naming the order
    rep = out_of("curl -s -XPOST '127.0.0.1:4100/_control/replies")
    assert '"visibility": "direct"' in rep and "A12345" in rep, rep
    lst2 = out_of("./build/ackbot handoff list", 1)
    t2 = re.search(r"^(T-[0-9A-Z]{6}) +open .*damaged_item +ana ", lst2, re.M)
    assert t2 and t2.group(1) != m.group(1) and "1 open handoff" in lst2, lst2
    assert out_of("./build/ackbot stop", 1).startswith("stopped (pid ")
    # the quick start's commands
    qs = {c: parts.get(i + 1, "") for i, c in enumerate(quick)}
    purge = [v for c, v in qs.items() if "handoff purge" in c][0]
    assert purge.strip(), purge          # it ran (set -e: it exited 0) and said what it did
    piped = [v for c, v in qs.items() if c.startswith("echo ")][0]
    assert "[thanks_praise] @you" in piped, piped
    assert [v for c, v in qs.items() if " init mybot" in c][0].startswith("wrote mybot/ackbot.yaml")
    assert [v for c, v in qs.items() if "check -c mybot" in c][0].startswith("ok: ")
