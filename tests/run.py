#!/usr/bin/python3
"""ackbot's test runner: unit binaries, then integration tests against the real daemon.

Usage: tests/run.py [--build DIR] [-k SUBSTR] [--keep-logs] [-v]
The last line is "N passed, N failed"; the exit code is 1 if anything failed.
"""
import argparse
import glob
import importlib.util
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


def run_units(build, filt, verbose, wrapper=()):
    passed = failed = 0
    for binary in sorted(glob.glob(os.path.join(build, "tests", "test_*"))):
        if binary.endswith(".d") or not os.access(binary, os.X_OK):
            continue
        name = os.path.basename(binary)
        if filt and filt not in name:
            continue
        try:
            out = subprocess.run([*wrapper, binary], capture_output=True, text=True, timeout=600,
                                 env=test_env(build))
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: timed out")
            failed += 1
            continue
        p = f = 0
        for line in out.stdout.splitlines():
            if line.startswith("PASS "):
                p += 1
                if verbose:
                    print(f"  {line}")
            elif line.startswith("FAIL") or line.startswith("    "):
                print(f"  {line}")
                if line.startswith("FAIL"):
                    f += 1
        if out.returncode != 0 and f == 0:
            f = 1
            print(f"FAIL {name}: exit {out.returncode}\n{out.stderr[-3000:]}")
        elif out.returncode != 0 and out.stderr.strip():
            print(out.stderr[-3000:])
        print(f"unit {name}: {p} passed, {f} failed")
        passed += p
        failed += f
    return passed, failed


def test_env(build):
    env = dict(os.environ)
    supp = os.path.join(ROOT, "tests", "lsan.supp")
    env["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def run_integration(build, filt, keep_logs, verbose):
    import integration.daemon as daemon
    daemon.configure(ROOT, build, keep_logs)
    passed = failed = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "integration", "test_*.py"))):
        modname = "integration." + os.path.basename(path)[:-3]
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            fn = getattr(mod, name)
            full = f"{os.path.basename(path)[:-3]}.{name}"
            if not callable(fn) or (filt and filt not in full):
                continue
            t0 = time.monotonic()
            ctx = daemon.TestContext(full)
            try:
                fn(ctx)
                ctx.finish()
                ctx.cleanup(ok=True)
                passed += 1
                print(f"PASS {full} ({time.monotonic() - t0:.1f}s)")
            except Exception:
                failed += 1
                print(f"FAIL {full} ({time.monotonic() - t0:.1f}s)")
                traceback.print_exc(limit=6)
                ctx.cleanup(ok=False)
            sys.stdout.flush()
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", dest="filt", default="")
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--valgrind", action="store_true", help="run the unit binaries under $ACKBOT_TEST_WRAPPER too")
    a = ap.parse_args()
    build = os.path.join(ROOT, a.build) if not os.path.isabs(a.build) else a.build
    wrapper = os.environ.get("ACKBOT_TEST_WRAPPER", "").split() if a.valgrind else []
    p1, f1 = run_units(build, "" if a.valgrind else a.filt, a.v, wrapper)
    p2 = f2 = 0
    if not a.unit_only:
        p2, f2 = run_integration(build, a.filt, a.keep_logs, a.v)
    print(f"{p1 + p2} passed, {f1 + f2} failed")
    return 1 if f1 + f2 else 0


if __name__ == "__main__":
    sys.exit(main())
