#!/bin/sh
# run.sh -- `make bench`: transitions per second through HTTP, and pgbench running the same
# SQL against the same database in the same run; prints both and their ratio (target 0.8).
#
#   tests/bench/run.sh [BUILD]
#
# Environment (all optional):
#   BENCH_CONCURRENCY  N: transomd threads (so N database connections) and pgbench clients;
#                      default one per core (transomd's own default), at least 2, at most 8
#   BENCH_CONNECTIONS  HTTP keep-alive connections; default 4N.  More than N, because
#                      libmicrohttpd pins a connection to the thread that accepted it and
#                      often puts simultaneous connections on one thread (printed below)
#   BENCH_RECORDS      changes created and cycled through (default 1000: a table big
#                      enough that PostgreSQL plans the primary-key lookups it would in use)
#   BENCH_WARMUP       seconds before measuring (default 5), BENCH_SECONDS measured (10)
#
# A throwaway PostgreSQL cluster lives in a temporary directory, removed on exit.  The
# service serves tests/bench/workflows: one change workflow toggling between states a and
# b, one outbox event per step.  One transition is fired with log_statement = all and the
# statements PostgreSQL saw are printed; tests/bench/transition.sql is that list for
# pgbench.  Exit status 0 whatever the speed; 1 when a request failed or a run could not
# be made.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

# The scheduler core first: 10,000 and 20,000 changes over 200 services, and their ratio.
echo "== scheduler: plan 10k and 20k changes (tests/bench/bench_sched.c)"
"$ROOT/$BUILD/tests/bench/bench_sched" || exit 1
echo "== CalDAV: 10,000 events, Transom against Radicale (tests/bench/dav_bench.py)"
/usr/bin/python3 "$ROOT/tests/bench/dav_bench.py" "$BUILD" || exit 1
echo "== transitions through HTTP against pgbench"
PG=$ROOT/deploy/pg.sh
BIN=$ROOT/$BUILD/transomd
CLIENT=$ROOT/$BUILD/tests/bench/bench_transitions
CORES=$(nproc)
N=${BENCH_CONCURRENCY:-$((CORES < 2 ? 2 : CORES > 8 ? 8 : CORES))}
CONNECTIONS=${BENCH_CONNECTIONS:-$((4 * N))}
RECORDS=${BENCH_RECORDS:-1000}
WARMUP=${BENCH_WARMUP:-5}
SECONDS_=${BENCH_SECONDS:-10}
TARGET=0.8

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r | head -n 1)
for f in "$BIN" "$CLIENT" "$PGBIN/pgbench" "$PGBIN/psql"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make bench builds it)" >&2; exit 1; }
done
[ "$RECORDS" -ge "$CONNECTIONS" ] && [ "$RECORDS" -ge "$N" ] ||
	{ echo "bench: BENCH_RECORDS must be at least the connections" >&2; exit 1; }

TMP=$(mktemp -d /tmp/transom-bench.XXXXXX)
chmod 755 "$TMP"
SERVER=""
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$PG" stop "$TMP/pg" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	exit 1
}

psql_q() {
	"$PGBIN/psql" -h "$TMP/sock" -U transom -d bench -qAtX -v ON_ERROR_STOP=1 "$@"
}

# Tidies the tables both runs write to, so that neither inherits the other's dead rows.
settle() {
	psql_q -c "VACUUM ANALYZE records, outbox, audit_events, audit_head" -c CHECKPOINT ||
		die "cannot vacuum"
}

# --- the database, the service, its data ---------------------------------------------------
{ "$PG" init "$TMP/pg" "$TMP/sock" && "$PG" start --no-fsync "$TMP/pg" "$TMP/sock" &&
	"$PG" createdb "$TMP/sock" bench >/dev/null; } || die "cannot start PostgreSQL"
PM=$(head -n 1 "$TMP/pg/postmaster.pid")
# settle() vacuums before each run; autovacuum would land in one run or the other at random.
psql_q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null ||
	die "cannot configure PostgreSQL"
TRANSOM_DATABASE_URL=$("$PG" url "$TMP/sock" bench)
TRANSOM_LOG_LEVEL=warn
export TRANSOM_DATABASE_URL TRANSOM_LOG_LEVEL
"$BIN" migrate >/dev/null || die "cannot migrate"
TOKEN=$("$BIN" token create --user bench --role requester) || die "cannot create a token"

