#!/usr/bin/python3
"""Standard Webhooks (standardwebhooks.com), written from the spec with Python's standard
library only: an implementation independent of ackbot's C code, used to sign what the
tests send and to verify what ackbot sends back.

  webhooks.py send URL JSON [--secret whsec_...] [--id ID]   sign and POST one message
  webhooks.py selftest                                        check the spec's test vector
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

TOLERANCE = 5 * 60


def key_from_secret(secret):
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    return base64.b64decode(secret, validate=True)


def signature(secret, msg_id, timestamp, body):
    if isinstance(body, str):
        body = body.encode()
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(key_from_secret(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(secret, msg_id, body, timestamp=None):
    """Headers for body (bytes or str)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": signature(secret, msg_id, ts, body)}


class VerifyError(Exception):
    pass


def verify(secret, headers, body, now=None, tolerance=TOLERANCE):
    """Raises VerifyError unless headers carry a valid signature for body."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        raise VerifyError("missing headers")
    try:
        t = int(ts)
    except ValueError:
        raise VerifyError("bad timestamp")
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise VerifyError("timestamp out of tolerance")
    want = signature(secret, msg_id, ts, body).split(",", 1)[1]
    for entry in sigs.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, want):
            return msg_id
    raise VerifyError("no matching signature")


def selftest():
    secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    assert key_from_secret(secret) == b"0123456789abcdef0123456789abcdef"
    got = signature(secret, "msg_1", "1700000000", b'{"id":"m-1","text":"hi"}')
    want = "v1,+FsrhDAqKvW2xYLlTqSg1vOW7ZmWK4KqWf80xX72Ovs="
    assert got == want, (got, want)
    hdrs = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": "v1,AAAA " + want}
    assert verify(secret, hdrs, b'{"id":"m-1","text":"hi"}', now=1700000000) == "msg_1"
    try:
        verify(secret, hdrs, b'{"id":"m-1","text":"hi"}', now=1700000000 + 301)
        raise AssertionError("stale timestamp accepted")
    except VerifyError:
        pass
    return True


def post(url, body, secret, msg_id=None, timeout=10):
    if isinstance(body, str):
        body = body.encode()
    msg_id = msg_id or "msg_" + os.urandom(8).hex()
    headers = {"content-type": "application/json", **sign(secret, msg_id, body)}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class KeepAlive:
    """One keep-alive connection for posting webhooks; reconnects when the server closes
    (or answers 4xx/5xx, after which it may close). request() -> (status, seconds); status
    None when closed_ok and the server cut the connection without an answer."""
    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.host, self.port, self.timeout, self.c = host, port, timeout, None

    def request(self, body, headers, path="/hooks/generic", closed_ok=False):
        import http.client
        for _ in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                t0 = time.perf_counter()
                self.c.request("POST", path, body=body, headers=headers)
                r = self.c.getresponse()
                r.read()
                dt = time.perf_counter() - t0
                if r.getheader("connection", "").lower() == "close" or r.status >= 400:
                    self.c.close()
                    self.c = None
                return r.status, dt
            except (OSError, http.client.HTTPException):
                if self.c:
                    self.c.close()
                self.c = None
                if closed_ok:
                    return None, 0.0
        raise OSError("the webhook endpoint stopped answering")


def main(argv):
    if len(argv) >= 2 and argv[1] == "selftest":
        selftest()
        print("ok")
        return 0
    if len(argv) >= 4 and argv[1] == "send":
        secret = os.environ.get("ACKBOT_WEBHOOK_SECRET", "")
        msg_id = None
        rest = argv[4:]
        while rest:
            if rest[0] == "--secret" and len(rest) > 1:
                secret, rest = rest[1], rest[2:]
            elif rest[0] == "--id" and len(rest) > 1:
                msg_id, rest = rest[1], rest[2:]
            else:
                print(__doc__, file=sys.stderr)
                return 2
        if not secret:
            print("set ACKBOT_WEBHOOK_SECRET or pass --secret", file=sys.stderr)
            return 2
        json.loads(argv[3])
        status, text = post(argv[2], argv[3], secret, msg_id)
        print(status, text)
        return 0 if 200 <= status < 300 else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
