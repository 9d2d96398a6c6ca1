#!/bin/sh
# reads.sh -- the read rows of `make bench` (issue 19, bottleneck 2): GET /v1/changes/{id},
# GET /v1/changes?limit=50 and GET /v1/schedule through HTTP, each against pgbench running
# the SQL the service sent for that request, with 1,000 and with 10,000 changes.
#
#   tests/bench/reads.sh [BUILD]
#
# The changes are made in SQL: one standard change goes through the API to `scheduled`
# (CHG-1), and its row is copied as CHG-2 .. CHG-N, each with its own id and title and
# one booking on web-frontend: 15 minutes from now - 300 days + (k - 1) * 425 days / N, so
# that the default 30-day range of /v1/schedule holds about 7% of them (70 at 1,000, 700
# at 10,000).  The copies' `schedule` has no `state`, so the re-planner (issue 19,
# bottleneck 1, measured by replan.sh) leaves them out and the service idles between
# samples.  One request of each kind is sent with log_statement = all, and
# tests/bench/pgbench_from_log.py turns the statements its backend ran into the pgbench
# script (a GET by id reads a random CHG-n, as the HTTP clients cycle through them).
#
# Each HTTP / pgbench pair is sampled BENCH_REPS times (default 3), interleaved (the first
# of each pair alternates); rows print min / median / max of the rates and of the ratio of
# each repetition.  The GET by id is also sampled against tests/bench/bench_floor.c: a
# libmicrohttpd server with transomd's transport flags that runs the logged statement and
# sends its row, nothing else -- the floor of a server of this shape.  It has
# BENCH_FLOOR_THREADS threads and connections (default 8: enough requests in flight that
# the CPU, not the round trips, is its limit).  With the largest size the schedule's SQL is also timed alone (pgbench,
# one client): its mean latency in ms.
#
# Environment: BENCH_READS_SIZES (default "1000 10000"), BENCH_CONCURRENCY,
# BENCH_CONNECTIONS, BENCH_REPS, BENCH_WARMUP, BENCH_SECONDS, BENCH_PGOPTIONS, BENCH_KEEP
# as in run.sh.  Exit status 0 whatever the speed; 1 when a request failed or a run could
# not be made.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/transomd
CLIENT=$ROOT/$BUILD/tests/bench/bench_transitions
FLOOR=$ROOT/$BUILD/tests/bench/bench_floor
SIZES=${BENCH_READS_SIZES:-1000 10000}
CORES=$(nproc)
N=${BENCH_CONCURRENCY:-$((CORES < 2 ? 2 : CORES > 8 ? 8 : CORES))}
CONNECTIONS=${BENCH_CONNECTIONS:-$((4 * N))}
REPS=${BENCH_REPS:-3}
WARMUP=${BENCH_WARMUP:-2}
SECONDS_=${BENCH_SECONDS:-5}
PGOPTIONS=${BENCH_PGOPTIONS--c jit=off}
export PGOPTIONS
. "$ROOT/tests/bench/lib.sh"
SERVE_ENV="TRANSOM_THREADS=$N"

need "$BIN" "$CLIENT" "$FLOOR" "$PGBIN/pgbench" "$PGBIN/psql"
bench_tmp reads

# --- the database and the service -------------------------------------------------------------
pg_cluster no-autovacuum
TRANSOM_LOG_LEVEL=warn
export TRANSOM_LOG_LEVEL
"$BIN" migrate >/dev/null || die "cannot migrate"

TOKEN=$("$BIN" token create --user grossi --role requester | tail -n 1) ||
	die "cannot create a token"
serve
H="Authorization: Bearer $TOKEN"
J='Content-Type: application/json'
curl -sf -H "$H" -H "$J" -X POST "$URL/v1/changes" -d '{"title": "Renew the edge certificate",
  "type": "standard", "services": ["web-frontend"], "duration": "PT15M",
  "template": "tls-certificate-renewal"}' >"$TMP/created.json" || die "cannot create a change"
ORIG=$(sed -n 's/.*"id": *"\(CHG-[0-9]*\)".*/\1/p' "$TMP/created.json")
[ "$ORIG" = CHG-1 ] || die "the first change is '$ORIG', not CHG-1"
curl -sf -H "$H" -H "$J" -X POST "$URL/v1/changes/$ORIG/transitions" -d '{"event": "submit"}' \
	>"$TMP/submitted.json" || die "cannot submit $ORIG"
grep -q '"state": *"scheduled"' "$TMP/submitted.json" || die "$ORIG is not scheduled"
unserve

