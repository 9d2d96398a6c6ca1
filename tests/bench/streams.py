#!/usr/bin/python3
"""streams.py -- the client side of tests/bench/streams.sh (issue 19: memory and streams).

    streams.py tokens URL ADMIN_TOKEN USERS PIPELINES OUT
        makes USERS requester tokens and PIPELINES pipeline tokens (POST /v1/tokens) and
        writes them to OUT, one "role token" a line.
    streams.py streams URL TOKENS PID SSE POLLS DEPLOYMENT EVENTS HOLD
        opens SSE event streams (GET /v1/events) and POLLS long-polls
        (GET /v1/deployments/DEPLOYMENT?wait=30) at once, spread over the tokens so that
        no one user holds more than the per-user quota; waits until every stream has
        answered its status line; holds them HOLD seconds; creates EVENTS changes
        (POST /v1/changes) and waits until every SSE client has received all of them.
        Prints key=value lines: the status counts, the long-polls answered early,
        the events delivered, and transomd's VmRSS / VmHWM (kB) with every stream open.
    streams.py load URL TOKEN PID SECONDS CONNS IDS
        a read load: CONNS keep-alive connections for SECONDS, each cycling through
        GET /v1/changes/{id} (ids drawn from IDS, a file of one id a line),
        GET /v1/changes?limit=50, GET /v1/schedule and GET /v1/calendars/schedule.ics.
        Prints the requests, the errors, and the highest VmRSS seen while it ran.
Exit status 1 when a request could not be made at all.
"""
import asyncio
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


POLL_WAIT = 30  # seconds a long-poll waits: over by the time streams.sh measures "closed"


