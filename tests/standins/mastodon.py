"""A Mastodon stand-in for the integration tests, written from Mastodon's documented API
(docs.joinmastodon.org; v4.3 behaviour): REST with Bearer tokens and rate-limit headers,
notifications with Link pagination, statuses with Idempotency-Key, the streaming API over
a websocket (RFC 6455, token in the Authorization header), and status HTML rendered the
way Mastodon's text_formatter does. Faults are scripted from the test (Python calls).
Standard library only; 127.0.0.1 only.
"""
import base64
import hashlib
import html
import http.server
import json
import re
import socket
import struct
import threading
import time
import urllib.parse

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def render_html(text):
    """Status content as Mastodon renders plain text: <p> per paragraph, <br /> per line,
    h-card mentions, hashtag links, escaped entities."""
    def inline(s):
        s = html.escape(s, quote=True).replace("&#x27;", "&#39;")
        s = re.sub(r"@(\w+)(?:@[\w.-]+)?", lambda m: (
            '<span class="h-card" translate="no"><a href="https://example.test/@%s" '
            'class="u-url mention">@<span>%s</span></a></span>' % (m.group(1), m.group(1))), s)
        s = re.sub(r"(?<![\w&])#(\w+)", lambda m: (
            '<a href="https://example.test/tags/%s" class="mention hashtag" rel="tag">#<span>%s</span></a>'
            % (m.group(1).lower(), m.group(1))), s)
        return s
    paras = [p for p in text.split("\n\n")]
    return "".join("<p>" + "<br />".join(inline(l) for l in p.split("\n")) + "</p>" for p in paras)


