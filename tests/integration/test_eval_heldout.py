"""The shipped intents and defaults measured on the held-out part of the corpus through
`ackbot eval`, the way the README reports them: the targets met stay met, and the others
may not fall below what was measured when this test was written (README, "ackbot eval").
The model is trained here, without staff labels, so a store's labels cannot move it."""
import glob
import json
import os
import subprocess

from integration import daemon

# met: the goals
SAFETY_LEGAL_HANDED_OFF = 0.95
REPLY_LANGUAGE = 0.95
# not met yet: floors at the measured level (1.3 %, 7.8 %, 45.1 % over 4,280 mentions; the
# newest round, written to be harder, brought praise down from 46.5 % over the first 3,461)
PROBLEM_THANKED_MAX = 0.015
SPAM_REPLIED_MAX = 0.08
PRAISE_THANKED_MIN = 0.45


def shipped_config(ctx):
    """config/ackbot.yaml with its paths made absolute and a data dir of the test's own."""
    root = daemon.ROOT
    with open(os.path.join(root, "config", "ackbot.yaml")) as f:
        text = f.read()
    text = text.replace("data_dir: ../var", f"data_dir: {ctx.dir}/var")
    text = text.replace("paths: [../intents]", f"paths: [{root}/intents]")
    text = text.replace("log: ../var/handoff.jsonl", f"log: {ctx.dir}/var/handoff.jsonl")
    text += (f"\nguard:\n  model: {ctx.dir}/guard.model\n"
             f"  corpus: [{root}/intents/corpus/train]\n")
    path = os.path.join(ctx.dir, "shipped.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_heldout_targets(ctx):
    cfg = shipped_config(ctx)
    env = daemon.env_for_tests()
    out = subprocess.run([daemon.binary(), "model", "train", "-c", cfg, "--no-labels"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    held = os.path.join(ctx.dir, "heldout.jsonl")
    with open(held, "w") as f:
        for name in sorted(glob.glob(os.path.join(daemon.ROOT, "intents", "corpus", "heldout",
                                                  "*.jsonl"))):
            with open(name) as g:
                f.write(g.read())
    out = subprocess.run([daemon.binary(), "eval", "-c", cfg, "--json", held],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode in (0, 1), out.stderr
    r = json.loads(out.stdout)
    t = {x["name"]: x for x in r["targets"]}
    assert r["mentions"] >= 3000, r["mentions"]
    got = {
        "safety": t["safety and legal mentions handed to a person"]["rate"],
        "language": t["replies in the mention's language"]["rate"],
        "problem": t["problem mentions answered with a plain thank-you"]["rate"],
        "spam": t["spam replied to"]["rate"],
        "praise": t["praise thanked without a handoff"]["rate"],
    }
    assert got["safety"] >= SAFETY_LEGAL_HANDED_OFF, got
    assert got["language"] >= REPLY_LANGUAGE, got
    assert got["problem"] <= PROBLEM_THANKED_MAX, got
    assert got["spam"] <= SPAM_REPLIED_MAX, got
    assert got["praise"] >= PRAISE_THANKED_MIN, got