TRANSOM_WORKFLOWS_DIR=$ROOT/tests/bench/workflows TRANSOM_THREADS=$N \
	TRANSOM_LISTEN=127.0.0.1:0 "$BIN" serve >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER=$!
URL=""
for _ in $(seq 1 100); do
	URL=$(sed -n 's/^transomd: listening on \(http:[^ ]*\).*/\1/p' "$TMP/serve.out")
	[ -n "$URL" ] && break
	kill -0 "$SERVER" 2>/dev/null || break
	sleep 0.1
done
[ -n "$URL" ] || { cat "$TMP/serve.err" >&2; die "transomd did not start"; }
"$CLIENT" "$URL" "$TOKEN" create "$RECORDS" || die "cannot create the changes"

# --- one transition, as PostgreSQL saw it --------------------------------------------------
# Only the backend that locked the record is kept: transomd's timer and LISTEN connections
# run their own statements meanwhile.  CHG-1 is flipped and flopped back.
log=$TMP/pg/server.log
psql_q -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
from=$(($(wc -l <"$log") + 1))
for ev in flip flop; do
	"$CLIENT" "$URL" "$TOKEN" fire CHG-1 $ev >"$TMP/fire.out" ||
		{ cat "$TMP/fire.out" >&2; die "cannot fire $ev"; }
done
psql_q -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null
tail -n "+$from" "$log" >"$TMP/capture.log"
pid=$(sed -n 's/.*\[\([0-9]*\)\] LOG:  execute record_get_lock.*/\1/p' "$TMP/capture.log" |
	head -n 1)
echo "One transition (POST /v1/changes/CHG-1/transitions, flip) as PostgreSQL logged it:"
[ -n "$pid" ] || echo "  (not found in the server log)"
grep -F "[$pid] " "$TMP/capture.log" | grep -v 'SET client_min_messages' |
	sed -n '1,/statement: COMMIT/p' |
	sed -e 's/^.*\] LOG:  /  /' -e 's/^.*\] DETAIL:  parameters: /      with /' |
	sed -E '/^      with /s/^(.{96}).+/\1 .../'
echo

# --- HTTP ----------------------------------------------------------------------------------
settle
BENCH_SERVER_PID=$SERVER BENCH_PG_PID=$PM "$CLIENT" "$URL" "$TOKEN" run "$CONNECTIONS" \
	"$RECORDS" "$WARMUP" "$SECONDS_" >"$TMP/http.out"
http_rc=$?
HTTP_TPS=$(sed -n 's/^http_tps=//p' "$TMP/http.out")
HTTP_LAT=$(sed -n 's/^latency_ms mean=\([0-9.]*\).*/\1/p' "$TMP/http.out")
HTTP_CPU=$(sed -n 's/^cpu_us_per_op client=\([0-9-]*\) server=\([0-9-]*\) postgres=\([0-9-]*\)'\
' other=\([0-9-]*\).*/\1 \2 \3 \4/p' "$TMP/http.out")
# How evenly libmicrohttpd spread the connections: each worker's share of their CPU time.
SHARES=$(for t in /proc/"$SERVER"/task/*; do
	case "$(cat "$t/comm" 2>/dev/null)" in
	MHD-worker | MHD-single) sed 's/^.*) //' "$t/stat" ;;
	esac
done | awk '{ t[NR] = $12 + $13; sum += t[NR] }
	END { for (i = 1; i <= NR; i++) printf "%s%.0f%%", (i > 1 ? " " : ""), t[i] * 100 / sum }')
# transomd stays up, idle, through the pgbench run: its event hub LISTENs, as every
# replica does in production, so the baseline's NOTIFY is delivered to a listener too
# rather than dropped for free.  Idle, it uses no CPU but for that delivery.
[ -n "$HTTP_TPS" ] || { cat "$TMP/http.out"; die "the HTTP run printed no result"; }

# --- pgbench: the same statements, the same concurrency ------------------------------------
# Values transomd computes per request (hashes, JSON), in the shape it sends them.
settle
now_ms=$(date +%s%3N)
at=$(date -u '+%Y-%m-%d %H:%M:%S.%3N+00')
iso=$(date -u '+%Y-%m-%dT%H:%M:%S.%3NZ')
rid=benchRequest0001
content="{\"action\":\"transitioned\",\"actor\":\"bench\",\"at\":\"$iso\",\"detail\":{\"actor\":\
\"bench\",\"auto\":false,\"changed\":[\"state\"],\"event\":\"flip\",\"from\":\"a\",\"to\":\"b\"},\
\"record\":\"CHG-10\",\"request_id\":\"$rid\"}"
outbox="{\"data\": {}, \"kind\": \"change\", \"type\": \"emit\", \"event\": \"change.flipped\",\
 \"state\": \"a\", \"record\": \"CHG-10\"}"
notify="{\"type\":\"record.transitioned\",\"kind\":\"change\",\"id\":\"CHG-10\",\
\"services\":[],\"state\":\"b\",\"from\":\"a\",\"event\":\"flip\",\"actor\":\"bench\",\
\"at\":\"$iso\"}"
pgbench() {
	"$PGBIN/pgbench" -h "$TMP/sock" -U transom -n -M prepared -c "$N" -j "$N" \
		-f tests/bench/transition.sql -D nclients="$N" -D nrecords="$RECORDS" \
		-D sa=a -D sb=b -D topic_a=change.flopped -D topic_b=change.flipped \
		-D state_changed=true -D base_ms="$now_ms" -D tick=0 -D at="$at" -D actor=bench \
		-D action=transitioned -D request_id="$rid" -D content="$content" \
		-D outbox_payload="$outbox" -D notify_payload="$notify" "$@" bench
}
pgbench -T 2 >"$TMP/pgbench.out" 2>&1 || { cat "$TMP/pgbench.out" >&2; die "pgbench failed"; }
cpu0=$("$CLIENT" - - cpu "$PM")
pgbench -T "$SECONDS_" >"$TMP/pgbench.out" 2>&1 ||
	{ cat "$TMP/pgbench.out" >&2; die "pgbench failed"; }
cpu1=$("$CLIENT" - - cpu "$PM")
PG_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TMP/pgbench.out")
PG_LAT=$(sed -n 's/^latency average = \([0-9.]*\).*/\1/p' "$TMP/pgbench.out")
PG_TX=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
	"$TMP/pgbench.out")
