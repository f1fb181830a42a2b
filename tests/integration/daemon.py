"""Helpers for integration tests: a temp dir, a config, the real ackbot binary, a signed
webhook client, a reply receiver, the CLI, and the store opened read-only."""
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "standins"))
import receiver as receiver_mod  # noqa: E402
import webhooks  # noqa: E402

ROOT = BUILD = None
KEEP_LOGS = False
SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
SLOW = 1


def configure(root, build, keep_logs):
    global ROOT, BUILD, KEEP_LOGS, SLOW
    ROOT, BUILD, KEEP_LOGS = root, build, keep_logs
    SLOW = 3 if "asan" in build else 1
    if os.environ.get("ACKBOT_TEST_WRAPPER"):
        SLOW = 10


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_used_ports = set()


def free_port():
    """A port nobody listens on, from below the kernel's ephemeral range: a later bind to
    port 0 (a stand-in, a receiver) can never be handed the same port while the daemon
    has yet to bind it (it once was, while a model trained for 6 s)."""
    import random
    low = _ephemeral_low()
    for _ in range(1000):
        p = random.randrange(max(1024, low - 12000), low)
        if p in _used_ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        _used_ports.add(p)
        return p
    raise RuntimeError("no free port below the ephemeral range")


def binary():
    return os.path.join(BUILD, "ackbot")


def env_for_tests():
    env = dict(os.environ)
    supp = os.path.join(ROOT, "tests", "lsan.supp")
    env["LSAN_OPTIONS"] = f"suppressions={supp}:print_suppressions=0"
    env.pop("ACKBOT_WEBHOOK_SECRET", None)
    env.pop("ACKBOT_WEBHOOK_REPLY_URL", None)
    return env


class TestContext:
    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="ackbot-it-")
        self.procs = []
        self.receivers = []
        self.proc = None
        self.logs = []
        self.port = free_port()
        self.admin = free_port()
        while self.admin == self.port:    # the kernel may hand out a just-closed port again
            self.admin = free_port()
        self.config = None

    # -- set-up --
    def receiver(self, secret=SECRET):
        r = receiver_mod.Receiver(secret)
        self.receivers.append(r)
        return r

    def write_config(self, reply_url=None, intents=None, policy=None, sender=None, extra="",
                     webhook_extra="", console=False):
        intents = intents or os.path.join(HERE, "intents")
        policy = policy or "{cooldown: 0s, one_reply_per_thread: true}"
        sender = sender or "{timeout: 2s, max_attempts: 5, backoff_min: 100ms, backoff_max: 1s}"
        self.data = os.path.join(self.dir, "var")
        self.config = os.path.join(self.dir, "ackbot.yaml")
        with open(self.config, "w") as f:
            f.write(f"""bot: {{handles: [brand]}}
data_dir: {self.data}
log_level: debug
intents: {{paths: [{intents}]}}
policy: {policy}
sender: {sender}
admin: {{listen: 127.0.0.1:{self.admin}}}
{extra}
sources:
  - type: console
    enabled: {"true" if console else "false"}
  - type: webhook
    listen: 127.0.0.1:{self.port}
    path: /hooks/generic
    secret_env: TEST_WEBHOOK_SECRET
    {"reply_url: " + reply_url if reply_url else ""}
{webhook_extra}
""")
        return self.config

    def start(self, secret=SECRET, wait=True, stdin=subprocess.DEVNULL):
        env = env_for_tests()
        if secret:
            env["TEST_WEBHOOK_SECRET"] = secret
        log = open(os.path.join(self.dir, f"daemon-{len(self.logs)}.log"), "w")
        self.logs.append(log.name)
        wrapper = os.environ.get("ACKBOT_TEST_WRAPPER", "").split()
        self.proc = subprocess.Popen([*wrapper, binary(), "run", "-c", self.config], stdin=stdin,
                                     stdout=subprocess.PIPE if stdin == subprocess.PIPE else log,
                                     stderr=log, env=env)
        self.procs.append(self.proc)
        if wait:
            self.wait_healthy()
        return self.proc

    def wait_healthy(self, timeout=10):
        end = time.monotonic() + timeout * SLOW
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                st, body = self.get("/healthz", port=self.admin)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("daemon did not become healthy\n" + self.log_tail())

    def log_tail(self, n=30):
        if not self.logs:
            return ""
        with open(self.logs[-1], errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def log_text(self):
        out = []
        for p in self.logs:
            with open(p, errors="replace") as f:
                out.append(f.read())
        return "".join(out)

    # -- traffic --
    def get(self, path, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=5 * SLOW)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode()
        c.close()
        return r.status, body

    def raw(self, method, path, body=b"", headers=None, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10 * SLOW)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        c.close()
        return r.status, text

    def post(self, doc, secret=SECRET, msg_id=None, timestamp=None, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(doc).encode()
        msg_id = msg_id or "msg_" + os.urandom(6).hex()
        h = {"content-type": "application/json"}
        if secret:
            h.update(webhooks.sign(secret, msg_id, body, timestamp))
        if headers:
            h.update(headers)
        st, text = self.raw("POST", "/hooks/generic", body, h)
        try:
            return st, json.loads(text)
        except ValueError:
            return st, text

    def cli(self, *args, check=True, input=None):
        r = subprocess.run([binary(), *args, "-c", self.config] if args and args[0] != "--help"
                           else [binary(), *args], capture_output=True, text=True,
                           env=env_for_tests(), input=input, timeout=60 * SLOW)
        if check and r.returncode != 0:
            raise AssertionError(f"ackbot {' '.join(args)} exited {r.returncode}:\n{r.stderr}")
        return r

    def handoffs(self, status="all"):
        r = self.cli("handoff", "list", "--status", status, "--json")
        return json.loads(r.stdout)

    def db(self, sql, *args):
        con = sqlite3.connect(f"file:{os.path.join(self.data, 'ackbot.db')}?mode=ro", uri=True,
                              timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def metrics(self):
        st, body = self.get("/metrics", port=self.admin)
        assert st == 200
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    # -- stopping --
    def stop(self, timeout=5):
        p = self.proc
        p.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        try:
            p.wait(timeout=timeout * SLOW + 1)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("daemon did not exit after SIGTERM")
        took = time.monotonic() - t0
        assert p.returncode == 0, f"exit code {p.returncode}\n{self.log_tail()}"
        return took

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self):
        """After a passing test: every daemon still running stops cleanly on SIGTERM, so a
        sanitizer's or valgrind's report (a non-zero exit) fails the test."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=5 * SLOW + 1)
                except subprocess.TimeoutExpired:
                    raise AssertionError("daemon did not exit after SIGTERM")
                assert p.returncode == 0, f"daemon exit code {p.returncode}\n{self.log_tail()}"

    def cleanup(self, ok):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for r in self.receivers:
            r.close()
        if not ok or KEEP_LOGS:
            dest = os.path.join(ROOT, "tests", "log", self.name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(self.dir, dest, ignore=shutil.ignore_patterns("*.db*"))
            print(f"  logs kept in {dest}\n  --- daemon log tail ---\n{self.log_tail()}")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(pred, timeout, what="condition"):
    end = time.monotonic() + timeout * SLOW
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def mention(i, text="thanks for the quick delivery!", handle=None, **kw):
    d = {"id": f"m-{i}", "text": text, "author": {"id": f"a-{i}", "handle": handle or f"user{i}"}}
    d.update(kw)
    return d
