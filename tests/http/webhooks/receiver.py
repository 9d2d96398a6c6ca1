#!/usr/bin/python3
"""receiver.py -- a webhook endpoint for tests/http/test_webhooks.c.

    /usr/bin/python3 tests/http/webhooks/receiver.py PORTFILE LOGFILE

Listens on 127.0.0.1 on a free port and writes the port to PORTFILE (atomically, by
rename) once it accepts connections.  Every request to /NAME is logged as one JSON line
appended to LOGFILE *when it arrives* (before any hold), then answered as the query
string says; each NAME counts its requests separately (n = 1, 2, ...):

    fail=N      answer the first N requests with `status` (default 500), later ones 200
    status=S    the failing status
    hold=N      keep the first N requests waiting hold_ms (default 5000) before answering
    secret=S    also verify X-Transom-Signature with S, as the README shows (sig_ok)

Log line: {"name", "n", "at_ms" (wall clock), "method", "path", "headers" (names
lower-cased), "body" (text), "reply", "sig_ok" (null without secret)}.
Exits on SIGTERM, when its parent dies, or after 300 seconds at the latest.
"""

import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}
log_path = None


def verify(secret, headers, body):
    """The README's verification: HMAC-SHA256 over timestamp, '.', raw body."""
    ts = headers.get("X-Transom-Timestamp", "")
    sig = headers.get("X-Transom-Signature", "")
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
    return fresh and hmac.compare_digest(sig, "v1=" + mac)


class Handler(BaseHTTPRequestHandler):
    server_version = "receiver/1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        arg = lambda k, d: query.get(k, [d])[0]
        name = url.path.strip("/")
        n_bytes = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n_bytes) if n_bytes > 0 else b""
        with lock:
            n = counts.get(name, 0) + 1
            counts[name] = n
        reply = int(arg("status", "500")) if n <= int(arg("fail", "0")) else 200
        secret = arg("secret", None)
        entry = {
            "name": name,
            "n": n,
            "at_ms": int(time.time() * 1000),
            "method": self.command,
            "path": url.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "reply": reply,
            "sig_ok": verify(secret, self.headers, body) if secret else None,
        }
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if n <= int(arg("hold", "0")):
            time.sleep(int(arg("hold_ms", "5000")) / 1000.0)
        try:
            text = b"ok\n" if reply < 300 else b"receiver says no\n"
            self.send_response(reply)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender is gone (killed, or timed out)

    do_GET = do_PUT = do_POST


def main():
    global log_path
    portfile, log_path = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, portfile)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    parent = os.getppid()

    def guard():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=guard, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