def status_kb(pid):
    """transomd's VmRSS and VmHWM in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out["VmRSS"], out["VmHWM"]


def hostport(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


def make_tokens(url, admin, users, pipelines, out):
    host, port = hostport(url)
    c = http.client.HTTPConnection(host, port, timeout=30)
    lines = []
    for role, n, prefix in (("requester", users, "sse"), ("pipeline", pipelines, "ci")):
        for i in range(n):
            body = json.dumps({"user": f"{prefix}{i:04d}", "roles": [role]})
            c.request("POST", "/v1/tokens", body, {"Authorization": f"Bearer {admin}",
                                                   "Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 201:
                sys.exit(f"POST /v1/tokens: {r.status} {data[:200]!r}")
            lines.append(f"{role} {json.loads(data)['token']}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


class Stream:
    """One streaming GET: its status, and the body bytes received (chunked decoded)."""

    def __init__(self, path, token):
        self.path, self.token = path, token
        self.status = None
        self.body = bytearray()
        self.raw = bytearray()
        self.headers_done = False
        self.chunked = False
        self.ended = False
        self.error = None


def dechunk(s):
    """Moves the complete chunks of s.raw into s.body."""
    while True:
        i = s.raw.find(b"\r\n")
        if i < 0:
            return
        size = int(s.raw[:i].split(b";")[0] or b"0", 16)
        if size == 0:
            s.ended = True
            return
        if len(s.raw) < i + 2 + size + 2:
            return
        s.body += s.raw[i + 2:i + 2 + size]
        del s.raw[:i + 2 + size + 2]


async def run_stream(host, port, s, opened):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        s.error = str(e)
        opened.release()
        return
    writer.write((f"GET {s.path} HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer {s.token}\r\nAccept: */*\r\n\r\n").encode())
    await writer.drain()
    s.writer = writer
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                s.ended = True
                break
            s.raw += data
            if not s.headers_done:
                i = s.raw.find(b"\r\n\r\n")
                if i < 0:
                    continue
                head = s.raw[:i].decode("latin-1").split("\r\n")
                s.status = int(head[0].split()[1])
                s.chunked = any(h.lower().startswith("transfer-encoding:") and
                                "chunked" in h.lower() for h in head[1:])
                del s.raw[:i + 4]
                s.headers_done = True
                opened.release()
            if s.chunked:
                dechunk(s)
            else:
                s.body += s.raw
                s.raw.clear()
    except (OSError, asyncio.CancelledError) as e:
        if not isinstance(e, asyncio.CancelledError):
            s.error = str(e)
    finally:
        if not s.headers_done:
            opened.release()


async def streams(url, tokens_file, pid, n_sse, n_polls, deployment, events, hold):
    host, port = hostport(url)
    toks = {"requester": [], "pipeline": []}
    with open(tokens_file) as f:
        for line in f:
            role, tok = line.split()
            toks[role].append(tok)
    ss = [Stream("/v1/events", toks["requester"][i % len(toks["requester"])])
          for i in range(n_sse)]
    ps = [Stream(f"/v1/deployments/{deployment}?wait={POLL_WAIT}",
                 toks["pipeline"][i % len(toks["pipeline"])]) for i in range(n_polls)]
    opened = asyncio.Semaphore(0)
    tasks = []
    t0 = time.monotonic()
    for s in ss + ps:  # at most 64 connecting at a time: the listen backlog
        tasks.append(asyncio.create_task(run_stream(host, port, s, opened)))
        if len(tasks) % 64 == 0:
            await asyncio.sleep(0.01)
    for _ in tasks:
        try:
            await asyncio.wait_for(opened.acquire(), timeout=60)
        except asyncio.TimeoutError:
            break
    print(f"open_seconds={time.monotonic() - t0:.2f}")
    await asyncio.sleep(hold)

    def counts(group):
        c = {}
        for s in group:
            k = str(s.status) if s.status is not None else ("error" if s.error else "none")
            c[k] = c.get(k, 0) + 1
        return " ".join(f"{k}:{v}" for k, v in sorted(c.items()))

    print(f"sse_status={counts(ss)}")
    print(f"poll_status={counts(ps)}")
    sse_open = sum(1 for s in ss if s.status == 200 and not s.ended)
    polls_waiting = sum(1 for s in ps if s.status == 200 and not s.body and not s.ended)
    print(f"sse_open={sse_open}")
    print(f"polls_waiting={polls_waiting}")
    print(f"polls_answered_early={sum(1 for s in ps if s.body or s.ended)}")

    # Events: changes made through the API; every open SSE client must see each id.
    ids = []
    c = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(events):
        body = json.dumps({"title": f"stream bench {i}", "type": "normal",
                           "services": ["payments"], "duration": "PT1H"})
        c.request("POST", "/v1/changes", body, {"Authorization": f"Bearer {toks['requester'][0]}",
                                                "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 201:
            sys.exit(f"POST /v1/changes: {r.status} {data[:200]!r}")
        ids.append(json.loads(data)["id"])
    needles = [f'"{i}"'.encode() for i in ids]
    live = [s for s in ss if s.status == 200 and not s.ended]
    t1 = time.monotonic()
    got = 0
    while time.monotonic() - t1 < 30:
        got = sum(1 for s in live if all(n in s.body for n in needles))
        if got == len(live):
            break
        await asyncio.sleep(0.2)
    print(f"events={events} delivered_to_all={got} of={len(live)}"
          f" seconds={time.monotonic() - t1:.2f}")
    await asyncio.sleep(3)  # past a timer sweep, which gives back what was freed
    rss, hwm = status_kb(pid)
    print(f"rss_streams_kb={rss} hwm_streams_kb={hwm}")
    print(f"polls_waiting_after_events={sum(1 for s in ps if s.status == 200 and not s.body)}")
    for s in ss + ps:
        w = getattr(s, "writer", None)
        if w is not None:
            w.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def load(url, token, pid, seconds, conns, ids_file):
    host, port = hostport(url)
    with open(ids_file) as f:
        ids = [l.strip() for l in f if l.strip()]
    paths = ["/v1/changes?limit=50", "/v1/schedule", "/v1/calendars/schedule.ics"]
    stop = time.monotonic() + seconds
    done = [0] * conns
    errors = [0] * conns
    peak = [0]

    def worker(k):
        rnd = random.Random(k)
        c = http.client.HTTPConnection(host, port, timeout=60)
        n = 0
        while time.monotonic() < stop:
            # mostly reads by id, as a dashboard would; the heavier reads in between
            p = paths[n % 3] if n % 8 == 7 else f"/v1/changes/{rnd.choice(ids)}"
            n += 1
            try:
                c.request("GET", p, headers={"Authorization": f"Bearer {token}"})
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    errors[k] += 1
                done[k] += 1
            except (OSError, http.client.HTTPException):
                errors[k] += 1
                c.close()
                c = http.client.HTTPConnection(host, port, timeout=60)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts:
        t.start()
    while any(t.is_alive() for t in ts):
        peak[0] = max(peak[0], status_kb(pid)[0])
        time.sleep(0.25)
    for t in ts:
        t.join()
    print(f"requests={sum(done)} errors={sum(errors)} rss_load_peak_kb={peak[0]}")


def main():
    a = sys.argv
    if len(a) == 7 and a[1] == "tokens":
        make_tokens(a[2], a[3], int(a[4]), int(a[5]), a[6])
    elif len(a) == 10 and a[1] == "streams":
        asyncio.run(streams(a[2], a[3], int(a[4]), int(a[5]), int(a[6]), a[7], int(a[8]),
                            float(a[9])))
    elif len(a) == 8 and a[1] == "load":
        load(a[2], a[3], int(a[4]), float(a[5]), int(a[6]), a[7])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