class WsClient:
    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.alive = True

    def send_text(self, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x81, n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x81, 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x81, 127, n)
        self._send(hdr + data)

    def _send(self, b):
        with self.lock:
            try:
                self.sock.sendall(b)
            except OSError:
                self.alive = False

    def drop(self):
        """Kill the TCP connection without a close frame."""
        self.alive = False
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Mastodon:
    def __init__(self, token="test-token", ping_s=30, port=0):
        self.token = token
        self.ping_s = ping_s
        self.lock = threading.Lock()
        self.next_id = 100000
        self.notifications = []          # oldest first
        self.statuses = {}               # id -> status (mentions and replies)
        self.replies = []                # statuses the bot created
        self.posts = []                  # every POST /api/v1/statuses attempt
        self.idem = {}                   # Idempotency-Key -> status id
        self.streams = []                # connected WsClient
        self.stream_paused = False
        self.silent = False             # open sockets, but no frames and no pongs
        self.refuse_upgrades = 0
        self.notifications_delay = 0.0  # seconds GET /api/v1/notifications takes (a slow backfill)
        # ("status", code) | ("status", 429, reset_in_s) | ("status", code, reset_in_s, retry_after)
        # | ("lost",): reset_in_s (429 only) sets X-RateLimit-Reset that many seconds ahead;
        # retry_after, if not None, is sent verbatim as Retry-After (seconds or an HTTP-date)
        self.post_faults = []
        self.upgrades = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.server.handle_error = lambda req, addr: None
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # ---- the test's side ----
    def _id(self):
        with self.lock:
            self.next_id += 1
            return str(self.next_id)

    def mention(self, text, username="ana", domain=None, display_name=None, bot=False, note="",
                visibility="public", spoiler_text="", language="en", account_id=None,
                stream=True, created_at=None, sid=None):
        """sid: the status id to use instead of a generated one (any string, e.g. one with
        characters that need URL-encoding)."""
        acct = username if domain is None else f"{username}@{domain}"
        account = {"id": account_id or str(abs(hash(acct)) % 10**12 + 1000), "username": username,
                   "acct": acct, "display_name": display_name if display_name is not None else username,
                   "bot": bot, "note": note, "url": f"https://example.test/@{acct}"}
        generated = str(int(time.time() * 1000) << 16 | (int(self._id()) & 0xFFFF))
        sid = generated if sid is None else sid
        created = created_at or time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        status = {"id": sid, "created_at": created, "account": account, "content": render_html(text),
                  "visibility": visibility, "spoiler_text": spoiler_text, "sensitive": bool(spoiler_text),
                  "language": language, "in_reply_to_id": None, "url": f"https://example.test/@{acct}/{sid}",
                  "mentions": [{"id": "1", "username": "brand", "acct": "brand"}], "tags": [], "emojis": []}
        n = {"id": self._id(), "type": "mention", "created_at": created, "account": account,
             "status": status}
        with self.lock:
            self.statuses[sid] = status
            self.notifications.append(n)
        if stream:
            self.push(n)
        return n

    def push(self, n):
        """Send one notification event to every connected stream (again, for duplicates)."""
        if self.stream_paused or self.silent:
            return
        frame = json.dumps({"stream": ["user:notification"], "event": "notification",
                            "payload": json.dumps(n)})
        for c in list(self.streams):
            if c.alive:
                c.send_text(frame)

    def drop_streams(self):
        for c in list(self.streams):
            c.drop()
        self.streams = []

    def replies_to(self, status_id):
        return [r for r in self.replies if r["in_reply_to_id"] == status_id]

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            time.sleep(0.05)
        return pred()

    def close(self):
        self.drop_streams()
        self.server.shutdown()
        self.server.server_close()

    # ---- the server's side ----
    def _handler(self):
        ms = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body go in two writes

            def log_message(self, *a):
                pass

            def authed(self):
                auth = self.headers.get("Authorization", "")
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                return auth == f"Bearer {ms.token}" or q.get("access_token", [""])[0] == ms.token

            def answer(self, code, doc, headers=None):
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                headers = headers or {}
                if self.authed():
                    reset = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300))
                    given = {k.lower() for k in headers}
                    # each header once, as Mastodon sends them: a fault's value replaces the default
                    for k, v in (("X-RateLimit-Limit", "300"), ("X-RateLimit-Remaining", "299"),
                                 ("X-RateLimit-Reset", reset)):
                        if k.lower() not in given:
                            self.send_header(k, v)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                path = u.path.rstrip("/")
                q = urllib.parse.parse_qs(u.query)
                if path == "/api/v1/streaming" and self.headers.get("Upgrade", "").lower() == "websocket":
                    return self.upgrade(q)
                if not self.authed():
                    return self.answer(401, {"error": "The access token is invalid"})
                if path == "/api/v1/accounts/verify_credentials":
                    return self.answer(200, {"id": "1", "username": "brand", "acct": "brand",
                                             "display_name": "Brand", "bot": True, "note": ""})
                if path == "/api/v2/instance":
                    return self.answer(200, {"domain": "example.test", "version": "4.3.1",
                                             "configuration": {"urls": {"streaming": f"ws://127.0.0.1:{ms.port}"},
                                                               "statuses": {"max_characters": 500,
                                                                            "characters_reserved_per_url": 23}}})
                if path == "/api/v1/notifications":
                    return self.notifications(q)
                return self.answer(404, {"error": "Record not found"})

            def notifications(self, q):
                if ms.notifications_delay:
                    time.sleep(ms.notifications_delay)
                types = q.get("types[]", [])
                limit = min(int(q.get("limit", ["40"])[0]), 80)
                key = lambda n: (len(n["id"]), n["id"])  # noqa: E731
                # in id order, as Mastodon's ORDER BY id (the list is in arrival order)
                with ms.lock:
                    items = sorted((n for n in ms.notifications if not types or n["type"] in types),
                                   key=key)
                if "max_id" in q:
                    items = [n for n in items if key(n) < key({"id": q["max_id"][0]})]
                if "since_id" in q:
                    items = [n for n in items if key(n) > key({"id": q["since_id"][0]})]
                if "min_id" in q:
                    # the page right after min_id (oldest first), returned newest first
                    items = [n for n in items if key(n) > key({"id": q["min_id"][0]})][:limit]
                else:
                    items = items[-limit:]
                page = list(reversed(items))
                links = []
                if page:
                    base = f"{ms.base_url}/api/v1/notifications?types[]=mention&limit={limit}"
                    links.append(f'<{base}&max_id={page[-1]["id"]}>; rel="next"')
                    links.append(f'<{base}&min_id={page[0]["id"]}>; rel="prev"')
                return self.answer(200, page, {"Link": ", ".join(links)} if links else None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                if urllib.parse.urlparse(self.path).path == "/_control/mention":
                    # for people trying ackbot by hand: {"text": "...", "username": "...", ...}
                    doc = json.loads(raw or b"{}")
                    return self.answer(200, ms.mention(doc.pop("text", "@brand hello"), **doc))
                if urllib.parse.urlparse(self.path).path == "/_control/replies":
                    # ?wait=SECONDS: until the bot has replied at least once
                    q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                    end = time.monotonic() + float(q.get("wait", ["0"])[0])
                    while not ms.replies and time.monotonic() < end:
                        time.sleep(0.05)
                    return self.answer(200, ms.replies)
                if not self.authed():
                    return self.answer(401, {"error": "The access token is invalid"})
                if urllib.parse.urlparse(self.path).path != "/api/v1/statuses":
                    return self.answer(404, {"error": "Record not found"})
                if "json" in self.headers.get("Content-Type", ""):
                    form = json.loads(raw)
                else:
                    # as Rails (Rack) parses a form: for a key given more than once, the last
                    # value wins
                    form = dict(urllib.parse.parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
                key = self.headers.get("Idempotency-Key")
                with ms.lock:
                    ms.posts.append({"form": form, "raw": raw, "key": key, "t": time.monotonic()})
                    fault = ms.post_faults.pop(0) if ms.post_faults else None
                if fault and fault[0] == "status":
                    hdr = {}
                    if fault[1] == 429:
                        t = time.time() + fault[2]
                        hdr["X-RateLimit-Reset"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
                            ".%03dZ" % int((t % 1) * 1000)
                    if len(fault) > 3 and fault[3] is not None:
                        hdr["Retry-After"] = str(fault[3])
                    return self.answer(fault[1], {"error": "Too many requests" if fault[1] == 429 else "oops"}, hdr)
                with ms.lock:
                    if key and key in ms.idem:
                        st = ms.statuses[ms.idem[key]]
                        created = False
                    else:
                        text = form.get("status", "")
                        if not text.strip():
                            return self.answer(422, {"error": "Validation failed: Text can't be blank"})
                        if len(text) > 500:
                            return self.answer(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
                        irt = form.get("in_reply_to_id")
                        if irt and irt not in ms.statuses:
                            return self.answer(404, {"error": "Record not found"})
                        vis = form.get("visibility", "public")
                        if vis not in ("public", "unlisted", "private", "direct"):
                            return self.answer(422, {"error": "Validation failed: Visibility is not included in the list"})
                        sid = str(int(time.time() * 1000) << 16 | (len(ms.statuses) & 0xFFFF))
                        st = {"id": sid, "content": render_html(text), "text": text, "in_reply_to_id": irt,
                              "visibility": vis, "spoiler_text": form.get("spoiler_text", ""),
                              "language": form.get("language"), "idempotency_key": key}
                        ms.statuses[sid] = st
                        ms.replies.append(st)
                        if key:
                            ms.idem[key] = sid
                        created = True
                if fault and fault[0] == "lost" and created:
                    # the status exists now, but the client never hears back
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                return self.answer(200, st)

            def upgrade(self, q):
                auth_ok = self.authed()
                if ms.refuse_upgrades > 0:
                    ms.refuse_upgrades -= 1
                    return self.answer(503, {"error": "unavailable"})
                if not auth_ok:
                    self.send_response(401)
                    self.send_header("X-Error-Message", "Invalid access token")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if q.get("stream", [""])[0] not in ("user", "user:notification"):
                    return self.answer(400, {"error": "Unknown stream type"})
                accept = base64.b64encode(hashlib.sha1(
                    (self.headers["Sec-WebSocket-Key"] + WS_GUID).encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.wfile.flush()
                c = WsClient(self.connection)
                ms.streams.append(c)
                ms.upgrades += 1
                self.close_connection = True
                self.ws_loop(c)
                return None

            def ws_loop(self, c):
                sock = self.connection
                sock.settimeout(ms.ping_s)
                buf = b""

                def need(n):
                    nonlocal buf
                    while len(buf) < n:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise OSError("closed")
                        buf += chunk
                    out, buf = buf[:n], buf[n:]
                    return out

                while c.alive:
                    try:
                        b0, b1 = need(2)
                    except socket.timeout:
                        if not ms.silent:
                            c._send(b"\x89\x00")     # ping
                        continue
                    except OSError:
                        break
                    op, ln = b0 & 0x0F, b1 & 0x7F
                    try:
                        if ln == 126:
                            ln = struct.unpack("!H", need(2))[0]
                        elif ln == 127:
                            ln = struct.unpack("!Q", need(8))[0]
                        mask = need(4) if b1 & 0x80 else b"\0\0\0\0"
                        data = bytes(x ^ mask[i % 4] for i, x in enumerate(need(ln)))
                    except OSError:
                        break
                    if op == 0x8:
                        c._send(b"\x88\x00")
                        break
                    if op == 0x9 and not ms.silent:
                        c._send(bytes([0x8A, len(data)]) + data)
                c.alive = False
                if c in ms.streams:
                    ms.streams.remove(c)

        return H


if __name__ == "__main__":
    import sys
    if len(sys.argv) < 2 or sys.argv[1] != "serve":
        print("usage: mastodon.py serve [PORT]   (127.0.0.1 only; token: test-token)", file=sys.stderr)
        sys.exit(2)
    m = Mastodon(port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(json.dumps({"base_url": m.base_url, "token": m.token}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        m.close()
