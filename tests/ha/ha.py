#!/usr/bin/python3
"""ha.py -- replicas behind HAProxy, PostgreSQL failover, backup and restore, under load.

    tests/ha/ha.py BUILD          (what `make ha` runs; a few minutes)

Starts a PostgreSQL primary and a synchronous streaming standby (deploy/pg.sh), three
transomd replicas given both hosts in one libpq URL with target_session_attrs=read-write,
HAProxy in front (deploy/haproxy/haproxy.cfg) and a webhook receiver; drives a mixed
write load through HAProxy (create, submit, vote, gate requests) while it
  1. kills replica 1 with SIGKILL and restarts it,
  2. sends SIGTERM to replica 2 (drain: /readyz 503 first, in-flight requests finish),
  3. stops the primary and promotes the standby (failover).
Then it checks that every acknowledged write is there, the audit chain verifies
(/v1/audit/verify and `transomd audit verify --checkpoints`), every webhook delivery
arrived, no service is double-booked, live events flow again after the failover (LISTEN
re-established), clients saw no 5xx but 503 with Retry-After; and finally backs the
database up with deploy/backup.sh, restores it into a fresh cluster with
deploy/restore.sh, starts transomd on it and verifies the chain against the signed
checkpoints.  Prints the figures and "N passed, N failed".
"""
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BIN = os.path.join(BUILD, "transomd")
PG = os.path.join(ROOT, "deploy", "pg.sh")
PASSED = 0
FAILED = 0


def check(ok, what):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("ok   " + what, flush=True)
    else:
        FAILED += 1
        print("FAIL " + what, flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sh(*args, env=None, capture=True):
    r = subprocess.run(list(args), env=env, cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                   r.stderr))
    return r.stdout.strip()


