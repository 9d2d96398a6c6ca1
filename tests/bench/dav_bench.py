#!/usr/bin/python3
"""dav_bench.py -- CalDAV read speed of Transom against Radicale (Debian's), same events.

    tests/bench/dav_bench.py BUILD

Loads 10,000 events into both servers and times, on each, a full-calendar GET of the
collection, a one-month calendar-query REPORT (VEVENT time-range, getetag +
calendar-data), and the same GET right after a write, twice: a write that leaves the
schedule as it was (a comment on a draft change) and one that books a change; prints
the medians and the ratios Radicale / Transom (target: Transom at least 20 times
faster).

Transom serves them as users meet them: half are freezes of a policies/ calendar, half
are booked changes in PostgreSQL (one standard change made and scheduled through the
API, copied in SQL with a bookings row each, 27 minutes apart on web-frontend, under an
all-day window that replaces the shipped ones), all in the schedule collection.  Radicale gets the same number of one-off VEVENTs as one
calendar.  "After a write": before each timed GET, untimed, Transom gets a comment on a
draft change (an audited write: the feed cache must check whether the schedule moved)
or a new standard change created and submitted, so booked (the cache must rebuild),
and Radicale a new event (PUT).

A throwaway PostgreSQL cluster (deploy/pg.sh) and both servers live in a temporary
directory removed on exit.  Environment: DAV_BENCH_EVENTS (10000), DAV_BENCH_RUNS (5),
DAV_BENCH_KEEP (set: keep that directory).
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


def calendar_text(first, n):
    """`n` events, as one VCALENDAR of one-off freezes (Transom reads them as such)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Transom//dav bench//EN"]
    for i in range(n):
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


# Copies change :orig into CHG-900001 .. CHG-(900000 + :n), each booked on web-frontend at
# :first + (k - 1) * :step minutes for 15 minutes (as tests/bench/replan.sh does).
COPY_SQL = r"""
CREATE TEMP TABLE slots AS
SELECT g, 'CHG-' || (900000 + g) AS id,
       :'first'::timestamptz + (g - 1) * (:step * interval '1 minute') AS s
  FROM generate_series(1, :n) g;
INSERT INTO records (id, kind, workflow, workflow_version, state, version, data, services,
  type, requester, created_at, updated_at, state_entered_at)
SELECT sl.id, r.kind, r.workflow, r.workflow_version, r.state, r.version,
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(r.data, '{id}', to_jsonb(sl.id)),
    '{schedule,start}', to_jsonb(to_char(sl.s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
    '{schedule,end}', to_jsonb(to_char((sl.s + interval '15 minutes') AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
    '{schedule,window,start}', to_jsonb(to_char(date_trunc('day', sl.s AT TIME ZONE 'UTC'),
      'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
    '{schedule,window,end}', to_jsonb(to_char(date_trunc('day', sl.s AT TIME ZONE 'UTC')
      + interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
  r.services, r.type, r.requester, r.created_at, r.updated_at, r.state_entered_at
  FROM records r, slots sl WHERE r.id = :'orig';
INSERT INTO bookings (change_id, service, during, window_uid, window_start, window_end)
SELECT id, 'web-frontend', tstzrange(s, s + interval '15 minutes', '[)'),
  'bench-open@transom.example', date_trunc('day', s AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
  date_trunc('day', s AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day'
  FROM slots;
VACUUM ANALYZE records, bookings;
"""

# One all-day window for every service and no shipped freezes (as tests/bench/replan.sh
# has them), so that the copies are legal bookings the re-planner leaves where they are.
OPEN_WINDOW = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//dav bench//EN\r\n"
               "BEGIN:VEVENT\r\nUID:bench-open@transom.example\r\n"
               "DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n"
               "DURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n"
               "SUMMARY:Bench window (all day)\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
               "X-TRANSOM-SERVICES:*\r\nX-TRANSOM-CAPACITY:100000\r\n"
               "END:VEVENT\r\nEND:VCALENDAR\r\n")
NO_EVENTS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//dav bench//EN\r\nEND:VCALENDAR\r\n"


def api(port, token, method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(body).encode(),
              headers={"Authorization": "Bearer " + token,
                       "Content-Type": "application/json"})
    r = c.getresponse()
    reply = json.loads(r.read() or b"{}")
    c.close()
    return r.status, reply


def book_standard(port, token):
    """A standard change created and submitted through the API: booked; its reply."""
    st, ch = api(port, token, "POST", "/v1/changes", {
        "title": "Renew the edge certificate", "type": "standard",
        "services": ["web-frontend"], "duration": "PT15M",
        "template": "tls-certificate-renewal"})
    if st != 201:
        die("create: %d %s" % (st, ch))
    st, sub = api(port, token, "POST", "/v1/changes/%s/transitions" % ch["id"],
                  {"event": "submit"})
    if st != 200 or sub.get("state") != "scheduled":
        die("submit: %d %s" % (st, sub))
    return sub


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


