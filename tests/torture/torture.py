#!/usr/bin/python3
"""Store-fault torture: the same scripted scenario once per store call, with that call failing.

A daemon built with -DACKBOT_TORTURE reads ACKBOT_STORE_FAULT="N:KIND[:COUNT]" (KIND busy,
full or ioerr): the Nth call through the store's function table (1-based, counted since the
process started) and the COUNT-1 after it fail as SQLITE_BUSY / SQLITE_FULL / SQLITE_IOERR
would. It logs `event=store_fault nth=N kind=KIND` at start, `event=store_fault_injected
call=N op=NAME` per injected failure and `event=store_calls n=TOTAL` at exit.

The scenario: 20 webhook and 20 Mastodon mentions (thanks, complaints and questions that
hand off, spam), the first reply deliveries failing at the receiver (503, a lost answer,
500), the first Mastodon post answered 429. First one run with a fault that never fires
(N = 1000000000) gives K, the number of store calls; then the scenario runs with N = 1..K
(every --step-th; --full: every N) for each kind. A daemon that exits must exit 0 or 3 (3
with an error line), and is then restarted without the fault; webhooks answered 503 are
retried as a platform would (same webhook-id). After each run: the invariants (nothing
accepted lost, one reply per mention or a handoff, no second reply, handoff log == handoff
rows) and the daemon still serving (healthz 200, clean SIGTERM).

  torture.py [--build DIR] [--kinds busy,full,ioerr] [--step S | --full] [--only N,...]
             [--count C] [--jobs J] [--budget SECONDS] [--seed S] [--no-faults] [--keep-logs]

Exit 0: every run held every invariant; 1: some did not; 2: could not run (the binary lacks
torture mode, bad arguments).

This file also holds the harness crash.py and diskfull.py share: Run (a daemon with a
webhook and a Mastodon source, a reply receiver and the Mastodon stand-in), Platform (a
webhook sender that retries like a platform), and check() (the exactly-once invariants).
"""
import argparse
import collections
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "standins"))
import integration.daemon as daemon  # noqa: E402
import mastodon as standin  # noqa: E402
import webhooks  # noqa: E402

TOKEN = "test-token"
INTENTS = None                          # --intents DIR; None: INTENTS_YAML, written per run
# The drivers' own intent set (tests/integration/intents/test.yaml as committed), so that
# what KINDS expects of each text does not move with the integration tests' copy.
INTENTS_YAML = r"""intents:
  - name: complaint
    priority: 10
    patterns:
      - '\b(?:broken|damaged|smashed)\b.{0,60}#(?<order>[A-Z]\d{5})'
      - '#(?<order>[A-Z]\d{5}).{0,60}\b(?:broken|damaged|smashed)\b'
      - '\b(?:broken|damaged|smashed)\b'
    reply: "{{author}} sorry about order {{order|your order}}, ref {{ticket}}"
    handoff: {queue: support, priority: high}
  - name: spam
    priority: 15
    patterns: ['\bfree followers\b']
    handoff: {queue: moderation, priority: low}
  - name: thanks
    priority: 20
    patterns: ['\bthanks?\b', '\bthank you\b']
    exclude: ['\bfor nothing\b']
    reply: "{{author}} thank you!"
  - name: fallback
    priority: 99
    patterns: ['^']
    reply: "{{author}} got it, a person will look."
    handoff: {queue: general, priority: low}
"""
NEVER = 1000000000                     # a fault call number no run reaches
SANITIZER = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|"
                       r"==\d+==\s*ERROR|Segmentation fault|Assertion .* failed")

# What tests/integration/intents/test.yaml does with each kind of text.
KINDS = {
    "thanks": {"reply": True, "handoff": False},
    "complaint": {"reply": True, "handoff": True},
    "question": {"reply": True, "handoff": True},     # fallback: an answer and a person
    "spam": {"reply": False, "handoff": True},
}


def text_for(kind, i):
    return {"thanks": f"thanks for the quick delivery! ({i})",
            "complaint": f"my order #A{i % 100000:05d} arrived broken",
            "question": f"where is my order, number {i}?",
            "spam": f"free followers here {i}"}[kind]


class Fail(Exception):
    """The run cannot go on: the daemon or the harness is broken."""


_launch_lock = threading.Lock()


def resolve_build(build):
    return build if os.path.isabs(build) else os.path.join(ROOT, build)


