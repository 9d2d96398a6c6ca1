#!/usr/bin/python3
"""A calendar server for tests: serves the files of a directory with ETag and Last-Modified,
answers 304 to a matching If-None-Match, and fails on purpose.

    serve.py DIR PORTFILE LOGFILE

GET /NAME serves DIR/NAME.  When DIR/FAIL exists every request gets 500.  Each request is
logged to LOGFILE as one JSON line {"path", "if_none_match", "status"}.  Exits when its
parent dies (polled) or after 300 s.
"""
import hashlib
import http.server
import json
import os
import sys
import threading
import time

root, port_file, log_file = sys.argv[1], sys.argv[2], sys.argv[3]
parent = os.getppid()


class Handler(http.server.BaseHTTPRequestHandler):
    def log(self, status):
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "if_none_match": self.headers.get("If-None-Match"),
                                "status": status}) + "\n")

    def do_GET(self):
        if os.path.exists(os.path.join(root, "FAIL")):
            self.log(500)
            self.send_response(500)
            self.end_headers()
            return
        path = os.path.join(root, os.path.basename(self.path))
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError:
            self.log(404)
            self.send_response(404)
            self.end_headers()
            return
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.log(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.log(200)
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)


def watchdog():
    start = time.time()
    while os.getppid() == parent and time.time() - start < 300:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watchdog, daemon=True).start()
server.serve_forever()
