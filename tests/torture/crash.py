#!/usr/bin/python3
"""kill -9 at random points while mentions arrive by webhook and by Mastodon at once.

One daemon with a webhook source (replies to a local receiver) and a Mastodon source (the
stand-in). Webhooks come from --senders threads that retry like a platform (connection
errors, timeouts, 429, 5xx; the same webhook-id on every attempt). Mastodon mentions are
created in the stand-in as the webhooks progress (and a burst of them while the daemon is
down), so the daemon gets them from the stream or, after a restart, from the backfill.
The daemon is killed with SIGKILL at --kills random points (most after a random amount of
progress plus a few milliseconds, so the kill lands mid-commit or mid-send; some right
after a restart, during recovery) and restarted each time (healthz 200 before going on).
Once everything is sent it drains, stops with SIGTERM (exit 0), and the invariants are
checked: every mention the platforms saw accepted is in the store, replied to exactly once
or handed to a person, none has two different replies, handoff log == handoff rows.

  crash.py [--build DIR] [--mentions N] [--kills K] [--seed S] [--webhook-share F]
           [--senders T] [--keep-logs]

Exit 0: every invariant held; 1: one did not; 2: could not run.
"""
import argparse
import collections
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torture as T  # noqa: E402  (the shared harness)
from torture import daemon  # noqa: E402