def timed(server, method, path, body=None, headers=None, before=None):
    """Median seconds over RUNS (after one warm-up) and the last reply body; `before`, when
    given, is called untimed before each request."""
    times, data = [], b""
    for i in range(RUNS + 1):
        if before is not None:
            before(i)
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
        nbook = EVENTS // 2
        text = calendar_text(first, EVENTS - nbook)

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
        with open(os.path.join(policies, "windows.ics"), "w") as f:
            f.write(OPEN_WINDOW)
        with open(os.path.join(policies, "freezes.ics"), "w") as f:
            f.write(NO_EVENTS)
        env = dict(os.environ, TRANSOM_DATABASE_URL=url, TRANSOM_LOG_LEVEL="warn",
                   TRANSOM_POLICIES_DIR=policies)
        transomd = os.path.join(ROOT, BUILD, "transomd")
        if subprocess.run([transomd, "migrate"], env=env,
                          stdout=subprocess.DEVNULL).returncode != 0:
            die("cannot migrate")
        token = subprocess.run([transomd, "token", "create", "--user", "bench", "--role", "cab"],
                               env=env, capture_output=True, text=True).stdout.strip()
        requester = subprocess.run([transomd, "token", "create", "--user", "grossi", "--role",
                                    "requester"], env=env, capture_output=True,
                                   text=True).stdout.strip().splitlines()[-1]
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

        # One standard change scheduled through the API, copied in SQL nbook times.
        ch = sub = book_standard(tport, requester)
        # after the original's own booking, so that no copy overlaps it
        book_first = datetime.datetime.fromisoformat(
            sub["schedule"]["end"].replace("Z", "+00:00")) + datetime.timedelta(hours=1)
        psql = subprocess.run(
            ["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-v", "orig=" + ch["id"],
             "-v", "n=%d" % nbook, "-v", "step=%d" % STEP_MIN,
             "-v", "first=" + book_first.isoformat()],
            input=COPY_SQL, capture_output=True, text=True)
        if psql.returncode != 0:
            die("cannot copy the change: " + psql.stderr)
        # The copies bypassed the audit trail: a comment makes the feed cache look again.
        st, draft = api(tport, requester, "POST", "/v1/changes",
                        {"title": "bench draft", "type": "normal"})
        if st != 201:
            die("draft: %d %s" % (st, draft))

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
        rtext = calendar_text(first, EVENTS)  # as many events as Transom serves
        status, data = radicale.request("PUT", rcal, rtext.encode(),
                                        {"Content-Type": "text/calendar; charset=utf-8"})
        if status not in (201, 204):
            die("radicale upload: %d %s" % (status, data[:300]))
        print("Loaded %d events: Radicale upload %.1f s; Transom: %d freezes of policies/, "
              "%d booked changes in PostgreSQL." % (EVENTS, time.perf_counter() - t0,
                                                    EVENTS - nbook, nbook))

        def transom_comment(i):
            st, _ = api(tport, requester, "POST", "/v1/changes/%s/comments" % draft["id"],
                        {"text": "bench write %d" % i})
            if st not in (200, 201):
                die("comment: %d" % st)

        def transom_book(i):
            book_standard(tport, requester)

        def radicale_write(i):
            i += 1000 * len(rows)  # a new UID in each row
            ev = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//dav bench//EN\r\n"
                  "BEGIN:VEVENT\r\nUID:bench-write-%d@transom.bench\r\n"
                  "DTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\n"
                  "SUMMARY:Bench write\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                  % (i, fmt(now), fmt(now + datetime.timedelta(minutes=15))))
            st, data = radicale.request("PUT", rcal + "bench-write-%d.ics" % i, ev.encode(),
                                        {"Content-Type": "text/calendar; charset=utf-8"})
            if st not in (201, 204):
                die("radicale write: %d %s" % (st, data[:300]))

        # --- the measurements --------------------------------------------------------------
        month_start = now + datetime.timedelta(days=30)
        body = query_body(month_start, month_start + datetime.timedelta(days=30))
        qh = {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"}
        rows = []
        for name, method, tpath, rpath, b, h, count, tw, rw in (
                ("full-calendar GET", "GET", tcal, rcal, None, None, b"BEGIN:VEVENT",
                 None, None),
                ("one-month calendar-query", "REPORT", tcal, rcal, body, qh, b"BEGIN:VEVENT",
                 None, None),
                ("GET after a write elsewhere", "GET", tcal, rcal, None, None, b"BEGIN:VEVENT",
                 transom_comment, radicale_write),
                ("GET after a booking", "GET", tcal, rcal, None, None, b"BEGIN:VEVENT",
                 transom_book, radicale_write)):
            tt, tdata = timed(transom, method, tpath, b, h, tw)
            rt, rdata = timed(radicale, method, rpath, b, h, rw)
            # Transom's schedule also holds the shipped windows and freezes: at least as
            # many events as Radicale's copy, never fewer.
            tn, rn = tdata.count(count), rdata.count(count)
            if tn < rn or rn == 0:
                die("%s: Transom returned %d events (%d freezes, %d changes), Radicale %d"
                    % (name, tn, tdata.count(b"Bench freeze"),
                       tdata.count(b"Renew the edge certificate"), rn))
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
        if os.environ.get("DAV_BENCH_KEEP"):
            print("kept %s (PostgreSQL stopped: deploy/pg.sh start %s/pg %s/sock)"
                  % (tmp, tmp, tmp))
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
