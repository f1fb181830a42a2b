#!/usr/bin/python3
"""The data directory fills up, then gets space back: ackbot must refuse (503), lose nothing
it accepted, never exit, and resume by itself.

As root, the daemon's data_dir (store and handoff log) is a tmpfs of --size-kib made for
the run (unmounted at the end, whatever happens). Webhook mentions with long texts are sent
until the daemon answers 503; a Mastodon stream runs alongside. While the disk is full
(--full-seconds) new webhooks and Mastodon mentions keep coming and the platform retries
the refused webhooks (same webhook-id). Then the tmpfs is remounted at 64 MiB and, without
a restart, within --recover-s: every refused webhook must be accepted on retry, every
Mastodon mention created while full must be fetched, and fresh mentions answered. After the
drain, the invariants: nothing answered 2xx lost, one reply per mention or a handoff, no
second reply, handoff log == handoff rows; the daemon never exited and stops cleanly.

  diskfull.py [--build DIR] [--size-kib N] [--full-seconds S] [--recover-s S] [--seed S]
              [--keep-logs]

Exit 0: every check held; 1: one did not; 2: could not run (not root, no tmpfs).
"""
import argparse
import collections
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torture as T  # noqa: E402  (the shared harness)
from torture import daemon  # noqa: E402

FILL_KINDS = ["thanks", "complaint", "question", "thanks", "spam"]