def setup_harness(build, keep_logs=False, intents=None):
    """Points the integration helpers at BUILD; returns an error text if it has no ackbot."""
    global INTENTS
    INTENTS = os.path.abspath(intents) if intents else None
    build = resolve_build(build)
    daemon.configure(ROOT, build, keep_logs)
    os.environ["TEST_MASTODON_TOKEN"] = TOKEN
    os.environ.pop("ACKBOT_STORE_FAULT", None)
    b = os.path.join(build, "ackbot")
    if not os.access(b, os.X_OK):
        return f"no executable {b} (build it, or pass --build DIR)"
    r = subprocess.run([b, "--help"], capture_output=True, text=True, timeout=20)
    if "run" not in r.stdout + r.stderr:
        return f"{b} --help does not look like ackbot:\n{r.stdout}{r.stderr}"
    return None


def binary_id():
    """Which binary ran: path, modification time, sha256 prefix (builds change under a run)."""
    import hashlib
    b = os.path.join(daemon.BUILD, "ackbot")
    with open(b, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(b)))
    return f"{b} (built {mtime}, sha256 {digest})"


def log_line_value(text, event, key):
    """The value of key= on the last `event=EVENT` line of a logfmt text, or None."""
    val = None
    for line in text.splitlines():
        if re.search(rf"\bevent={re.escape(event)}\b", line):
            m = re.search(rf"\b{re.escape(key)}=(\"[^\"]*\"|\S+)", line)
            if m:
                val = m.group(1).strip('"')
    return val