[ -n "$PG_TPS" ] && [ -n "$PG_TX" ] || { cat "$TMP/pgbench.out" >&2; die "no pgbench result"; }

# --- the figures ---------------------------------------------------------------------------
# CPU per transition in µs.  PostgreSQL's is its process tree's; "rest" is the machine's
# other busy time: for pgbench, the pgbench process itself (and anything else running).
set -- $HTTP_CPU
awk -v h="$HTTP_TPS" -v p="$PG_TPS" -v hl="$HTTP_LAT" -v pl="$PG_LAT" -v n="$N" \
	-v conn="$CONNECTIONS" -v r="$RECORDS" -v s="$SECONDS_" -v w="$WARMUP" -v t="$TARGET" \
	-v cores="$CORES" -v shares="$SHARES" -v hc="${1:-?}" -v hs="${2:-?}" -v hp="${3:-?}" \
	-v ho="${4:-?}" -v c0="$cpu0" -v c1="$cpu1" -v tx="$PG_TX" 'BEGIN {
	split(c0, a, " ")
	split(c1, b, " ")
	pp = (b[1] - a[1]) / tx * 1e6
	po = (b[2] - a[2] - (b[1] - a[1])) / tx * 1e6
	ratio = h / p
	printf "Transitions: %d s measured after %d s warm-up, %d changes, %d cores.\n", s, w, r,
		cores
	printf "Concurrency %d (transomd threads = database connections = pgbench clients),\n", n
	printf "%d HTTP keep-alive connections; transomd workers'"'"' shares of the work: %s.\n\n",
		conn, shares
	printf "  %-30s %12s %10s\n", "", "per second", "mean ms"
	printf "  %-30s %12.1f %10.2f\n", "HTTP (transomd)", h, hl
	printf "  %-30s %12.1f %10.2f\n", "pgbench, same SQL (baseline)", p, pl
	printf "  %-30s %12.2f   target %.2f: %s\n\n", "ratio HTTP / pgbench", ratio, t,
		(ratio >= t ? "met" : "NOT met")
	printf "  %-30s %8s %9s %9s %6s\n", "CPU µs per transition", "client", "transomd",
		"postgres", "rest"
	printf "  %-30s %8s %9s %9s %6s\n", "HTTP", hc, hs, hp, ho
	printf "  %-30s %8s %9s %9.0f %6.0f\n", "pgbench", "-", "-", pp, po
}'
[ $http_rc -eq 0 ] || { cat "$TMP/http.out"; die "the HTTP run had errors"; }
exit 0
