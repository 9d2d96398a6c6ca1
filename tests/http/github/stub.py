#!/usr/bin/python3
"""A stand-in for GitHub's API: records every deployment protection callback.

    stub.py PORTFILE LOGFILE

Binds a free port on 127.0.0.1, writes it to PORTFILE (atomically), and appends one JSON
line per POST to LOGFILE: {"path", "authorization", "accept", "body"}.  Answers 204, as
GitHub does.  Exits when its parent dies (polled) or after 120 s.
"""
import http.server
import json
import os
import sys
import threading
import time

port_file, log_file = sys.argv[1], sys.argv[2]
parent = os.getppid()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "authorization": self.headers.get("Authorization"),
                                "accept": self.headers.get("Accept"),
                                "body": parsed}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, port_file)


def watchdog():
    start = time.time()
    while os.getppid() == parent and time.time() - start < 120:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=watchdog, daemon=True).start()
server.serve_forever()