class Run(daemon.TestContext):
    """One daemon (webhook + Mastodon sources) with its reply receiver and Mastodon stand-in."""

    def __init__(self, name, data_dir=None):
        """data_dir: the daemon's data_dir instead of DIR/var (diskfull: a small tmpfs)."""
        super().__init__(name)
        self.rcv = self.receiver()
        self.ms = standin.Mastodon(token=TOKEN)
        self.receivers.append(self.ms)          # closed at clean-up
        self.launched = []                      # (proc, log path, env) per start
        self.exits = []                         # (return code, log path) of daemons that ended
        self.data_override = data_dir

    def configure(self, sender="{timeout: 2s, max_attempts: 100, backoff_min: 50ms, backoff_max: 500ms}",
                  policy="{cooldown: 0s, one_reply_per_thread: false}", extra=""):
        masto = (f"  - type: mastodon\n    base_url: {self.ms.base_url}\n"
                 f"    token_env: TEST_MASTODON_TOKEN\n    ping: 2s\n")
        intents = INTENTS
        if intents is None:
            intents = os.path.join(self.dir, "intents")
            os.makedirs(intents, exist_ok=True)
            with open(os.path.join(intents, "torture.yaml"), "w") as f:
                f.write(INTENTS_YAML)
        self.write_config(reply_url=self.rcv.url, sender=sender, policy=policy, extra=extra,
                          webhook_extra=masto, intents=intents)
        if self.data_override:
            with open(self.config) as f:
                text = f.read()
            text = text.replace(f"data_dir: {self.data}\n", f"data_dir: {self.data_override}\n")
            with open(self.config, "w") as f:
                f.write(text)
            self.data = self.data_override
        self.handoff_log = os.path.join(self.data, "handoff.jsonl")
        self.db_path = os.path.join(self.data, "ackbot.db")
        return self.config

    # -- the daemon --
    def launch(self, env=None, wait=True, timeout=10):
        """Starts the daemon with extra environment (ACKBOT_STORE_FAULT) for this process only."""
        env = dict(env or {})
        with _launch_lock:
            saved = {k: os.environ.get(k) for k in list(env) + ["ACKBOT_STORE_FAULT"]}
            os.environ.pop("ACKBOT_STORE_FAULT", None)
            os.environ.update(env)
            try:
                self.start(secret=daemon.SECRET, wait=False)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        self.launched.append((self.proc, self.logs[-1], env))
        if wait:
            return self.wait_up(timeout)
        return "started"

    def wait_up(self, timeout=10):
        """'up' once healthz answers 200, 'exited' if the daemon ended first."""
        end = time.monotonic() + timeout * daemon.SLOW
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return "exited"
            if self.healthz() == 200:
                return "up"
            time.sleep(0.03)
        raise Fail(f"daemon did not become healthy in {timeout * daemon.SLOW}s\n{self.log_tail()}")

    def healthz(self):
        try:
            return self.get("/healthz", port=self.admin)[0]
        except (OSError, http.client.HTTPException):
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def proc_log(self, proc=None):
        proc = proc or self.proc
        for p, path, _ in self.launched:
            if p is proc:
                with open(path, errors="replace") as f:
                    return f.read()
        return ""

    def judge_exit(self, proc):
        """Problems with how proc ended: only 0, or 3 with an error line, and no sanitizer."""
        code, text = proc.returncode, self.proc_log(proc)
        out = []
        if code is None:
            return out
        if code < 0:
            out.append(f"daemon killed by signal {-code} ({signal.Signals(-code).name})")
        elif code not in (0, 3):
            out.append(f"daemon exited with code {code}")
        elif code == 3 and not re.search(r"\blevel=error\b", text):
            out.append("daemon exited 3 without an error line saying why")
        m = SANITIZER.search(text)
        if m:
            out.append(f"sanitizer/crash report in the daemon log: {m.group(0)}")
        return out

    def stop_clean(self, timeout=8):
        """SIGTERM; the problems with the exit (none when it exits 0 or 3 with a reason)."""
        p = self.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout * daemon.SLOW)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return [f"daemon did not exit within {timeout * daemon.SLOW}s of SIGTERM"]
        self.exits.append((p.returncode, self.logs[-1]))
        return self.judge_exit(p)

    def wait_stream(self, timeout=10):
        """True once the Mastodon source streams and its first start (or backfill) is done."""
        end = time.monotonic() + timeout * daemon.SLOW
        while time.monotonic() < end:
            if self.ms.streams and re.search(r"event=(first_start|backfilled)\b", self.proc_log()):
                return True
            if not self.alive():
                return False
            time.sleep(0.03)
        return False

    def finish_run(self, ok, keep=False, before_remove=None):
        """Kills what still runs, keeps the run's directory (logs, store, handoff log) in
        tests/log/torture/NAME when it failed or keep is set, calls before_remove (diskfull
        unmounts there), removes the directory. Returns where it was kept, or None."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for r in self.receivers:
            try:
                r.close()
            except Exception:
                pass
        kept = None
        if not ok or keep:
            kept = os.path.join(ROOT, "tests", "log", "torture", self.name)
            shutil.rmtree(kept, ignore_errors=True)
            try:
                shutil.copytree(self.dir, kept, symlinks=True)
                if self.data_override and not os.path.abspath(self.data_override).startswith(self.dir):
                    shutil.copytree(self.data_override, os.path.join(kept, "data"), dirs_exist_ok=True)
            except (OSError, shutil.Error) as e:
                print(f"  (could not keep everything: {e})")
        if before_remove is not None:
            before_remove()
        shutil.rmtree(self.dir, ignore_errors=True)
        return kept


class Platform:
    """Delivers webhooks as a platform does: signed per Standard Webhooks, the same webhook-id
    on every attempt of a message (fresh timestamp and signature), retried with exponential
    backoff and jitter on connection errors, timeouts, 429 and 5xx; 2xx is delivered; any
    other 4xx is given up. One keep-alive connection per thread."""

    def __init__(self, port, secret=daemon.SECRET, timeout=10, backoff=(0.02, 0.5), seed=0):
        self.port, self.secret, self.timeout, self.backoff = port, secret, timeout, backoff
        self.lock = threading.Lock()
        self.sent = {}                 # doc id -> record
        self.tally = collections.Counter()
        self.local = threading.local()
        self.seed = seed

    def _rng(self):
        if not hasattr(self.local, "rng"):
            self.local.rng = random.Random(f"{self.seed}-{threading.get_ident()}")
        return self.local.rng

    def _drop(self):
        c = getattr(self.local, "conn", None)
        if c is not None:
            c.close()
        self.local.conn = None

    def record(self, doc, msg_id):
        with self.lock:
            rec = self.sent.get(doc["id"])
            if rec is None:
                rec = self.sent[doc["id"]] = {"doc": doc, "msg_id": msg_id, "attempts": 0,
                                              "statuses": [], "accepted": None, "rejected": None,
                                              "t_first": time.monotonic(), "t_accepted": None}
            return rec

    def send_once(self, doc, msg_id):
        """One attempt; the HTTP status, or None when the connection failed."""
        rec = self.record(doc, msg_id)
        body = json.dumps(doc).encode()
        h = {"content-type": "application/json", **webhooks.sign(self.secret, msg_id, body)}
        st = None
        for _ in range(2):     # a keep-alive connection the server closed while idle: once more
            c = getattr(self.local, "conn", None)
            fresh = c is None
            if c is None:
                c = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                 timeout=self.timeout)
            try:
                c.request("POST", "/hooks/generic", body=body, headers=h)
                r = c.getresponse()
                r.read()
                st = r.status
                if st >= 400 or r.getheader("connection", "").lower() == "close":
                    self._drop()
                break
            except (OSError, http.client.HTTPException):
                self._drop()
                if fresh:
                    break
        with self.lock:
            rec["attempts"] += 1
            rec["statuses"].append(st)
            self.tally[st if st is not None else "conn-error"] += 1
            if st is not None and 200 <= st < 300 and rec["accepted"] is None:
                rec["accepted"] = st
                rec["t_accepted"] = time.monotonic()
            elif st is not None and 400 <= st < 500 and st != 429:
                rec["rejected"] = st
        return st

    @staticmethod
    def retryable(st):
        return st is None or st == 429 or st >= 500

    def deliver(self, doc, msg_id, deadline, poll=None, stop=None):
        """Retries until 2xx (True), a 4xx (False) or the deadline (False). poll() runs between
        attempts (it may restart a daemon that exited)."""
        delay = self.backoff[0]
        while True:
            st = self.send_once(doc, msg_id)
            if st is not None and 200 <= st < 300:
                return True
            if not self.retryable(st):
                return False
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                return False
            if poll is not None:
                poll()
            time.sleep(delay * (0.5 + self._rng().random() / 2))
            delay = min(delay * 2, self.backoff[1])

    def accepted_ids(self):
        with self.lock:
            return {k for k, r in self.sent.items() if r["accepted"]}

    def pending_ids(self):
        with self.lock:
            return [k for k, r in self.sent.items() if not r["accepted"] and not r["rejected"]]


# ---- the invariants ----

def read_store(db_path):
    """mentions {(source, platform_id): dict}, replies {mention_row: dict}, handoffs
    {mention_row: dict}; empty when there is no store yet."""
    if not os.path.exists(db_path):
        return {}, {}, {}
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=20)
    try:
        mentions = {(s, p): {"row": r, "state": st, "intent": i, "action": a, "reason": why}
                    for r, s, p, st, i, a, why in con.execute(
                        "SELECT row, source, platform_id, state, intent, action, reason FROM mentions")}
        replies = {mr: {"state": st, "key": k, "attempts": n, "error": e}
                   for mr, st, k, n, e in con.execute(
                       "SELECT mention_row, state, idem_key, attempts, last_error FROM replies")}
        handoffs = {mr: {"ticket": t, "reason": why, "logged": lg}
                    for mr, t, why, lg in con.execute(
                        "SELECT mention_row, ticket, reason, logged FROM handoffs")}
    finally:
        con.close()
    return mentions, replies, handoffs


def read_handoff_log(path):
    """(tickets in file order, torn or unparseable lines)."""
    tickets, bad = [], []
    if not os.path.exists(path):
        return tickets, bad
    with open(path, "rb") as f:
        data = f.read()
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            tickets.append(json.loads(raw)["ticket"])
        except (ValueError, KeyError, TypeError):
            bad.append(raw[:80])
    if data and not data.endswith(b"\n"):
        bad.append(b"(no newline at end of file) " + data[-40:])
    return tickets, bad


def platform_replies(rcv, ms):
    """{(source, platform_id): [reply keys]} of replies the platforms kept, one entry per
    distinct reply (a resend with the same key after a lost answer is one), and the number
    of delivery attempts they saw."""
    out = collections.defaultdict(list)
    with rcv.lock:
        deliveries = list(rcv.deliveries)
    seen = set()
    for d in deliveries:
        if d["outcome"] not in ("ok", "delivered-lost") or d["id"] in seen or not d["body"]:
            continue
        seen.add(d["id"])
        out[("webhook", d["body"].get("in_reply_to"))].append(d["id"])
    with ms.lock:
        replies = list(ms.replies)
        posts = len(ms.posts)
    for r in replies:
        out[("mastodon", r["in_reply_to_id"])].append(r.get("idempotency_key") or f"(no key) {r['id']}")
    return out, len(deliveries), posts


def mastodon_seen(ms):
    with ms.lock:
        return [n["status"]["id"] for n in ms.notifications if n["type"] == "mention"]


def outstanding(run, keys):
    """None when the store has every key done, no reply pending and every handoff logged;
    else what is still missing (text)."""
    try:
        mentions, replies, handoffs = read_store(run.db_path)
    except sqlite3.Error as e:
        return f"store unreadable: {e}"
    missing = sum(1 for k in keys if k not in mentions)
    unfinished = sum(1 for m in mentions.values() if m["state"] != 1)
    pending = sum(1 for r in replies.values() if r["state"] == 0)
    unlogged = sum(1 for h in handoffs.values() if not h["logged"])
    if missing or unfinished or pending or unlogged:
        return (f"{missing} mentions not in the store, {unfinished} not processed, "
                f"{pending} replies pending, {unlogged} handoffs not logged")
    tickets, _ = read_handoff_log(run.handoff_log)
    if len(tickets) < len(handoffs):
        return f"handoff log has {len(tickets)} lines for {len(handoffs)} handoffs"
    return None


def wait_drained(run, keys, timeout, poll=None, settle=0.3):
    """Waits until outstanding() is None (and stays so for settle s); returns the last text."""
    end = time.monotonic() + timeout * daemon.SLOW
    what = "not checked"
    while time.monotonic() < end:
        if poll is not None:
            poll()
        what = outstanding(run, keys)
        if what is None:
            time.sleep(settle)
            what = outstanding(run, keys)
            if what is None:
                return None
        time.sleep(0.1)
    return what


def check(run, platform, kinds, extra_seen=()):
    """The exactly-once invariants. kinds: {(source, platform_id): kind} of everything sent.
    Returns (problems {category: [examples]}, numbers {name: value})."""
    problems = collections.defaultdict(list)
    mentions, replies, handoffs = read_store(run.db_path)
    got, deliveries, posts = platform_replies(run.rcv, run.ms)
    seen = {("webhook", i) for i in platform.accepted_ids()} if platform else set()
    seen |= {("mastodon", s) for s in mastodon_seen(run.ms)}
    seen |= set(extra_seen)
    if platform:
        for i in platform.pending_ids():
            problems["webhook never accepted (the platform still has it)"].append(i)
        with platform.lock:
            for i, r in platform.sent.items():
                if r["rejected"]:
                    problems[f"webhook rejected {r['rejected']}"].append(i)
    for k in sorted(seen):
        if k not in mentions:
            problems["lost: accepted by the platform, not in the store"].append(k)
    for k, m in mentions.items():
        if m["state"] != 1:
            problems["in the store, never processed"].append(k)
    by_row = {m["row"]: k for k, m in mentions.items()}
    for k, keys in got.items():
        if len(keys) > 1:
            problems["double: more than one reply to a mention"].append((k, keys))
        if k not in mentions:
            problems["reply to a mention the store does not hold"].append(k)
            continue
        rep = replies.get(mentions[k]["row"])
        if rep is None:
            problems["reply without a replies row"].append(k)
        elif any(key != rep["key"] for key in keys):
            problems["reply key differs from the store's idem_key"].append((k, keys, rep["key"]))
    for row, rep in replies.items():
        k = by_row.get(row)
        n = len(got.get(k, []))
        if rep["state"] == 0:
            problems["reply still pending"].append(k)
        elif rep["state"] == 1 and n == 0:
            problems["store says sent, the platform never got it"].append(k)
        elif rep["state"] == 2 and row not in handoffs:
            problems["reply failed and nobody was handed the mention"].append(k)
    for k, m in mentions.items():
        n = len(got.get(k, []))
        handed = m["row"] in handoffs
        if n != 1 and not handed:
            problems["neither replied to once nor handed off"].append((k, n))
        kind = kinds.get(k)
        if kind and KINDS[kind]["handoff"] and not handed:
            problems[f"{kind} not handed to a person"].append(k)
        if kind and not KINDS[kind]["reply"] and n:
            problems[f"{kind} was answered"].append(k)
    tickets, bad = read_handoff_log(run.handoff_log)
    rows = {h["ticket"] for h in handoffs.values()}
    dup = [t for t, c in collections.Counter(tickets).items() if c > 1]
    if dup:
        problems["handoff log: a ticket on more than one line"].extend(dup)
    if bad:
        problems["handoff log: torn or unparseable lines"].extend(bad)
    if set(tickets) - rows:
        problems["handoff log: a line with no handoff row"].extend(sorted(set(tickets) - rows))
    if rows - set(tickets):
        problems["handoff log: a handoff row with no line"].extend(sorted(rows - set(tickets)))
    unlogged = [h["ticket"] for h in handoffs.values() if not h["logged"]]
    if unlogged:
        problems["handoff rows not marked logged"].extend(unlogged)
    if run.rcv.violations:
        problems["reply signature violations at the receiver"].extend(run.rcv.violations)
    doubles = len(problems.get("double: more than one reply to a mention", []))
    lost = len(problems.get("lost: accepted by the platform, not in the store", []))
    numbers = {
        "seen": len(seen), "stored": len(mentions),
        "seen_webhook": sum(1 for k in seen if k[0] == "webhook"),
        "seen_mastodon": sum(1 for k in seen if k[0] == "mastodon"),
        "replies": sum(len(v) for v in got.values()),
        "replies_webhook": sum(len(v) for k, v in got.items() if k[0] == "webhook"),
        "replies_mastodon": sum(len(v) for k, v in got.items() if k[0] == "mastodon"),
        "deliveries": deliveries, "posts": posts,
        "handoffs": len(handoffs), "log_lines": len(tickets), "lost": lost, "double": doubles,
        "unanswered": len(problems.get("neither replied to once nor handed off", [])),
    }
    return dict(problems), numbers


def print_problems(problems, limit=5, indent="  "):
    for cat, items in sorted(problems.items()):
        print(f"{indent}FAIL {cat}: {len(items)}, e.g. {items[:limit]}")


# ---- the torture scenario ----

SCRIPT_KINDS = ["thanks", "complaint", "thanks", "question", "spam"]


def scenario_items(n_each=20):
    """[(source, index, kind)], webhook and Mastodon interleaved."""
    out = []
    for i in range(n_each):
        kind = SCRIPT_KINDS[i % len(SCRIPT_KINDS)]
        out.append(("webhook", i, kind))
        out.append(("mastodon", i, SCRIPT_KINDS[(i + 2) % len(SCRIPT_KINDS)]))
    return out


def run_scenario(name, fault=None, keep=False, n_each=20, deliver_s=15, drain_s=20):
    """One scenario run. fault: "N:KIND[:COUNT]" or None. Returns a result dict."""
    t0 = time.monotonic()
    run = Run(name)
    res = {"name": name, "fault": fault, "problems": {}, "numbers": {}, "exits": [],
           "restarts": 0, "injected": 0, "calls": None, "torture_mode": None, "kept": None}
    problems = collections.defaultdict(list)
    ok = False
    try:
        run.configure(sender="{timeout: 2s, max_attempts: 10, backoff_min: 50ms, backoff_max: 300ms}")
        run.rcv.fail(("status", 503, None), ("drop",), ("status", 500, None))
        run.ms.post_faults.append(("status", 429, 1))
        run.launch({"ACKBOT_STORE_FAULT": fault} if fault else {}, wait=False)
        faulted = run.proc
        restarts = [0]

        def poll():
            """The supervisor: a daemon that ended is judged, then started again, clean."""
            if run.alive():
                return
            p = run.proc
            run.exits.append((p.returncode, run.logs[-1]))
            for why in run.judge_exit(p):
                problems[why].append(name)
            if restarts[0] >= 3:
                raise Fail("the daemon keeps exiting even without the fault")
            restarts[0] += 1
            if run.launch({}, wait=True) == "exited":
                poll()

        if run.wait_up() == "exited":
            poll()
        if not run.wait_stream(5):
            poll()
        plat = Platform(run.port, backoff=(0.02, 0.3))
        kinds = {}
        for source, i, kind in scenario_items(n_each):
            if source == "webhook":
                doc = daemon.mention(f"w{i}", text_for(kind, i))
                doc["id"] = f"w-{i}"
                kinds[("webhook", doc["id"])] = kind
                plat.deliver(doc, f"msg_w_{i}", time.monotonic() + deliver_s, poll=poll)
            else:
                n = run.ms.mention("@brand " + text_for(kind, 1000 + i), username=f"t{i}")
                kinds[("mastodon", n["status"]["id"])] = kind
            poll()
        want = set(kinds)
        left = wait_drained(run, want, drain_s, poll=poll)
        if left is not None:
            problems[f"not drained after {drain_s}s: {left}"].append(name)
        poll()
        hz = run.healthz()
        if hz != 200:
            problems[f"daemon not serving after the fault: healthz {hz}"].append(name)
        for why in run.stop_clean():
            problems[why].append(name)
        p, n = check(run, plat, kinds)
        for k, v in p.items():
            problems[k].extend(v)
        res["numbers"] = n
        text = run.proc_log(faulted)
        res["torture_mode"] = bool(re.search(r"\bevent=store_fault\b", text))
        calls = log_line_value(text, "store_calls", "n")
        res["calls"] = int(calls) if calls and calls.isdigit() else None
        res["injected"] = len(re.findall(r"\bevent=store_fault_injected\b", text))
        if fault:
            nth, kind = fault.split(":")[:2]
            if not res["torture_mode"]:
                problems["binary lacks torture mode (no event=store_fault line)"].append(name)
            elif not re.search(rf"\bevent=store_fault\b.*\bnth={nth}\b.*\bkind={kind}\b", text):
                problems[f"store_fault line does not say nth={nth} kind={kind}"].append(name)
            elif res["calls"] is not None and int(nth) <= res["calls"] and not res["injected"]:
                problems[f"fault {fault} not injected although the daemon made {res['calls']} calls"].append(name)
        res["restarts"] = restarts[0]
        res["exits"] = [c for c, _ in run.exits]
        ok = not problems
    except Fail as e:
        problems[f"harness: {e}".splitlines()[0]].append(name)
    except Exception as e:  # a harness bug must not look like a pass
        import traceback
        traceback.print_exc()
        problems[f"harness error: {type(e).__name__}: {e}"].append(name)
    finally:
        res["kept"] = run.finish_run(ok, keep)
    res["problems"] = dict(problems)
    res["seconds"] = time.monotonic() - t0
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build-torture", help="directory holding ackbot (default build-torture)")
    ap.add_argument("--kinds", default="busy,full,ioerr")
    ap.add_argument("--step", type=int, default=0, help="run every STEP-th N (default: fit --budget)")
    ap.add_argument("--full", action="store_true", help="every N from 1 to K")
    ap.add_argument("--only", default="", help="comma-separated N values to run (reproduce a failure)")
    ap.add_argument("--count", type=int, default=1, help="consecutive calls that fail (COUNT)")
    ap.add_argument("--jobs", type=int, default=2, help="scenario runs at once (default 2)")
    ap.add_argument("--budget", type=float, default=270, help="seconds the fault sweep should take (default 270)")
    ap.add_argument("--seed", type=int, default=None, help="picks the sweep's offset (default: random, printed)")
    ap.add_argument("--no-faults", action="store_true", help="only the scenario without a fault + invariants")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--intents", default=None, help="intent dir to use instead of the built-in set "
                    "(it must treat the texts as KINDS says)")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after this many failed runs (0: never)")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    kinds = [k for k in a.kinds.split(",") if k]
    if any(k not in ("busy", "full", "ioerr") for k in kinds) or not kinds:
        print(f"torture: --kinds takes busy, full, ioerr (got {a.kinds})")
        return 2
    err = setup_harness(a.build, a.keep_logs, a.intents)
    if err:
        print(f"torture: {err}")
        return 2
    print(f"torture: {binary_id()}, seed {seed}", flush=True)
    t0 = time.monotonic()

    if a.no_faults:
        r = run_scenario("torture-nofault", None, keep=a.keep_logs)
        n = r["numbers"]
        print(f"torture --no-faults: {n.get('seen', 0)} mentions ({n.get('seen_webhook', 0)} webhook, "
              f"{n.get('seen_mastodon', 0)} mastodon), {n.get('replies', 0)} replies "
              f"({n.get('deliveries', 0)} receiver deliveries, {n.get('posts', 0)} Mastodon posts), "
              f"{n.get('handoffs', 0)} handoffs, {n.get('log_lines', 0)} log lines, "
              f"{n.get('lost', 0)} lost, {n.get('double', 0)} double, "
              f"store calls {r['calls'] if r['calls'] is not None else '(not logged: no torture mode)'}, "
              f"{r['seconds']:.1f}s")
        if r["problems"]:
            print_problems(r["problems"])
            if r["kept"]:
                print(f"  logs kept in {r['kept']}")
            return 1
        print("torture --no-faults: every invariant holds")
        return 0

    base = run_scenario("torture-baseline", f"{NEVER}:busy", keep=a.keep_logs)
    if not base["torture_mode"] or base["calls"] is None:
        missing = [w for w, have in (("no `event=store_fault` line at start", base["torture_mode"]),
                                     ("no `event=store_calls n=` line at exit", base["calls"] is not None))
                   if not have]
        print(f"torture: FAIL: binary lacks torture mode: {daemon.BUILD}/ackbot ignored "
              f"ACKBOT_STORE_FAULT={NEVER}:busy ({', '.join(missing)}). Build it with "
              f"-DACKBOT_TORTURE (build-torture), or check this binary with --no-faults.")
        other = {k: v for k, v in base["problems"].items() if "torture mode" not in k}
        if other:
            print("  the baseline run (fault never due) also broke invariants:")
            print_problems(other)
        return 2
    if base["problems"]:
        print("torture: the baseline run (fault never due) already fails; fix that first:")
        print_problems(base["problems"])
        if base["kept"]:
            print(f"  logs kept in {base['kept']}")
        return 1
    K, t_run = base["calls"], base["seconds"]
    if a.only:
        ns = sorted({int(x) for x in a.only.split(",") if x.strip()})
        step = 0
    else:
        if a.full:
            step = 1
        elif a.step > 0:
            step = a.step
        else:
            step = max(1, math.ceil(K * len(kinds) * t_run / (a.budget * max(1, a.jobs))))
        off = random.Random(seed).randrange(1, step + 1)
        ns = list(range(off, K + 1, step))
    plan = [(n, k) for n in ns for k in kinds]
    print(f"torture: baseline {K} store calls, {t_run:.1f}s per run; "
          f"{len(plan)} runs ({', '.join(kinds)} x {len(ns)} N"
          f"{f', step {step} from {ns[0]}' if step else ''}; COUNT {a.count}; {a.jobs} at once)",
          flush=True)

    results, lock = [], threading.Lock()
    todo = list(plan)
    failed = [0]
    stop = threading.Event()

    def worker():
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                n, kind = todo.pop(0)
            fault = f"{n}:{kind}" + (f":{a.count}" if a.count != 1 else "")
            r = run_scenario(f"torture-{kind}-{n}", fault, keep=a.keep_logs)
            with lock:
                results.append(r)
                done = len(results)
                if r["problems"]:
                    failed[0] += 1
                    print(f"FAIL {fault} ({r['seconds']:.1f}s, exits {r['exits']}, "
                          f"injected {r['injected']}, calls {r['calls']})")
                    print_problems(r["problems"], limit=3, indent="    ")
                    if r["kept"]:
                        print(f"    logs kept in {r['kept']}")
                    if a.stop_after and failed[0] >= a.stop_after:
                        stop.set()
                if done % 25 == 0 or done == len(plan):
                    print(f"  {done}/{len(plan)} runs, {failed[0]} failed, "
                          f"{time.monotonic() - t0:.0f}s", flush=True)
                sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    bad = [r for r in results if r["problems"]]
    cats = collections.Counter(c for r in bad for c in r["problems"])
    injected = sum(1 for r in results if r["injected"])
    exit3 = sum(1 for r in results if 3 in r["exits"])
    restarted = sum(1 for r in results if r["restarts"])
    print(f"torture summary: K={K} store calls, {len(results)}/{len(plan)} runs "
          f"({', '.join(kinds)}), fault injected in {injected}, daemon exited 3 in {exit3}, "
          f"restarted in {restarted}; {len(results) - len(bad)} passed, {len(bad)} failed; "
          f"{time.monotonic() - t0:.0f}s")
    for c, k in cats.most_common():
        ex = [r["fault"] for r in bad if c in r["problems"]][:6]
        print(f"  {k} runs: {c}   (e.g. {', '.join(ex)})")
    if bad:
        f = bad[0]["fault"].split(":")
        print(f"  reproduce one: /usr/bin/python3 tests/torture/torture.py --build {a.build} "
              f"--kinds {f[1]} --only {f[0]}{f' --count {a.count}' if a.count != 1 else ''} --keep-logs")
    return 1 if bad or len(results) < len(plan) else 0


if __name__ == "__main__":
    sys.exit(main())
