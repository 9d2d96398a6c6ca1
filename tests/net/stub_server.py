#!/usr/bin/python3
"""stub_server.py -- a tiny HTTP server for tests/unit/test_net.c.

    /usr/bin/python3 tests/net/stub_server.py PORTFILE

Listens on 127.0.0.1 on a free port and writes the port number to PORTFILE (atomically,
by rename) once it accepts connections.  Exits on SIGTERM, when its parent dies, or after
60 seconds at the latest, so a crashed test never leaves it behind.

Endpoints (GET unless said otherwise):
  /cal.ics         a calendar with ETag "v1" and a Last-Modified; 304 to If-None-Match "v1"
  /lm-only.ics     Last-Modified only; 304 to an If-Modified-Since equal to it
  /flaky.ics       200 (ETag "f1") on the first request, 500 afterwards
  /always-500      500
  /always-304      304, whatever was asked
  /counter.ics     "count N" with ETag "cN", a new version on every request, never 304
  /slow            answers after 2 seconds
  /big             65536 bytes with a Content-Length
  /big-stream      65536 bytes without a Content-Length (the end is the close)
  /redirect        302 to /cal.ics
  /redirect-loop   302 to itself
  /redirect-file   302 to file:///etc/hostname
  /_seen?path=P    the If-None-Match and If-Modified-Since of the last request for P, and
                   how many requests P had: "inm=...\nims=...\nhits=N\n"
  /echo[?status=N] any method: replies N (default 200) with "method M\npath P\n", one
                   "header name: value" line per request header (names lower-cased), then
                   "body " and the request body
  /echo-big        any method: 10000 bytes of "x"
"""

import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAL_BODY = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//transom//stub//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:xmas@stub\r\nDTSTART;VALUE=DATE:20261225\r\n"
    b"SUMMARY:Christmas Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"

lock = threading.Lock()
seen = {}  # path -> (if-none-match, if-modified-since, hits)


class Handler(BaseHTTPRequestHandler):
    server_version = "stub/1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=b"", headers=(), length=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length and status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status != 304 and self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout or a size limit under test)

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        with lock:
            hits = seen.get(path, (None, None, 0))[2] + 1
            seen[path] = (inm, ims, hits)

        if path == "/cal.ics":
            hdrs = [("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED),
                    ("Content-Type", "text/calendar")]
            self.reply(304 if inm == '"v1"' else 200, CAL_BODY, hdrs)
        elif path == "/lm-only.ics":
            hdrs = [("Last-Modified", LAST_MODIFIED)]
            self.reply(304 if ims == LAST_MODIFIED else 200, b"lm-only body\n", hdrs)
        elif path == "/flaky.ics":
            if hits == 1:
                self.reply(200, b"flaky good copy\n", [("ETag", '"f1"')])
            else:
                self.reply(500, b"internal error\n")
        elif path == "/always-500":
            self.reply(500, b"internal error\n")
        elif path == "/always-304":
            self.reply(304)
        elif path == "/counter.ics":
            self.reply(200, b"count %d\n" % hits, [("ETag", '"c%d"' % hits)])
        elif path == "/slow":
            time.sleep(2)
            self.reply(200, b"slow\n")
        elif path == "/big":
            self.reply(200, b"b" * 65536)
        elif path == "/big-stream":
            self.send_response(200)
            self.end_headers()
            for _ in range(16):
                self.wfile.write(b"s" * 4096)
            self.close_connection = True
        elif path == "/redirect":
            self.reply(302, b"", [("Location", "/cal.ics")])
        elif path == "/redirect-loop":
            self.reply(302, b"", [("Location", "/redirect-loop")])
        elif path == "/redirect-file":
            self.reply(302, b"", [("Location", "file:///etc/hostname")])
        elif path == "/_seen":
            p = query.get("path", [""])[0]
            with lock:
                s = seen.get(p, (None, None, 0))
            body = "inm=%s\nims=%s\nhits=%d\n" % (s[0] or "", s[1] or "", s[2])
            self.reply(200, body.encode())
        elif path == "/echo":
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n > 0 else b""
            out = "method %s\npath %s\n" % (self.command, path)
            for k, v in self.headers.items():
                out += "header %s: %s\n" % (k.lower(), v)
            status = int(query.get("status", ["200"])[0])
            self.reply(status, out.encode() + b"body " + data, [("Content-Type", "text/plain")])
        elif path == "/echo-big":
            n = int(self.headers.get("Content-Length") or 0)
            if n > 0:
                self.rfile.read(n)
            self.reply(200, b"x" * 10000)
        else:
            self.reply(404, b"not found\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any


def main():
    portfile = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, portfile)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    parent = os.getppid()

    def guard():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=guard, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