KIND_WEIGHTS = [("thanks", 45), ("complaint", 20), ("question", 20), ("spam", 15)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="directory holding ackbot (default build)")
    ap.add_argument("--mentions", type=int, default=10000, help="webhook + Mastodon mentions (default 10000)")
    ap.add_argument("--kills", type=int, default=50, help="kill -9 count (default 50)")
    ap.add_argument("--seed", type=int, default=None, help="default: random, printed")
    ap.add_argument("--webhook-share", type=float, default=0.5, help="share sent by webhook (default 0.5)")
    ap.add_argument("--senders", type=int, default=4, help="concurrent webhook senders (default 4)")
    ap.add_argument("--recovery-share", type=float, default=0.2,
                    help="share of kills fired 0-250 ms after a restart, during recovery (default 0.2)")
    ap.add_argument("--drain-timeout", type=float, default=120, help="seconds to drain after the last mention")
    ap.add_argument("--time-limit", type=float, default=600, help="seconds for sending everything")
    ap.add_argument("--intents", default=None, help="intent dir instead of the built-in set")
    ap.add_argument("--keep-logs", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    err = T.setup_harness(a.build, a.keep_logs, a.intents)
    if err:
        print(f"crash: {err}")
        return 2
    if a.mentions < 100 or a.kills < 0:
        print("crash: --mentions must be >= 100, --kills >= 0")
        return 2
    rng = random.Random(seed)
    n_w = int(round(a.mentions * a.webhook_share))
    n_m = a.mentions - n_w
    print(f"crash: {T.binary_id()}, seed {seed}: {a.mentions} mentions ({n_w} webhook, "
          f"{n_m} mastodon), {a.kills} kills, {a.senders} webhook senders", flush=True)

    names, weights = zip(*KIND_WEIGHTS)
    wkinds = rng.choices(names, weights, k=n_w)
    mkinds = rng.choices(names, weights, k=n_m)
    run = T.Run("crash")
    ok = False
    problems = collections.defaultdict(list)
    t0 = time.monotonic()
    kills = []
    stop = threading.Event()
    try:
        run.configure()
        if run.launch() != "up":
            raise T.Fail("the daemon did not start:\n" + run.log_tail())
        if not run.wait_stream():
            raise T.Fail("the Mastodon source never streamed:\n" + run.log_tail())
        plat = T.Platform(run.port, backoff=(0.02, 0.5), seed=seed)
        kinds = {}
        docs = []
        for i, kind in enumerate(wkinds):
            doc = daemon.mention(f"c{i}", T.text_for(kind, i))
            doc["id"] = f"w-{i}"
            kinds[("webhook", doc["id"])] = kind
            docs.append(doc)
        lock = threading.Lock()
        queue = list(range(n_w))
        state = {"w_done": 0, "m_made": 0, "allow": 0}
        deadline = time.monotonic() + a.time_limit * daemon.SLOW

        def sender():
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    i = queue.pop(0)
                plat.deliver(docs[i], f"msg_crash_{seed}_{i}", deadline, stop=stop)
                with lock:
                    state["w_done"] += 1

        def creator():
            """Mastodon mentions in step with the webhooks, plus the bursts the killer allows
            while the daemon is down."""
            while state["m_made"] < n_m and not stop.is_set():
                with lock:
                    target = n_m * state["w_done"] / max(1, n_w) + 20 + state["allow"]
                    go = state["m_made"] < target or (not queue and state["w_done"] >= n_w)
                    if go:
                        i = state["m_made"]
                if not go:
                    time.sleep(0.002)
                    continue
                n = run.ms.mention("@brand " + T.text_for(mkinds[i], 100000 + i), username=f"m{i}")
                with lock:
                    kinds[("mastodon", n["status"]["id"])] = mkinds[i]
                    state["m_made"] += 1

        def progress():
            with lock:
                return state["w_done"] + state["m_made"]

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(a.senders)]
        threads.append(threading.Thread(target=creator, daemon=True))
        for t in threads:
            t.start()

        lo, hi = int(a.mentions * 0.02), int(a.mentions * 0.97)
        points = sorted(rng.sample(range(lo, hi), min(a.kills, hi - lo)))
        plan = [("recovery" if k and rng.random() < a.recovery_share else "progress", p)
                for k, p in enumerate(points)]
        down_total = 0.0
        for kind, point in plan:
            if kind == "progress":
                last, last_t = progress(), time.monotonic()
                while progress() < point:
                    if progress() != last:
                        last, last_t = progress(), time.monotonic()
                    elif time.monotonic() - last_t > 60 * daemon.SLOW:
                        raise T.Fail(f"no progress for 60s at {last}/{a.mentions} mentions:\n"
                                     + run.log_tail())
                    if not run.alive():
                        break
                    time.sleep(0.001)
                time.sleep(rng.uniform(0, 0.01))
            else:
                time.sleep(rng.uniform(0, 0.25))
            if not run.alive():
                code = run.proc.returncode
                problems[f"daemon ended by itself (exit {code}) before kill {len(kills) + 1}"].append(
                    run.logs[-1])
                run.exits.append((code, run.logs[-1]))
            else:
                run.kill9()
            td = time.monotonic()
            kills.append((kind, progress()))
            with lock:
                state["allow"] += rng.randint(5, 40)      # Mastodon mentions while it is down
            time.sleep(rng.uniform(0, 0.05))
            if run.launch() != "up":
                raise T.Fail(f"the daemon did not restart after kill {len(kills)}:\n" + run.log_tail())
            down_total += time.monotonic() - td
            if len(kills) % 10 == 0:
                print(f"  {len(kills)} kills, {progress()}/{a.mentions} mentions sent, "
                      f"{time.monotonic() - t0:.0f}s", flush=True)
        for t in threads:
            t.join(max(1.0, deadline - time.monotonic()))
        stop.set()
        t_sent = time.monotonic() - t0
        sent_during = sum(1 for _, p in kills if p < a.mentions)
        print(f"  all sent after {t_sent:.0f}s ({len(kills)} kills, {sent_during} while sending, "
              f"{down_total:.1f}s down); draining", flush=True)

        def still_up():
            if not run.alive():
                raise T.Fail(f"daemon exited by itself while draining (exit {run.proc.returncode}):\n"
                             + run.log_tail())

        left = T.wait_drained(run, set(kinds), a.drain_timeout, poll=still_up)
        t_drain = time.monotonic() - t0 - t_sent
        if left is not None:
            problems[f"not drained {a.drain_timeout:.0f}s after the last mention: {left}"].append("")
        hz = run.healthz()
        if hz != 200:
            problems[f"healthz {hz} after the run"].append("")
        for why in run.stop_clean():
            problems[why].append(run.logs[-1])
        p, n = T.check(run, plat, kinds)
        for k, v in p.items():
            problems[k].extend(v)
        if len(kills) < a.kills:
            problems[f"only {len(kills)} of {a.kills} kills happened"].append("")
        secs = time.monotonic() - t0
        tally = dict(plat.tally)
        print(f"crash: {n['seen']} mentions ({n['seen_webhook']} webhook, {n['seen_mastodon']} mastodon), "
              f"{n['stored']} in the store, {len(kills)} kills "
              f"({sum(1 for k, _ in kills if k == 'recovery')} during recovery), "
              f"{n['replies']} replies ({n['replies_webhook']} webhook, {n['replies_mastodon']} mastodon; "
              f"{n['deliveries']} receiver deliveries, {n['posts']} Mastodon posts), "
              f"{n['handoffs']} handoffs, {n['log_lines']} handoff log lines, "
              f"{n['lost']} lost, {n['double']} double, {n['unanswered']} unanswered; "
              f"webhook answers {tally}; sent in {t_sent:.0f}s, drained in {t_drain:.0f}s, {secs:.0f}s total")
        ok = not problems
    except T.Fail as e:
        problems[f"harness: {e}"].append("")
    finally:
        stop.set()
        kept = run.finish_run(ok, a.keep_logs)
    if problems:
        T.print_problems(problems)
        if kept:
            print(f"  logs and store kept in {kept}")
        print(f"crash: FAIL (seed {seed}; rerun: /usr/bin/python3 tests/torture/crash.py --build {a.build} "
              f"--mentions {a.mentions} --kills {a.kills} --seed {seed})")
        return 1
    print("crash: every invariant holds (0 lost, 0 double, handoff log == handoff rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