class Stats:
    """What the clients saw, shared by the load threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []          # (kind, id, what) acknowledged writes
        self.status = {}         # HTTP status -> count
        self.bad = []            # non-retryable server errors: (status, path, body)
        self.conn_errors = 0
        self.lb_broken = 0
        self.answered = []       # when a request got a final (non-retry) answer
        self.retries = 0
        self.first_fail = None   # unavailability: time of the first failed attempt ...
        self.unavail = 0.0       # ... summed until the next success
        self.pauses = []

    def saw(self, status):
        with self.lock:
            self.status[status] = self.status.get(status, 0) + 1


def request(base, method, path, token=None, body=None, headers=None, stats=None,
            retry_for=90.0):
    """One logical request, retried on connection errors and 503 (Retry-After obeyed,
    capped at 1 s) for up to retry_for seconds.  Returns (status, json or None, headers).
    A 5xx other than 503, or a 503 without Retry-After, is recorded as bad."""
    host, port = base
    deadline = time.time() + retry_for
    hdrs = {"Content-Type": "application/json"}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    data = json.dumps(body).encode() if body is not None else None
    failing_since = None
    while True:
        status, payload, rh = None, None, {}
        try:
            c = http.client.HTTPConnection(host, port, timeout=30)
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            status, rh = r.status, {k.lower(): v for k, v in r.getheaders()}
            c.close()
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = raw.decode(errors="replace")
        except (OSError, http.client.HTTPException):
            status = None
        lb_broken = status == 502 and "server returned an invalid or incomplete" in str(
            payload)
        if lb_broken:
            # HAProxy's own answer when the replica's connection broke mid-request (a
            # SIGKILL): the proxied form of a connection error; retried like one.
            if stats is not None:
                with stats.lock:
                    stats.lb_broken += 1
            status = None
        if stats is not None:
            if status is None:
                with stats.lock:
                    stats.conn_errors += 1
            else:
                stats.saw(status)
                if status >= 500 and (status != 503 or "retry-after" not in rh):
                    with stats.lock:
                        stats.bad.append((status, method + " " + path, payload))
        retryable = status is None or status == 503
        if not retryable:
            if stats is not None:
                with stats.lock:
                    stats.answered.append(time.time())
            if failing_since is not None and stats is not None:
                with stats.lock:
                    stats.pauses.append((time.time() - failing_since, method + " " + path,
                                         time.strftime("%H:%M:%S",
                                                       time.localtime(failing_since))))
            return status, payload, rh
        if failing_since is None:
            failing_since = time.time()
        if time.time() > deadline:
            return status, payload, rh
        if stats is not None:
            with stats.lock:
                stats.retries += 1
        wait = 0.2
        if status == 503:
            try:
                wait = min(1.0, max(0.1, float(rh.get("retry-after", "1"))))
            except ValueError:
                wait = 1.0
        time.sleep(wait)


class Receiver(http.server.ThreadingHTTPServer):
    """Webhook receiver: remembers every X-Transom-Delivery it got."""
    daemon_threads = True

    def __init__(self):
        self.deliveries = set()
        self.count = 0
        self.rlock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                with outer.rlock:
                    outer.count += 1
                    outer.deliveries.add(self.headers.get("X-Transom-Delivery"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        super().__init__(("127.0.0.1", 0), H)


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}
        self.logs = {}

    def pg(self, *args):
        return sh(PG, *args)


def main():
    if shutil.which("haproxy") is None:
        print("ha: haproxy is missing (deploy/install-deps.sh test)")
        print("0 passed, 1 failed")
        return 1
    tmp = tempfile.mkdtemp(prefix="transom-ha.")
    os.chmod(tmp, 0o755)
    procs = {}
    clusters = []
    try:
        return run(tmp, procs, clusters)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        for data in clusters:
            subprocess.run([PG, "stop", data], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if os.environ.get("TRANSOM_HA_KEEP"):
            print("ha: kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs, clusters):
    t0 = time.time()
    p1, s1 = tmp + "/pg1", tmp + "/s1"      # the primary
    p2, s2 = tmp + "/pg2", tmp + "/s2"      # its synchronous standby
    sh(PG, "init", p1, s1)
    clusters.append(p1)
    sh(PG, "start", "--no-fsync", p1, s1)
    sh(PG, "role", s1, "transom_app")
    sh(PG, "createdb", s1, "transom")
    owner_url = sh(PG, "url", s1, "transom")
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("TRANSOM_"):
            del env[k]
    env["TRANSOM_DATABASE_URL"] = owner_url
    sh(BIN, "db", "grant", "transom_app", env=env)
    sh(PG, "standby", s1, "standby1", p2, s2)
    clusters.append(p2)
    sh(PG, "start", "--no-fsync", p2, s2)
    sh(PG, "sync", s1, "standby1")
    # Both hosts in one URL: libpq tries them in turn and keeps the writable one.
    both = ("host='%s,%s' dbname='transom' user=transom_app "
            "target_session_attrs=read-write connect_timeout=2" % (s1, s2))
    both_owner = ("host='%s,%s' dbname='transom' user=transom "
                  "target_session_attrs=read-write connect_timeout=2" % (s1, s2))
    owner_env = dict(env, TRANSOM_DATABASE_URL=both_owner)
    admin = sh(BIN, "token", "create", "--user", "admin", "--role", "admin",
               env=owner_env).splitlines()[-1]
    req_tok = sh(BIN, "token", "create", "--user", "grossi", "--role", "requester",
                 env=owner_env).splitlines()[-1]
    cab_tok = sh(BIN, "token", "create", "--user", "cnguyen", "--role", "cab",
                 env=owner_env).splitlines()[-1]
    pipe_tok = sh(BIN, "token", "create", "--user", "ci", "--role", "pipeline",
                  env=owner_env).splitlines()[-1]

    # Definitions: the shipped policies with the demo calendars (a window open now).
    pol = tmp + "/policies"
    shutil.copytree(ROOT + "/policies", pol)
    for f in os.listdir(ROOT + "/policies-demo"):
        if f.endswith(".ics"):
            shutil.copy(ROOT + "/policies-demo/" + f, pol)
    key = tmp + "/audit.key"
    sh(BIN, "audit", "keygen", key)
    # Timers: the shipped workflows, with abandoned normal drafts expiring after 3 s (not
    # 30 days), so timers fire on every replica while they are killed and restarted.
    wfd = tmp + "/workflows"
    shutil.copytree(ROOT + "/workflows", wfd)
    wf = open(wfd + "/change-normal.json").read()
    if '"after": "30d", "event": "expire"' not in wf:
        raise RuntimeError("workflows/change-normal.json: the draft expiry timer moved")
    open(wfd + "/change-normal.json", "w").write(
        wf.replace('"after": "30d", "event": "expire"', '"after": "3s", "event": "expire"'))

    recv = Receiver()
    threading.Thread(target=recv.serve_forever, daemon=True).start()

    ports = [free_port() for _ in range(3)]
    ha_port = free_port()
    renv = dict(env, TRANSOM_DATABASE_URL=both, TRANSOM_MIGRATE_DATABASE_URL=both_owner,
                TRANSOM_POLICIES_DIR=pol, TRANSOM_WORKFLOWS_DIR=wfd,
                TRANSOM_AUDIT_KEY_FILE=key, TRANSOM_AUDIT_CHECKPOINT_INTERVAL="1",
                TRANSOM_SECRET_KEY_FILE=tmp + "/secret.key",
                TRANSOM_WEBHOOK_ALLOW_NETS="127.0.0.0/8",
                TRANSOM_WEBHOOK_BACKOFF_MS="200", TRANSOM_WEBHOOK_MAX_ATTEMPTS="100",
                TRANSOM_TIMER_INTERVAL="200", TRANSOM_DRAIN_SECONDS="4",
                TRANSOM_SHUTDOWN_GRACE="10", TRANSOM_MAX_CONNECTIONS_PER_IP="0",
                TRANSOM_CACHE_DIR=tmp + "/cache", TRANSOM_LOG_LEVEL="info")

    def start_replica(i):
        e = dict(renv, TRANSOM_LISTEN="127.0.0.1:%d" % ports[i],
                 TRANSOM_AUDIT_CHECKPOINT_FILE="%s/checkpoints-%d.jsonl" % (tmp, i + 1))
        log = open("%s/transomd-%d.log" % (tmp, i + 1), "a")
        procs["t%d" % (i + 1)] = subprocess.Popen([BIN, "serve"], env=e, cwd=tmp,
                                                  stdout=log, stderr=log)

    def ready(port, timeout=60):
        until = time.time() + timeout
        while time.time() < until:
            st, _, _ = request(("127.0.0.1", port), "GET", "/readyz", retry_for=0)
            if st == 200:
                return True
            time.sleep(0.2)
        return False

    start_replica(0)  # alone first: it makes the secret key file the others share
    def tails():
        for f in sorted(os.listdir(tmp)):
            if f.endswith(".log"):
                print("---- " + f)
                print(open(os.path.join(tmp, f), errors="replace").read()[-1500:])

    if not check(ready(ports[0]), "replica 1 ready"):
        print(open(tmp + "/transomd-1.log").read()[-3000:])
        return 1
    start_replica(1)
    start_replica(2)
    if not check(ready(ports[1]) and ready(ports[2]), "replicas 2 and 3 ready"):
        tails()
        return 1

    henv = dict(os.environ, TRANSOM_HA_BIND="127.0.0.1:%d" % ha_port,
                TRANSOM_REPLICA_1="127.0.0.1:%d" % ports[0],
                TRANSOM_REPLICA_2="127.0.0.1:%d" % ports[1],
                TRANSOM_REPLICA_3="127.0.0.1:%d" % ports[2])
    hlog = open(tmp + "/haproxy.log", "w")
    procs["haproxy"] = subprocess.Popen(
        ["haproxy", "-db", "-f", ROOT + "/deploy/haproxy/haproxy.cfg"], env=henv,
        cwd=tmp, stdout=hlog, stderr=hlog)
    lb = ("127.0.0.1", ha_port)
    check(ready(ha_port), "HAProxy answers /readyz")
    time.sleep(1.5)  # all three servers up in HAProxy's checks

    setup = Stats()
    st, hook, _ = request(lb, "POST", "/v1/webhooks", admin,
                          {"url": "http://127.0.0.1:%d/hook" % recv.server_address[1],
                           "events": ["*"]}, stats=setup)
    check(st == 201, "webhook subscribed (%s)" % st)
    hook_id = hook.get("id") if isinstance(hook, dict) else None

    # --- the load --------------------------------------------------------------------
    stats = Stats()
    stop = threading.Event()

    def change_flow(n):
        key = "ha-%s" % uuid.uuid4()
        st, rec, _ = request(lb, "POST", "/v1/changes", req_tok,
                             {"title": "HA load %d" % n, "type": "normal",
                              "services": ["payments"], "duration": "PT5M",
                              "description": "load", "implementation_plan": "rolling",
                              "rollback_plan": "back",
                              "test_evidence": "staging"},
                             headers={"Idempotency-Key": key}, stats=stats)
        if st != 201:
            return
        cid = rec["id"]
        with stats.lock:
            stats.acked.append(("create", cid, None))
        st, rec, _ = request(lb, "POST", "/v1/changes/%s/transitions" % cid, req_tok,
                             {"event": "submit"}, stats=stats)
        if st != 200:
            return
        with stats.lock:
            stats.acked.append(("submit", cid, rec.get("state")))
        if rec.get("state") != "authorize":
            return
        st, rec, _ = request(lb, "POST", "/v1/changes/%s/approvals" % cid, cab_tok,
                             {"decision": "approve"}, stats=stats)
        if st in (200, 201):
            with stats.lock:
                stats.acked.append(("vote", cid, None))

    def gate_flow(n):
        st, rec, _ = request(lb, "POST", "/v1/deployments", pipe_tok,
                             {"service": "reporting", "environment": "production",
                              "duration": "PT5M"},
                             headers={"Idempotency-Key": "ha-gate-%s" % uuid.uuid4()},
                             stats=stats)
        if st in (200, 201) and isinstance(rec, dict) and rec.get("id"):
            with stats.lock:
                stats.acked.append(("deployment", rec["id"], rec.get("decision")))

    def draft_flow(n):
        st, rec, _ = request(lb, "POST", "/v1/changes", req_tok,
                             {"title": "HA abandoned %d" % n, "type": "normal",
                              "services": ["search"], "duration": "PT5M"},
                             headers={"Idempotency-Key": "ha-%s" % uuid.uuid4()},
                             stats=stats)
        if st == 201:
            with stats.lock:
                stats.acked.append(("draft", rec["id"], None))

    def worker(w):
        n = 0
        while not stop.is_set():
            n += 1
            if n % 4 == 0:
                gate_flow(n)
            elif n % 4 == 2:
                draft_flow(w * 100000 + n)
            else:
                change_flow(w * 100000 + n)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    load_start = time.time()
    for t in threads:
        t.start()

    time.sleep(4)
    # 1. SIGKILL replica 1, restart it.
    procs["t1"].send_signal(signal.SIGKILL)
    procs["t1"].wait()
    time.sleep(2)
    start_replica(0)
    check(ready(ports[0]), "replica 1 back after SIGKILL")
    time.sleep(3)

    # 2. SIGTERM replica 2: /readyz must turn 503 while the process still serves.
    t2 = procs["t2"]
    t2.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    st, body, rh = request(("127.0.0.1", ports[1]), "GET", "/readyz", retry_for=0)
    check(st == 503 and "retry-after" in rh and isinstance(body, dict) and
          body.get("draining") is True,
          "draining replica: /readyz 503 with Retry-After, draining (%s)" % st)
    st2, _, _ = request(("127.0.0.1", ports[1]), "GET", "/healthz", retry_for=0)
    check(st2 == 200, "draining replica still serves requests (%s)" % st2)
    try:
        rc = t2.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "drained replica exited 0 (%s)" % rc)
    start_replica(1)
    check(ready(ports[1]), "replica 2 back after SIGTERM")
    time.sleep(3)

    # 3. Failover: the primary goes away, the standby is promoted.
    fail_at = time.time()
    sh(PG, "stop", p1)
    sh(PG, "promote", p2)
    promoted = time.time() - fail_at
    # Replicas find the new primary by themselves (target_session_attrs=read-write).
    back = all(ready(p, timeout=60) for p in ports)
    check(back, "all replicas ready on the promoted standby (%.1f s)" % (time.time() - fail_at))
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join()
    load_secs = time.time() - load_start

    # --- checks ------------------------------------------------------------------------
    # LISTEN re-established: a stream on replica 3 sees a change made through replica 1.
    lines = []
    marker = "HA live %s" % uuid.uuid4()

    def listen():
        try:
            c = http.client.HTTPConnection("127.0.0.1", ports[2], timeout=20)
            c.request("GET", "/v1/events?kind=change",
                      headers={"Authorization": "Bearer " + admin})
            r = c.getresponse()
            until = time.time() + 15
            while time.time() < until:
                line = r.fp.readline()
                if not line:
                    break
                lines.append(line.decode(errors="replace"))
        except (OSError, http.client.HTTPException):
            pass

    lt = threading.Thread(target=listen, daemon=True)
    lt.start()
    time.sleep(1)
    st, rec, _ = request(("127.0.0.1", ports[0]), "POST", "/v1/changes", req_tok,
                         {"title": marker, "type": "normal", "services": ["search"],
                          "duration": "PT5M"})
    new_id = rec.get("id") if st == 201 and isinstance(rec, dict) else None
    got = threading.Event()
    until = time.time() + 10
    while new_id and time.time() < until:
        if any(new_id in ln for ln in list(lines)):
            got.set()
            break
        time.sleep(0.2)
    check(got.is_set(), "live event after failover reached a stream on another replica")

    missing = []
    for kind, rid, extra in stats.acked:
        if kind == "deployment":
            st, rec, _ = request(lb, "GET", "/v1/deployments/%s" % rid, pipe_tok)
            if st != 200:
                missing.append((kind, rid, st))
            continue
        st, rec, _ = request(lb, "GET", "/v1/changes/%s" % rid, req_tok)
        if st != 200:
            missing.append((kind, rid, st))
        elif kind == "submit" and rec.get("state") == "draft":
            missing.append((kind, rid, "still draft"))
        elif kind == "vote" and not any(
                v.get("user") == "cnguyen" and v.get("decision") == "approve"
                for v in (rec.get("approvals") or {}).get("votes") or []):
            missing.append((kind, rid, "vote lost: " + json.dumps(rec.get("approvals"))[:200]))
    acked = len(stats.acked)
    check(acked > 20, "load made %d acknowledged writes" % acked)
    check(not missing, "every acknowledged write found (%d of %d)%s" %
          (acked - len(missing), acked, "" if not missing else ": %s" % missing[:5]))

    st, ver, _ = request(lb, "GET", "/v1/audit/verify", admin)
    check(st == 200 and isinstance(ver, dict) and ver.get("ok") is True,
          "/v1/audit/verify ok (%s %s)" % (st, json.dumps(ver)[:200]))

    new_owner = sh(PG, "url", s2, "transom")
    psql = [_pgbin() + "psql"]

    def q(sql):
        return sh(psql[0], "-X", "-h", s2, "-U", "transom", "-d", "transom", "-Atc", sql)

    # Webhooks: every event up to now has a delivery of our subscription, delivered, and
    # it reached the receiver.  Timers keep making events meanwhile (abandoned drafts):
    # the check covers the events up to `cut`, fanned out and delivered within a minute.
    hook = int(hook_id or 0)
    cut = int(q("SELECT coalesce(max(id), 0) FROM outbox") or 0)
    until = time.time() + 60
    while time.time() < until:
        unfanned = int(q("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND id <= %d"
                         % cut))
        pending = int(q("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
                        " AND webhook_id = %d AND outbox_id <= %d" % (hook, cut)))
        if unfanned == 0 and pending == 0:
            break
        time.sleep(0.5)
    rows = q("SELECT id FROM webhook_deliveries WHERE webhook_id = %d AND outbox_id <= %d"
             % (hook, cut))
    ids = set(rows.split()) if rows else set()
    outbox = int(q("SELECT count(*) FROM outbox o WHERE o.id > (SELECT min(outbox_id) FROM "
                   "webhook_deliveries WHERE webhook_id = %d) AND o.id <= %d AND NOT EXISTS "
                   "(SELECT 1 FROM webhook_deliveries d WHERE d.outbox_id = o.id AND "
                   "d.webhook_id = %d)" % (hook, cut, hook)) or 0)
    with recv.rlock:
        lost = ids - recv.deliveries
        rcount = recv.count
    check(ids and not lost and pending == 0 and outbox == 0,
          "webhooks: %d deliveries, %d received (%d POSTs), %d lost, %d pending, "
          "%d events without a delivery" % (len(ids), len(ids) - len(lost), rcount,
                                            len(lost), pending, outbox))

    overlaps = int(q("SELECT count(*) FROM bookings a JOIN bookings b ON a.service = "
                     "b.service AND a.change_id < b.change_id AND a.during && b.during"))
    booked = int(q("SELECT count(*) FROM bookings"))
    check(booked > 0 and overlaps == 0,
          "no double booking (%d bookings, %d overlaps)" % (booked, overlaps))

    # Timers fired once: every abandoned draft expired (the 3 s timer), each by exactly
    # one system transition, and no window opening was announced twice.
    drafts = [rid for kind, rid, _ in stats.acked if kind == "draft"]
    time.sleep(4)
    unexpired = [rid for rid in drafts
                 if request(lb, "GET", "/v1/changes/%s" % rid, req_tok)[1].get("state")
                 == "draft"]
    check(drafts and not unexpired, "timers: %d abandoned drafts, %d still draft"
          % (len(drafts), len(unexpired)))
    dup_timers = int(q(
        "SELECT count(*) FROM (SELECT record_id, action, content::jsonb->>'from', "
        "content::jsonb->>'to' FROM audit_events WHERE actor = 'system' AND record_id IS "
        "NOT NULL GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d"))
    dup_open = int(q("SELECT count(*) FROM (SELECT record_id FROM outbox WHERE topic = "
                     "'change.window_opened' GROUP BY 1 HAVING count(*) > 1) d"))
    fired = int(q("SELECT count(*) FROM audit_events WHERE actor = 'system'"))
    check(dup_timers == 0 and dup_open == 0,
          "timers fired once (%d system events, %d repeated, %d windows announced twice)"
          % (fired, dup_timers, dup_open))

    check(not stats.bad, "no 5xx but 503 with Retry-After (%d bad: %s)" %
          (len(stats.bad), stats.bad[:3]))

    # Checkpoints written by every replica verify against the chain.
    for i in range(3):
        f = "%s/checkpoints-%d.jsonl" % (tmp, i + 1)
        if not os.path.exists(f) or os.path.getsize(f) == 0:
            continue
        r = subprocess.run([BIN, "audit", "verify", "--checkpoints", f, "--database-url",
                            new_owner, "--key", sh(BIN, "audit", "key", "--file", key)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env)
        check(r.returncode == 0, "transomd audit verify --checkpoints (replica %d): %s" %
              (i + 1, r.stdout.strip().splitlines()[-1:] if r.stdout else r.returncode))

    unavail = max(stats.pauses) if stats.pauses else (0.0, "", "")
    answered = sorted(stats.answered)
    gap = max((b - a for a, b in zip(answered, answered[1:])), default=0.0)
    print("ha: figures: %d acknowledged writes, %d found; %d requests %s; %d retries, "
          "%d connection errors (%d of them HAProxy 502 for a killed replica); longest client "
          "wait %.1f s (%s at %s); longest time no client got an answer (unavailability) "
          "%.1f s; promote took %.1f s; "
          "5xx other than 503: %d; load ran %.0f s" %
          (acked, acked - len(missing), sum(stats.status.values()),
           json.dumps({str(k): v for k, v in sorted(stats.status.items())}),
           stats.retries, stats.conn_errors, stats.lb_broken, unavail[0], unavail[1],
           unavail[2], gap, promoted, len(stats.bad), load_secs),
          flush=True)

    # --- backup and restore drill ------------------------------------------------------
    for name in ("t1", "t2", "t3"):
        procs[name].send_signal(signal.SIGTERM)
    for name in ("t1", "t2", "t3"):
        procs[name].wait()
    dump = tmp + "/backup"
    benv = dict(env, TRANSOM_DATABASE_URL=new_owner,
                TRANSOM_AUDIT_CHECKPOINT_FILE=tmp + "/checkpoints-3.jsonl")
    out = sh(ROOT + "/deploy/backup.sh", dump, env=benv)
    check(os.path.exists(dump + "/transom.dump") and
          os.path.exists(dump + "/audit-checkpoints.jsonl"), "deploy/backup.sh wrote " + out)
    p3, s3 = tmp + "/pg3", tmp + "/s3"
    clusters.append(p3)
    renv3 = dict(env, TRANSOM_RESTORE_PGDATA=p3, TRANSOM_RESTORE_SOCKDIR=s3,
                 TRANSOM_BIN=BIN, TRANSOM_AUDIT_KEY_FILE=key)
    r = subprocess.run([ROOT + "/deploy/restore.sh", dump], env=renv3, cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(r.returncode == 0 and "ok" in r.stdout,
          "deploy/restore.sh restored and verified: %s" % r.stdout.strip()[-300:])
    restored_owner = sh(PG, "url", s3, "transom")
    for i in range(3):
        f = "%s/checkpoints-%d.jsonl" % (tmp, i + 1)
        if not os.path.exists(f) or os.path.getsize(f) == 0:
            continue
        r = subprocess.run([BIN, "audit", "verify", "--checkpoints", f, "--database-url",
                            restored_owner, "--key", sh(BIN, "audit", "key", "--file", key)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=env)
        check(r.returncode == 0, "restored database verifies against replica %d's signed "
              "checkpoints: %s" % (i + 1, r.stdout.strip().splitlines()[-1:]))
    # Transom serves on the restored copy, with every acknowledged change.
    e = dict(renv, TRANSOM_DATABASE_URL=sh(PG, "url", s3, "transom", "transom_app"),
             TRANSOM_MIGRATE_DATABASE_URL=restored_owner,
             TRANSOM_LISTEN="127.0.0.1:%d" % ports[0],
             TRANSOM_AUDIT_CHECKPOINT_FILE=tmp + "/checkpoints-restored.jsonl")
    log = open(tmp + "/transomd-restored.log", "w")
    procs["restored"] = subprocess.Popen([BIN, "serve"], env=e, cwd=tmp, stdout=log,
                                         stderr=log)
    if not check(ready(ports[0]), "transomd serves the restored database"):
        print(open(tmp + "/transomd-restored.log").read()[-2000:])
        print("%d passed, %d failed" % (PASSED, FAILED))
        return 1
    base = ("127.0.0.1", ports[0])
    lost_after = [rid for kind, rid, _ in stats.acked if kind == "create" and
                  request(base, "GET", "/v1/changes/%s" % rid, req_tok)[0] != 200]
    check(not lost_after, "every acknowledged change is in the restored database (%d lost)"
          % len(lost_after))
    st, ver, _ = request(base, "GET", "/v1/audit/verify", admin)
    check(st == 200 and isinstance(ver, dict) and ver.get("ok") is True,
          "/v1/audit/verify ok on the restored database")
    print("ha: whole run %.0f s" % (time.time() - t0))
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 0 if FAILED == 0 else 1


def _pgbin():
    for v in sorted(os.listdir("/usr/lib/postgresql"), key=lambda x: -int(x)):
        d = "/usr/lib/postgresql/%s/bin/" % v
        if os.path.exists(d + "initdb"):
            return d
    raise RuntimeError("no PostgreSQL")


def _has_cols(q):
    return q("SELECT count(*) FROM information_schema.columns WHERE table_name = "
             "'audit_events' AND column_name IN ('actor', 'payload', 'record_id')") == "3"


if __name__ == "__main__":
    sys.exit(main())
