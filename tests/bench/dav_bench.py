#!/usr/bin/python3
"""dav_bench.py -- CalDAV read speed of Transom against Radicale (Debian's), same events.

    tests/bench/dav_bench.py BUILD

Loads 10,000 one-off events into both servers (Transom: a policies/ copy with an extra
freeze calendar, served by the schedule collection; Radicale: the same VEVENTs uploaded
as one calendar), then times, on each, a full-calendar GET of the collection and a
one-month calendar-query REPORT (VEVENT time-range, getetag + calendar-data), and prints
the medians and the ratios Radicale / Transom (target: Transom at least 20 times faster).

A throwaway PostgreSQL cluster (deploy/pg.sh) and both servers live in a temporary
directory removed on exit.  Environment: DAV_BENCH_EVENTS (10000), DAV_BENCH_RUNS (5).
Exit status 0 whatever the speed; 1 when a server could not be set up or a reply was
wrong (the event counts of both replies are compared).
"""
import base64
import datetime
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
EVENTS = int(os.environ.get("DAV_BENCH_EVENTS", "10000"))
RUNS = int(os.environ.get("DAV_BENCH_RUNS", "5"))
TARGET = 20.0
STEP_MIN = 27  # minutes between event starts: 10,000 events over ~187 days


def die(msg):
    print("dav bench:", msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmt(dt):
    return dt.strftime("%Y%m%dT%H%M%SZ")


def calendar_text(first):
    """The events, as one VCALENDAR of one-off freezes (Transom reads them as such)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Transom//dav bench//EN"]
    for i in range(EVENTS):
        s = first + datetime.timedelta(minutes=STEP_MIN * i)
        lines += ["BEGIN:VEVENT", "UID:bench-%05d@transom.bench" % i,
                  "DTSTAMP:20260101T000000Z", "DTSTART:" + fmt(s),
                  "DTEND:" + fmt(s + datetime.timedelta(minutes=15)),
                  "SUMMARY:Bench freeze %d" % i, "CATEGORIES:FREEZE",
                  "X-TRANSOM-SERVICES:bench-service", "X-TRANSOM-HARDNESS:soft", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


class Server:
    def __init__(self, port, user, password):
        self.port = port
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = {"Authorization": self.auth}
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return 0, b""


def wait_port(port, proc, what):
    for _ in range(300):
        if proc.poll() is not None:
            die("%s exited (status %s)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    die("%s did not start" % what)


def query_body(start, end):
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            '<d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter>'
            '<c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
            '<c:time-range start="%s" end="%s"/></c:comp-filter></c:comp-filter></c:filter>'
            '</c:calendar-query>' % (fmt(start), fmt(end))).encode()


def timed(server, method, path, body=None, headers=None):
    """Median seconds over RUNS (after one warm-up) and the last reply body."""
    times, data = [], b""
    for i in range(RUNS + 1):
        t0 = time.perf_counter()
        status, data = server.request(method, path, body, headers)
        dt = time.perf_counter() - t0
        if status not in (200, 207):
            die("%s %s: status %d: %s" % (method, path, status, data[:300]))
        if i:
            times.append(dt)
    return statistics.median(times), data


def main():
    tmp = tempfile.mkdtemp(prefix="transom-davbench.")
    os.chmod(tmp, 0o755)
    pg = os.path.join(ROOT, "deploy", "pg.sh")
    procs = []
    try:
        now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
        first = now - datetime.timedelta(days=20)
        text = calendar_text(first)

        # --- Transom ---------------------------------------------------------------------
        pgdata, sock = os.path.join(tmp, "pg"), os.path.join(tmp, "sock")
        for args in (["init", pgdata, sock], ["start", pgdata, sock],
                     ["createdb", sock, "davbench"]):
            if subprocess.run([pg] + args, stdout=subprocess.DEVNULL).returncode != 0:
                die("cannot start PostgreSQL")
        url = subprocess.run([pg, "url", sock, "davbench"], capture_output=True,
                             text=True).stdout.strip()
        policies = os.path.join(tmp, "policies")
        shutil.copytree(os.path.join(ROOT, "policies"), policies)
        with open(os.path.join(policies, "bench-freezes.ics"), "w") as f:
            f.write(text)
        env = dict(os.environ, TRANSOM_DATABASE_URL=url, TRANSOM_LOG_LEVEL="warn",
                   TRANSOM_POLICIES_DIR=policies)
        transomd = os.path.join(ROOT, BUILD, "transomd")
        if subprocess.run([transomd, "migrate"], env=env,
                          stdout=subprocess.DEVNULL).returncode != 0:
            die("cannot migrate")
        token = subprocess.run([transomd, "token", "create", "--user", "bench", "--role", "cab"],
                               env=env, capture_output=True, text=True).stdout.strip()
        tport = free_port()
        env["TRANSOM_LISTEN"] = "127.0.0.1:%d" % tport
        p = subprocess.Popen([transomd, "serve"], env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "transomd.err"), "w"))
        procs.append(p)
        wait_port(tport, p, "transomd")
        c = http.client.HTTPConnection("127.0.0.1", tport)
        c.request("POST", "/v1/me/app-passwords", body=b'{"label": "bench"}',
                  headers={"Authorization": "Bearer " + token,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        reply = json.loads(r.read() or b"{}")
        if r.status != 201:
            die("app password: %d %s" % (r.status, reply))
        transom = Server(tport, "bench", reply["password"])
        tcal = "/dav/calendars/bench/schedule/"

        # --- Radicale --------------------------------------------------------------------
        rport = free_port()
        conf = os.path.join(tmp, "radicale.conf")
        with open(conf, "w") as f:
            f.write("[server]\nhosts = 127.0.0.1:%d\nmax_content_length = 200000000\n"
                    "timeout = 600\n[auth]\ntype = none\n[rights]\ntype = owner_only\n"
                    "[storage]\nfilesystem_folder = %s\n[logging]\nlevel = warning\n"
                    % (rport, os.path.join(tmp, "radicale")))
        p = subprocess.Popen([sys.executable, "-m", "radicale", "--config", conf],
                             stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "radicale.err"), "w"))
        procs.append(p)
        wait_port(rport, p, "radicale")
        radicale = Server(rport, "bench", "bench")
        rcal = "/bench/schedule/"
        t0 = time.perf_counter()
        status, data = radicale.request("PUT", rcal, text.encode(),
                                        {"Content-Type": "text/calendar; charset=utf-8"})
        if status not in (201, 204):
            die("radicale upload: %d %s" % (status, data[:300]))
        print("Loaded %d events: Radicale upload %.1f s; Transom reads them from policies/."
              % (EVENTS, time.perf_counter() - t0))

        # --- the measurements --------------------------------------------------------------
        month_start = now + datetime.timedelta(days=30)
        body = query_body(month_start, month_start + datetime.timedelta(days=30))
        qh = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        rows = []
        for name, method, tpath, rpath, b, h, count in (
                ("full-calendar GET", "GET", tcal, rcal, None, None, b"BEGIN:VEVENT"),
                ("one-month calendar-query", "REPORT", tcal, rcal, body, qh, b"BEGIN:VEVENT")):
            tt, tdata = timed(transom, method, tpath, b, h)
            rt, rdata = timed(radicale, method, rpath, b, h)
            # Transom's schedule also holds the shipped windows and freezes: at least as
            # many events as Radicale's copy, never fewer.
            tn, rn = tdata.count(count), rdata.count(count)
            if tn < rn or rn == 0:
                die("%s: Transom returned %d events, Radicale %d" % (name, tn, rn))
            rows.append((name, tt, rt, tn, rn))
        print("Median of %d runs after a warm-up, one keep-alive connection each:\n" % RUNS)
        print("  %-26s %12s %12s %8s %8s %8s" % ("", "Transom ms", "Radicale ms", "events T",
                                                 "events R", "ratio"))
        for name, tt, rt, tn, rn in rows:
            ratio = rt / tt if tt > 0 else float("inf")
            print("  %-26s %12.1f %12.1f %8d %8d %7.1fx  target %.0fx: %s"
                  % (name, tt * 1000, rt * 1000, tn, rn, ratio, TARGET,
                     "met" if ratio >= TARGET else "NOT met"))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([pg, "stop", os.path.join(tmp, "pg")], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
