"""A local reply receiver: what a platform's side of ackbot's reply webhook looks like.

It verifies every reply's Standard Webhooks signature (with the independent webhooks.py),
records every delivery, and can be scripted to fail: answer a status (with Retry-After),
hang, or read the request and drop the connection (a lost response).
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webhooks  # noqa: E402


class Receiver:
    def __init__(self, secret):
        self.secret = secret
        self.lock = threading.Lock()
        self.deliveries = []      # every request: dict(id, key, body, t, outcome)
        self.violations = []      # signature problems
        self.faults = []          # queue of ("status", code, retry_after) | ("hang", s) | ("drop",)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None   # peers killed mid-request
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/replies"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body go in two writes

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                try:
                    webhooks.verify(rcv.secret, hdrs, body)
                except webhooks.VerifyError as e:
                    with rcv.lock:
                        rcv.violations.append(str(e))
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = None
                with rcv.lock:
                    fault = rcv.faults.pop(0) if rcv.faults else None
                    rec = {"id": hdrs.get("webhook-id"), "key": hdrs.get("idempotency-key"),
                           "body": doc, "t": time.monotonic(), "outcome": "ok"}
                    rcv.deliveries.append(rec)
                if fault and fault[0] == "hang":
                    rec["outcome"] = "hang"
                    time.sleep(fault[1])
                    self.close_connection = True
                    return
                if fault and fault[0] == "drop":
                    rec["outcome"] = "delivered-lost"   # stored by us, the sender never hears
                    self.close_connection = True
                    try:
                        self.connection.shutdown(2)
                    except OSError:
                        pass
                    return
                if fault and fault[0] == "status":
                    rec["outcome"] = f"status-{fault[1]}"
                    self.send_response(fault[1])
                    if fault[2] is not None:
                        self.send_header("Retry-After", str(fault[2]))
                    msg = b'{"error":"scripted"}'
                    self.send_header("content-length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                msg = b'{"ok":true}'
                self.send_response(200)
                self.send_header("content-length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

        return H

    def fail(self, *faults):
        with self.lock:
            self.faults.extend(faults)

    def delivered(self):
        """Replies the receiver kept: one per webhook-id (retries of a delivered id collapse)."""
        with self.lock:
            out = {}
            for d in self.deliveries:
                if d["outcome"] in ("ok", "delivered-lost") and d["id"] not in out:
                    out[d["id"]] = d
            return list(out.values())

    def by_mention(self):
        """in_reply_to -> set of webhook-ids delivered for it."""
        m = {}
        for d in self.delivered():
            if d["body"]:
                m.setdefault(d["body"]["in_reply_to"], set()).add(d["id"])
        return m

    def wait_for(self, n, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.delivered()) >= n:
                return True
            time.sleep(0.05)
        return len(self.delivered()) >= n

    def close(self):
        self.server.shutdown()
        self.server.server_close()