def free_kib(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize // 1024


def listing(path):
    """'name size KiB, ...' of the files in path (what fills the disk)."""
    out = []
    for name in sorted(os.listdir(path)):
        try:
            st = os.stat(os.path.join(path, name))
        except OSError:
            continue
        out.append(f"{name} {st.st_blocks * 512 // 1024}")
    return ", ".join(out) + " (KiB)"


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise T.Fail(f"{' '.join(cmd)}: {r.stderr.strip() or r.returncode}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="directory holding ackbot (default build)")
    ap.add_argument("--size-kib", type=int, default=0,
                    help="tmpfs size while filling (default: what the started daemon uses + --headroom-kib)")
    ap.add_argument("--headroom-kib", type=int, default=2048,
                    help="free space left after start-up when --size-kib is not given (default 2048)")
    ap.add_argument("--fill-pace-ms", type=float, default=20,
                    help="pause between webhooks while filling, so checkpoints can run too (default 20)")
    ap.add_argument("--text-bytes", type=int, default=1500, help="mention text length while filling")
    ap.add_argument("--fill-max", type=int, default=20000, help="give up if not full after this many")
    ap.add_argument("--full-seconds", type=float, default=8, help="how long the disk stays full")
    ap.add_argument("--recover-s", type=float, default=30, help="seconds allowed to resume after space is back")
    ap.add_argument("--seed", type=int, default=None, help="default: random, printed")
    ap.add_argument("--intents", default=None, help="intent dir instead of the built-in set")
    ap.add_argument("--keep-logs", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    if os.geteuid() != 0:
        print("diskfull: needs root (it mounts a tmpfs for the data directory)")
        return 2
    err = T.setup_harness(a.build, a.keep_logs, a.intents)
    if err:
        print(f"diskfull: {err}")
        return 2
    rng = random.Random(seed)
    print(f"diskfull: {T.binary_id()}, seed {seed}", flush=True)

    run = T.Run("diskfull")
    mnt = run.data_override = os.path.join(run.dir, "data")
    os.makedirs(mnt)
    mounted = [False]
    problems = collections.defaultdict(list)
    ok = False
    t0 = time.monotonic()

    def unmount():
        if mounted[0]:
            r = subprocess.run(["umount", mnt], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", mnt], capture_output=True)
            mounted[0] = False

    try:
        try:
            sh("mount", "-t", "tmpfs", "-o", f"size={a.size_kib or 65536}k,mode=0750", "tmpfs", mnt)
        except T.Fail as e:
            print(f"diskfull: cannot mount a tmpfs: {e}")
            return 2
        mounted[0] = True
        run.configure(sender="{timeout: 2s, max_attempts: 100, backoff_min: 100ms, backoff_max: 1s}")
        if run.launch() != "up":
            raise T.Fail("the daemon did not start:\n" + run.log_tail())
        if not run.wait_stream():
            raise T.Fail("the Mastodon source never streamed:\n" + run.log_tail())
        time.sleep(0.5)
        total = os.statvfs(mnt).f_blocks * os.statvfs(mnt).f_frsize // 1024
        used = total - free_kib(mnt)
        size = a.size_kib or (used + a.headroom_kib)
        if not a.size_kib:
            sh("mount", "-o", f"remount,size={size}k", mnt)
        print(f"  data_dir on a tmpfs of {size} KiB ({used} KiB used after start-up: {listing(mnt)})",
              flush=True)
        first_proc = run.proc
        plat = T.Platform(run.port, backoff=(0.05, 1.0), seed=seed)
        kinds = {}
        seq = [0, 0]                     # webhook, mastodon counters
        pad = " ".join(f"word{rng.randrange(10**6)}" for _ in range(a.text_bytes // 11 + 1))

        def new_webhook(phase):
            i = seq[0]
            seq[0] += 1
            kind = FILL_KINDS[i % len(FILL_KINDS)]
            doc = daemon.mention(f"d{i}", (T.text_for(kind, i) + " " + pad)[:max(40, a.text_bytes)])
            doc["id"] = f"w-{i}"
            kinds[("webhook", doc["id"])] = kind
            return doc, f"msg_disk_{seed}_{i}"

        def new_mastodon():
            i = seq[1]
            seq[1] += 1
            kind = FILL_KINDS[(i + 1) % len(FILL_KINDS)]
            n = run.ms.mention("@brand " + T.text_for(kind, 50000 + i), username=f"d{i}")
            kinds[("mastodon", n["status"]["id"])] = kind
            return n["status"]["id"]

        def alive_check(where):
            if run.proc is not first_proc or not run.alive():
                problems[f"daemon exited {where} (exit {run.proc.returncode})"].append(run.logs[-1])
                raise T.Fail(f"daemon exited {where}:\n" + run.log_tail())

        # 1. fill: webhooks (and some Mastodon mentions) until the daemon answers 503
        phase_status = {"fill": collections.Counter(), "full": collections.Counter(),
                        "retry-full": collections.Counter(), "recover": collections.Counter()}
        docs = {}
        t_fill = time.monotonic()
        full = False
        while seq[0] < a.fill_max:
            doc, mid = new_webhook("fill")
            docs[doc["id"]] = (doc, mid)
            st = plat.send_once(doc, mid)
            phase_status["fill"][st] += 1
            if seq[0] % 4 == 0:
                new_mastodon()
            if st == 503:
                full = True
                break
            time.sleep(a.fill_pace_ms / 1000)
            if st is None or (st not in (200, 202)):
                alive_check("while filling")
                if st is not None:
                    problems[f"answered {st} while filling (expected 202 or 503)"].append(doc["id"])
        alive_check("while filling")
        if not full:
            raise T.Fail(f"no 503 after {seq[0]} webhooks: the disk never filled up "
                         f"({free_kib(mnt)} KiB free)")
        sent_to_full = seq[0]
        t_full = time.monotonic()
        print(f"  full after {sent_to_full} webhooks + {seq[1]} Mastodon mentions, "
              f"{t_full - t_fill:.1f}s ({free_kib(mnt)} KiB free: {listing(mnt)}); staying full {a.full_seconds:.0f}s",
              flush=True)

        # 2. full: new mentions keep coming, the refused ones are retried every second
        m_full = []
        last_retry = time.monotonic()
        while time.monotonic() - t_full < a.full_seconds * daemon.SLOW:
            doc, mid = new_webhook("full")
            docs[doc["id"]] = (doc, mid)
            st = plat.send_once(doc, mid)
            phase_status["full"][st] += 1
            if seq[0] % 2 == 0:
                m_full.append(new_mastodon())
            if time.monotonic() - last_retry > 1.0:
                last_retry = time.monotonic()
                for i in plat.pending_ids():
                    phase_status["retry-full"][plat.send_once(*docs[i])] += 1
            alive_check("while the disk was full")
            time.sleep(0.05)
        full_free = free_kib(mnt)
        full_answers = phase_status["full"] + phase_status["retry-full"]
        if not full_answers.get(503):
            problems["no 503 while the disk was full"].append(dict(full_answers))
        odd = {s: c for s, c in full_answers.items() if s not in (200, 202, 503)}
        if odd:
            problems[f"answers other than 2xx/503 while full: {odd}"].append("")
        pending_at_free = len(plat.pending_ids())

        # 3. space back, no restart
        sh("mount", "-o", "remount,size=64m", mnt)
        t_free = time.monotonic()
        print(f"  space back after {t_free - t_full:.1f}s full ({pending_at_free} webhooks waiting "
              f"for a retry, {len(m_full)} Mastodon mentions made while full)", flush=True)
        deadline = t_free + a.recover_s * daemon.SLOW
        delay = {}
        next_try = {}
        t_webhooks = t_mastodon = None
        m_want = {("mastodon", s) for s in T.mastodon_seen(run.ms)}
        while time.monotonic() < deadline:
            now = time.monotonic()
            for i in plat.pending_ids():
                if next_try.get(i, 0) <= now:
                    st = plat.send_once(*docs[i])
                    phase_status["recover"][st] += 1
                    d = delay.get(i, 0.05)
                    delay[i] = min(d * 2, 1.0)
                    next_try[i] = now + d * (0.5 + rng.random() / 2)
            if t_webhooks is None and not plat.pending_ids():
                t_webhooks = time.monotonic() - t_free
            if t_mastodon is None:
                try:
                    stored = set(T.read_store(run.db_path)[0])
                except Exception:
                    stored = set()
                if m_want <= stored:
                    t_mastodon = time.monotonic() - t_free
            alive_check("after space came back")
            if t_webhooks is not None and t_mastodon is not None:
                break
            time.sleep(0.05)
        if t_webhooks is None:
            problems[f"refused webhooks still refused {a.recover_s:.0f}s after space came back"].extend(
                plat.pending_ids())
        if t_mastodon is None:
            problems[f"Mastodon mentions not fetched {a.recover_s:.0f}s after space came back"].extend(
                sorted(m_want - set(T.read_store(run.db_path)[0])))
        # fresh traffic is served as usual
        fresh = []
        for _ in range(3):
            doc, mid = new_webhook("after")
            docs[doc["id"]] = (doc, mid)
            st = plat.send_once(doc, mid)
            if st != 202:
                problems[f"a fresh webhook after recovery answered {st}"].append(doc["id"])
            fresh.append(new_mastodon())
        left = T.wait_drained(run, set(kinds), 60, poll=lambda: alive_check("while draining"))
        if left is not None:
            problems[f"not drained 60s after the disk had space again: {left}"].append("")
        t_drained = time.monotonic() - t_free
        alive_check("at the end")
        hz = run.healthz()
        if hz != 200:
            problems[f"healthz {hz} after recovery"].append("")
        for why in run.stop_clean():
            problems[why].append(run.logs[-1])
        if len(run.launched) != 1:
            problems["the daemon was restarted"].append(len(run.launched))
        p, n = T.check(run, plat, kinds)
        for k, v in p.items():
            problems[k].extend(v)
        log = run.proc_log(first_proc)
        errs = {e: log.count(f"event={e} ") + log.count(f"event={e}\n") for e in
                ("commit_failed", "sync_failed", "log_failed", "store_error", "maintenance_failed", "retry")}
        errs = {e: c for e, c in errs.items() if c}
        accepted_full = full_answers.get(202, 0) + full_answers.get(200, 0)
        fmt = lambda c: ", ".join(f"{k}: {v}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0])))  # noqa
        print(f"diskfull: tmpfs {size} KiB ({used} KiB used at start) full after {sent_to_full} webhooks; "
              f"while full ({a.full_seconds:.0f}s, {full_free} KiB free): answers {{{fmt(full_answers)}}} "
              f"({accepted_full} accepted, checked not lost); {pending_at_free} refused webhooks accepted "
              f"{'%.1fs' % t_webhooks if t_webhooks is not None else 'NEVER'} after space came back, "
              f"{len(m_full)} Mastodon mentions made while full fetched after "
              f"{'%.1fs' % t_mastodon if t_mastodon is not None else 'NEVER'}, drained after {t_drained:.1f}s; "
              f"{n['seen']} mentions ({n['seen_webhook']} webhook, {n['seen_mastodon']} mastodon), "
              f"{n['stored']} stored, {n['replies']} replies, {n['handoffs']} handoffs, "
              f"{n['log_lines']} log lines, {n['lost']} lost, {n['double']} double; daemon log: {errs}; "
              f"{time.monotonic() - t0:.0f}s")
        ok = not problems
    except T.Fail as e:
        problems[f"harness: {e}"].append("")
    finally:
        kept = run.finish_run(ok, a.keep_logs, before_remove=unmount)
        unmount()
    if problems:
        T.print_problems(problems)
        if kept:
            print(f"  logs and store kept in {kept}")
        print(f"diskfull: FAIL (seed {seed})")
        return 1
    print("diskfull: every check holds (503 while full, nothing accepted lost, resumed without a restart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
