#!/usr/bin/python3
"""make bench: what ackbot costs, measured on this machine.

  1. matching: bench_match (shipped intents and 1,000 synthetic patterns, prefilter on/off)
  2. the webhook path, real binary, SQLite with synchronous=FULL, replies to a local
     receiver: RSS idle; webhook ack latency p50/p99/p999 at a fixed rate; mention -> reply
     latency; a burst over 8 connections (acked/s, replied/s, CPU per mention, peak RSS)
  3. RSS with a 50,000-mention backlog (the reply endpoint is down, every reply waits)

Prints a table and writes build/bench.json (--out). Nothing here is asserted: the numbers
go to the README's Performance section. Options: --quick (smaller counts), --build DIR.
"""
import argparse
import http.client
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "standins"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import receiver as receiver_mod  # noqa: E402
import webhooks  # noqa: E402
from integration.daemon import free_port  # noqa: E402

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
TEXTS = ["@brand thanks so much, the order arrived early!", "@brand my order #A12345 arrived broken",
         "@brand where is my package? ordered 2 weeks ago", "@brand love the new colours 😍",
         "@brand I want a refund for order #B77812, it never came"]


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) / 1024.0
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, build, reply_url, tag):
        self.dir = tempfile.mkdtemp(prefix=f"ackbot-bench-{tag}-")
        self.port, self.admin = free_port(), free_port()
        self.config = os.path.join(self.dir, "ackbot.yaml")
        with open(self.config, "w") as f:
            f.write(f"""bot: {{handles: [brand]}}
data_dir: {self.dir}/var
log_level: warn
intents: {{paths: [{ROOT}/intents]}}
guard: {{model: {ROOT}/var/guard.model}}
policy: {{cooldown: 0s, one_reply_per_thread: false}}
sender: {{timeout: 5s, max_attempts: 1000, backoff_min: 1s, backoff_max: 60s}}
handoff: {{log: {self.dir}/var/handoff.jsonl}}
admin: {{listen: 127.0.0.1:{self.admin}}}
sources:
  - type: webhook
    listen: 127.0.0.1:{self.port}
    path: /hooks/generic
    secret_env: BENCH_WEBHOOK_SECRET
    reply_url: {reply_url}
""")
        env = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
        self.log = open(os.path.join(self.dir, "daemon.log"), "w")
        self.proc = subprocess.Popen([os.path.join(build, "ackbot"), "run", "-c", self.config],
                                     stdout=self.log, stderr=self.log, env=env)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("ackbot did not start: see " + self.log.name)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One keep-alive connection posting signed mentions."""
    def __init__(self, port):
        self.ka = webhooks.KeepAlive(port, timeout=30)

    def post(self, body, msg_id):
        h = {"content-type": "application/json"}
        h.update(webhooks.sign(SECRET, msg_id, body))
        return self.ka.request(body, h)


def body_for(i, run):
    return json.dumps({"id": f"{run}-{i}", "text": TEXTS[i % len(TEXTS)],
                       "author": {"id": f"a{run}{i}", "handle": f"user{i}"}}).encode()


def paced(d, rcv, rate, seconds, run):
    """One connection at a fixed rate: ack latency, and mention -> reply latency."""
    cl, lat, sent = Client(d.port), [], {}
    n = int(rate * seconds)
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        while True:
            left = due - time.perf_counter()
            if left <= 0:
                break
            time.sleep(min(left, 0.002))
        body = body_for(i, run)
        sent[f"{run}-{i}"] = time.monotonic()
        st, dt = cl.post(body, f"msg_{run}_{i}")
        if st != 202 and st != 200:
            raise SystemExit(f"webhook answered {st}")
        lat.append(dt * 1000)
    rcv.wait_for(n, 30)              # every text in TEXTS gets a reply
    e2e = []
    for dl in rcv.delivered():
        m = (dl["body"] or {}).get("in_reply_to")
        if m in sent:
            e2e.append((dl["t"] - sent[m]) * 1000)
    return lat, e2e, n


def burst(d, rcv, n, conns, run):
    cpu0, t0 = cpu_seconds(d.proc.pid), time.perf_counter()
    before = len(rcv.delivered())

    def worker(k):
        cl = Client(d.port)
        for i in range(k, n, conns):
            st, _ = cl.post(body_for(i, run), f"msg_{run}_{i}")
            if st not in (200, 202):
                raise SystemExit(f"webhook answered {st}")

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    acked = time.perf_counter() - t0
    rcv.wait_for(before + n, 120)
    replied = time.perf_counter() - t0
    cpu = cpu_seconds(d.proc.pid) - cpu0
    return {"mentions": n, "connections": conns, "acked_per_s": round(n / acked),
            "replied_per_s": round((len(rcv.delivered()) - before) / replied),
            "cpu_ms_per_mention": round(cpu * 1000 / n, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    out = a.out or os.path.join(a.build, "bench.json")
    q = a.quick
    res = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                       "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                    if l.startswith("model name")), "?")}}

    work = tempfile.mkdtemp(prefix="ackbot-bench-match-")
    r = subprocess.run([os.path.join(a.build, "bench_match"), os.path.join(ROOT, "intents"),
                        os.path.join(ROOT, "tests", "data", "mentions-eval.tsv"), work],
                       capture_output=True, text=True)
    shutil.rmtree(work, ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit("bench_match failed:\n" + r.stdout + r.stderr)
    res["matching"] = json.loads(r.stdout)
    held = os.path.join(tempfile.mkdtemp(prefix="ackbot-bench-guard-"), "heldout.jsonl")
    with open(held, "w") as f:
        for name in sorted(glob.glob(os.path.join(ROOT, "intents", "corpus", "heldout", "*.jsonl"))):
            f.write(open(name, encoding="utf-8").read())
    r = subprocess.run([os.path.join(a.build, "bench_guard"), os.path.join(ROOT, "config", "ackbot.yaml"),
                        held], capture_output=True, text=True)
    shutil.rmtree(os.path.dirname(held), ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit("bench_guard failed:\n" + r.stdout + r.stderr)
    res["guard"] = json.loads(r.stdout)

    rcv = receiver_mod.Receiver(SECRET)
    d = Daemon(a.build, rcv.url, "webhook")
    time.sleep(1)
    res["rss_idle_mib"] = round(proc_status(d.proc.pid)["VmRSS"], 1)
    rate, secs = 200, (5 if q else 15)
    lat, e2e, n = paced(d, rcv, rate, secs, "p")
    res["paced"] = {"rate": rate, "mentions": n,
                    "ack_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99), "p999": pct(lat, 99.9)},
                    "mention_to_reply_ms": {"p50": pct(e2e, 50), "p99": pct(e2e, 99)}}
    res["burst"] = burst(d, rcv, 2000 if q else 5000, 8, "b")
    st = proc_status(d.proc.pid)
    res["burst"]["peak_rss_mib"] = round(st["VmHWM"], 1)
    d.stop()
    rcv.close()

    nb = 5000 if q else 50000
    d = Daemon(a.build, f"http://127.0.0.1:{free_port()}/down", "backlog")
    t0 = time.perf_counter()
    cpu0 = cpu_seconds(d.proc.pid)

    def fill(k):
        cl = Client(d.port)
        for i in range(k, nb, 8):
            cl.post(body_for(i, "q"), f"msg_q_{i}")
    ts = [threading.Thread(target=fill, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.perf_counter() - t0
    time.sleep(2)
    st = proc_status(d.proc.pid)
    res["backlog"] = {"mentions": nb, "acked_per_s": round(nb / el),
                      "cpu_ms_per_mention": round((cpu_seconds(d.proc.pid) - cpu0) * 1000 / nb, 3),
                      "rss_mib": round(st["VmRSS"], 1), "peak_rss_mib": round(st["VmHWM"], 1)}
    d.stop()

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    m = res["matching"]
    rows = [
        ("matching, shipped intents, real mentions (us/mention)",
         f'{m["shipped/real"]["us_per_mention"]:.2f} (without prefilter {m["shipped/real"]["us_per_mention_without_prefilter"]:.1f})'),
        ("matching, shipped intents, 280-char mentions (us)",
         f'{m["shipped/generated"]["us_per_mention"]:.2f} (without {m["shipped/generated"]["us_per_mention_without_prefilter"]:.1f})'),
        ("matching, 1,000 synthetic patterns, 280-char mentions (us)",
         f'{m["synthetic_1000/generated"]["us_per_mention"]:.2f} (without {m["synthetic_1000/generated"]["us_per_mention_without_prefilter"]:.1f})'),
        ("load 1,000 patterns: YAML + compile + JIT + prefilter (ms)", f'{m["synthetic_1000/generated"]["load_ms"]:.1f}'),
        ("prefilter vs plain PCRE2: differences", str(m["differences"])),
        ("language id + classifier per mention (us): both / langid / classifier",
         f'{res["guard"]["langid_and_classify_us"]:.2f} / {res["guard"]["langid_us"]:.2f} / {res["guard"]["classify_us"]:.2f}'),
        ("whole decision per mention: patterns, entities, language, guard (us)",
         f'{res["guard"]["decide_us"]:.2f}'),
        ("model load (ms), model file (MB)",
         f'{res["guard"]["model_load_ms"]:.1f} / {res["guard"]["model_bytes"] / 1e6:.2f}'),
        ("RSS idle (MiB)", f'{res["rss_idle_mib"]}'),
        (f"webhook ack at {rate}/s, p50 / p99 / p999 (ms)",
         "%.2f / %.2f / %.2f" % (res["paced"]["ack_ms"]["p50"], res["paced"]["ack_ms"]["p99"], res["paced"]["ack_ms"]["p999"])),
        ("mention -> reply at the receiver, p50 / p99 (ms)",
         "%.2f / %.2f" % (res["paced"]["mention_to_reply_ms"]["p50"], res["paced"]["mention_to_reply_ms"]["p99"])),
        (f'burst of {res["burst"]["mentions"]} over 8 connections: acked/s, replied/s',
         f'{res["burst"]["acked_per_s"]} / {res["burst"]["replied_per_s"]}'),
        ("burst CPU per mention (ms), peak RSS (MiB)",
         f'{res["burst"]["cpu_ms_per_mention"]} / {res["burst"]["peak_rss_mib"]}'),
        (f"backlog of {nb:,} unsent replies: RSS, peak RSS (MiB)",
         f'{res["backlog"]["rss_mib"]} / {res["backlog"]["peak_rss_mib"]}'),
    ]
    w = max(len(r[0]) for r in rows)
    print(f'ackbot bench on {res["machine"]["cpus"]} CPUs ({res["machine"]["cpu"]})')
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    print(f"  (machine-readable: {out})")


if __name__ == "__main__":
    main()