# make_changes N: copies CHG-1 as CHG-2 .. CHG-N (the ones not made yet), and books all of
# them again, spread for N (a slot that would overlap CHG-1's own booking is left out).
HAVE=1
make_changes() {
	[ "$1" -le "$HAVE" ] && return 0
	psql_q -v from=$((HAVE + 1)) -v to="$1" <<'SQL' || die "cannot copy changes"
CREATE TEMP TABLE slots AS
SELECT g, 'CHG-' || g AS id,
       date_trunc('minute', now()) - interval '300 days'
         + (g - 1) * (interval '425 days' / :to) AS s
  FROM generate_series(:from, :to) g;
INSERT INTO records (id, kind, workflow, workflow_version, state, version, data, services,
  type, requester, created_at, updated_at, state_entered_at)
SELECT sl.id, r.kind, r.workflow, r.workflow_version, r.state, r.version,
  jsonb_set(jsonb_set(jsonb_set(jsonb_set(r.data #- '{schedule,state}', '{id}', to_jsonb(sl.id)),
    '{title}', to_jsonb('Renew the edge certificate ' || sl.g)),
    '{schedule,start}', to_jsonb(to_char(sl.s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
    '{schedule,end}', to_jsonb(to_char((sl.s + interval '15 minutes') AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
  r.services, r.type, r.requester, r.created_at + sl.g * interval '1 second',
  r.updated_at + sl.g * interval '1 second', r.state_entered_at
  FROM records r, slots sl WHERE r.id = 'CHG-1';
DELETE FROM bookings WHERE change_id <> 'CHG-1';
INSERT INTO bookings (change_id, service, during, window_uid, window_start, window_end)
SELECT 'CHG-' || g, 'web-frontend', tstzrange(s, s + interval '15 minutes', '[)'), NULL, NULL,
  NULL
  FROM (SELECT g, date_trunc('minute', now()) - interval '300 days'
                    + (g - 1) * (interval '425 days' / :to) AS s
          FROM generate_series(2, :to) g) sl
 WHERE NOT EXISTS (SELECT FROM bookings b WHERE b.service = 'web-frontend'
                     AND b.during && tstzrange(s, s + interval '15 minutes', '[)'));
SELECT FROM setval('change_number_seq', :to);
SQL
	HAVE=$1
	psql_q -c "VACUUM ANALYZE records, bookings, timers, record_links" -c CHECKPOINT ||
		die "cannot vacuum"
}

# log_statement = all around "$@"; the lines it added are left in $TMP/capture.log.
log=$TMP/pg/server.log
logged() {
	psql_q -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
	from=$(($(wc -l <"$log") + 1))
	"$@"
	rc=$?
	psql_q -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null
	tail -n "+$from" "$log" >"$TMP/capture.log"
	return $rc
}

# script NAME PATH STATEMENT: sends GET PATH once, logged; the backend that ran STATEMENT
# gives $TMP/NAME.sql and $TMP/NAME.defs, and its statements are printed.
script() {
	logged curl -sf -o /dev/null -H "$H" "$URL$2" || die "GET $2 failed"
	pid=$(sed -n "s/.*\[\([0-9]*\)\] LOG:  execute $3.*/\1/p" "$TMP/capture.log" |
		head -n 1)
	[ -n "$pid" ] || die "no $3 in the log of GET $2"
	echo "  GET $2 ran: $(/usr/bin/python3 tests/bench/pgbench_from_log.py --reads n \
		"$TMP/capture.log" "$pid" "$TMP/$1.sql" "$TMP/$1.defs" | tr '\n' ' ')"
	[ -s "$TMP/$1.sql" ] || die "cannot make the pgbench script of GET $2"
}

# One HTTP sample: bench_transitions get ...; its rate on stdout.  FLOOR_URL set: against
# bench_floor instead of transomd.
http_sample() {
	spid=$SERVER
	[ -n "${FLOOR_URL:-}" ] && spid=$FLOOR_PID
	BENCH_SERVER_PID=$spid BENCH_PG_PID=$PM "$CLIENT" "${FLOOR_URL:-$URL}" "$TOKEN" get "$CONNECTIONS" \
		"$1" "$2" "$WARMUP" "$SECONDS_" >"$TMP/http.out" 2>"$TMP/http.err" || {
		cat "$TMP/http.out" "$TMP/http.err" >&2
		return 1
	}
	sed -n 's/^http_tps=//p' "$TMP/http.out"
}

# pgbench NAME RECORDS CLIENTS [ARGS]: the script of NAME, ids drawn from 1..RECORDS.
pgbench_run() {
	name=$1 records=$2 clients=$3
	shift 3
	xargs -0 -a "$TMP/$name.defs" "$PGBIN/pgbench" -h "$TMP/sock" -U transom -n -M prepared \
		-c "$clients" -j "$clients" -f "$TMP/$name.sql" -D nrecords="$records" "$@" bench
}

pgbench_sample() {
	pgbench_run "$@" -T "$WARMUP" >"$TMP/pgbench.out" 2>&1 ||
		{ cat "$TMP/pgbench.out" >&2; return 1; }
	pgbench_run "$@" -T "$SECONDS_" >"$TMP/pgbench.out" 2>&1 ||
		{ cat "$TMP/pgbench.out" >&2; return 1; }
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TMP/pgbench.out"
}

# pair LABEL NAME PATH RECORDS GOAL [floor]: REPS interleaved samples of GET PATH and of
# NAME's SQL; with "floor", of GET PATH from bench_floor too (on $FLOOR_URL, $FLOOR_PID).
pair() {
	sides="http pg${6:+ floor}"
	: >"$TMP/r_http"
	: >"$TMP/r_pg"
	: >"$TMP/r_floor"
	for rep in $(seq 1 "$REPS"); do
		[ $((rep % 2)) -eq 1 ] && order=$sides || order=$(echo "$sides" | tr ' ' '\n' | tac)
		for side in $order; do
			case $side in
			http)
				v=$(FLOOR_URL='' http_sample "$4" "$3") || die "the HTTP run had errors"
				cpu=$(sed -n 's/^cpu_us_per_op //p' "$TMP/http.out")
				lat=$(sed -n 's/^latency_ms //p' "$TMP/http.out")
				;;
			floor)
				v=$(FLOOR_URL=$FLOOR_URL http_sample "$4" "$3") ||
					die "the floor run had errors"
				fcpu=$(sed -n 's/^cpu_us_per_op //p' "$TMP/http.out")
				;;
			pg) v=$(pgbench_sample "$2" "$4" "$N") || die "pgbench failed" ;;
			esac
			echo "$v" >>"$TMP/r_$side"
			echo "    repetition $rep: $side $v/s"
		done
	done
	ratios "$TMP/r_http" "$TMP/r_pg" "$TMP/r_ratio"
	printf "  %-44s %10s %10s %10s\n" "$1, per second" min median max
	row "HTTP (transomd)" "$TMP/r_http"
	row "pgbench, same SQL (baseline)" "$TMP/r_pg"
	row "ratio HTTP / pgbench (goal >= $5)" "$TMP/r_ratio" "%10.3f"
	echo "  last HTTP sample: latency ms $lat; CPU µs per request $cpu"
	[ -n "${6:-}" ] || return 0
	ratios "$TMP/r_floor" "$TMP/r_pg" "$TMP/r_fratio"
	ratios "$TMP/r_http" "$TMP/r_floor" "$TMP/r_hfratio"
	row "floor: bench_floor, same SQL" "$TMP/r_floor"
	row "ratio floor / pgbench" "$TMP/r_fratio" "%10.3f"
	row "ratio HTTP / floor" "$TMP/r_hfratio" "%10.3f"
	echo "  last floor sample: CPU µs per request $fcpu (server = bench_floor)"
}

# floor_start NAME: bench_floor on the statement the logged GET's backend ran for NAME
# (record_view); sets FLOOR_URL and FLOOR_PID.
floor_start() {
	sed -n "s/.*LOG:  execute $1: //p" "$TMP/capture.log" | head -n 1 >"$TMP/floor.sql"
	[ -s "$TMP/floor.sql" ] || die "no $1 in the log"
	"$FLOOR" "$TRANSOM_DATABASE_URL" "$TMP/floor.sql" "${BENCH_FLOOR_THREADS:-8}" \
		>"$TMP/floor.out" 2>"$TMP/floor.err" &
	FLOOR_PID=$!
	FLOOR_URL=$(listen_url "$FLOOR_PID" "$TMP/floor.out") ||
		{ cat "$TMP/floor.err" >&2; die "bench_floor did not start"; }
}

echo "== reads: GET through HTTP against pgbench running the same SQL"
echo "Concurrency $N (transomd threads = database connections = pgbench clients), $CORES cores;"
echo "$CONNECTIONS HTTP connections; each sample ${SECONDS_} s after ${WARMUP} s warm-up;"
echo "$REPS repetitions, interleaved.  Columns: min, median, max over the repetitions."
last=$(echo "$SIZES" | awk '{ print $NF }')
for size in $SIZES; do
	[ "$size" -ge "$CONNECTIONS" ] || die "each size must be at least the connections"
	make_changes "$size"
	serve
	echo
	echo "-- $size changes ($(psql_q -c "SELECT count(*) FROM bookings WHERE during &&
		tstzrange(now(), now() + interval '30 days')") booked in /v1/schedule's default 30 days)"
	script get "/v1/changes/CHG-$((size / 2))" "record_[gv][ei][te]w*"
	floor_start "record_[gv][ei][te]w*"
	script list "/v1/changes?limit=50" record_list
	script schedule "/v1/schedule" bookings_list
	pair "GET /v1/changes/{id}" get "/v1/changes/CHG-%u" "$size" 0.7 floor
	kill "$FLOOR_PID"
	wait "$FLOOR_PID"
	pair "GET /v1/changes?limit=50" list "/v1/changes?limit=50" "$size" 0.5
	pair "GET /v1/schedule" schedule "/v1/schedule" "$size" 0.5
	if [ "$size" = "$last" ]; then
		: >"$TMP/s_ms"
		for rep in $(seq 1 "$REPS"); do
			pgbench_run schedule "$size" 1 -T "$SECONDS_" >"$TMP/pgbench.out" 2>&1 ||
				{ cat "$TMP/pgbench.out" >&2; die "pgbench failed"; }
			sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$TMP/pgbench.out" \
				>>"$TMP/s_ms"
		done
		printf "  %-44s %10s %10s %10s\n" "the schedule's SQL alone, one client" min median max
		row "mean ms per request (goal <= 20)" "$TMP/s_ms" "%10.2f"
	fi
	unserve
done
exit 0
