#!/bin/sh
# lifecycle.sh -- the lifecycle and concurrency rows of `make bench` (issue 19): how many
# normal changes go their whole way per second, and whether creates keep their rate as
# connections grow.
#
#   tests/bench/lifecycle.sh [BUILD] [ROWS]      ROWS: "lifecycle concurrency" (default)
#
# lifecycle    bench_transitions' `lifecycle` loop on BENCH_LC_CLIENTS keep-alive
#              connections (default 8): per iteration a requester from policies/people.json
#              (one in no board) creates a normal change on one of six services, PATCHes
#              it (so becomes its editor) and submits it; the members the approvals name
#              vote approve, never the requester or an editor, until the approvals are
#              satisfied; the change must then be `scheduled` and its slot booked (a GET).
#              Completed lifecycles per second, against the goal of 100/s; there is no
#              external baseline (the transition and create rows of run.sh compare single
#              writes with pgbench).
# concurrency  POST /v1/changes of a normal change at 1, 8, 64 and 256 keep-alive
#              connections (BENCH_CONNS), creates per second with p50 / p99 latency, and
#              the ratio of the 256 and 8 rates (goal: flat, 0.8 - 1.2).
#
# Every sample is BENCH_WARMUP s (default 2) of warm-up then BENCH_SECONDS (default 5)
# measured, BENCH_REPS times (default 3); the concurrency levels are interleaved (each
# repetition starts at the next one).  Printed: min / median / max over the repetitions,
# and the CPU each operation cost transomd and PostgreSQL in the last sample.
#
# The service runs the shipped workflows and policies, except one maintenance window open
# all day, every day, for every service (capacity 100,000, UTC) and no freezes, so that
# any number of changes find legal slots, as in replan.sh.  All clients come from
# 127.0.0.1: the per-address cap (TRANSOM_MAX_CONNECTIONS_PER_IP, 64 by default) is
# lifted for the run.  transomd has BENCH_CONCURRENCY request workers (default: one per
# core, at least 2, at most 8), as run.sh.  Exit status 0 whatever the speed; 1 when a
# request failed or a run could not be made.
set -u
BUILD=${1:-build}
ROWS=${2:-lifecycle concurrency}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/transomd
CLIENT=$ROOT/$BUILD/tests/bench/bench_transitions
CORES=$(nproc)
N=${BENCH_CONCURRENCY:-$((CORES < 2 ? 2 : CORES > 8 ? 8 : CORES))}
LC_CLIENTS=${BENCH_LC_CLIENTS:-8}
CONNS=${BENCH_CONNS:-1 8 64 256}
REPS=${BENCH_REPS:-3}
WARMUP=${BENCH_WARMUP:-2}
SECONDS_=${BENCH_SECONDS:-5}
want() { case " $ROWS " in *" $1 "*) return 0 ;; esac; return 1; }
. "$ROOT/tests/bench/lib.sh"
SERVE_ENV="TRANSOM_THREADS=$N TRANSOM_MAX_CONNECTIONS_PER_IP=0"

need "$BIN" "$CLIENT" "$PGBIN/psql"
bench_tmp lifecycle

# --- the database, the definitions, the service --------------------------------------------
pg_cluster no-autovacuum
TRANSOM_LOG_LEVEL=warn
TRANSOM_POLICIES_DIR=$TMP/policies
export TRANSOM_LOG_LEVEL TRANSOM_POLICIES_DIR
"$BIN" migrate >/dev/null 2>&1 || die "cannot migrate"

mkdir -p "$TMP/policies"
cp policies/*.json policies/cab.ics "$TMP/policies/" || die "cannot copy policies/"
all_day_windows # as replan.sh (lib.sh)
no_freezes

# A token for every user of people.json: "NAME TOKEN 1" for those in no board (they
# request), "NAME TOKEN 0" for board members (they vote).
/usr/bin/python3 - "$BIN" "$TMP/policies/people.json" >"$TMP/users" <<'EOF' ||
import json, subprocess, sys
people = json.load(open(sys.argv[2]))
boards = {m for g in people["groups"] if g["name"] in ("cab", "ecab") for m in g["members"]}
for u in people["users"]:
    name = u["name"]
    roles = "requester,cab" if name in boards else "requester"
    out = subprocess.run([sys.argv[1], "token", "create", "--user", name, "--role", roles],
                         capture_output=True, text=True, check=True).stdout
    print(name, out.strip().splitlines()[-1], 0 if name in boards else 1)
EOF
	die "cannot create the tokens"
REQUESTER=$(awk '$3 == 1 { print $2; exit }' "$TMP/users")

serve

settle() {
	psql_q -c "VACUUM ANALYZE records, outbox, audit_events, audit_head, events, timers,
		bookings" -c CHECKPOINT >/dev/null || die "cannot vacuum"
}

# sample ARGS...: one bench_transitions run; keeps its output in $TMP/out.
sample() {
	BENCH_SERVER_PID=$SERVER BENCH_PG_PID=$PM "$CLIENT" "$URL" "$@" >"$TMP/out" \
		2>"$TMP/err" || { cat "$TMP/out" "$TMP/err" >&2; return 1; }
}
rate() { sed -n 's/^http_tps=//p' "$TMP/out"; }
lat() { sed -n "s/^latency_ms .*$1=\([0-9.]*\).*/\1/p" "$TMP/out"; }

echo "== lifecycle and concurrency (tests/bench/lifecycle.sh): $N request workers," \
	"$CORES cores; each sample ${SECONDS_} s after ${WARMUP} s warm-up, $REPS repetitions"
echo "   (machine busy: see busy_pct; other work on the machine shows in every figure)"

if want lifecycle; then
	echo
	echo "-- full normal lifecycle: create, PATCH, submit, votes, scheduled + booked;" \
		"$LC_CLIENTS connections"
	: >"$TMP/lc" && : >"$TMP/lc_p50" && : >"$TMP/lc_p99"
	for rep in $(seq 1 "$REPS"); do
		settle
		sample - lifecycle "$LC_CLIENTS" "$TMP/users" "$WARMUP" "$SECONDS_" ||
			die "the lifecycle run had errors"
		rate >>"$TMP/lc"
		lat p50 >>"$TMP/lc_p50"
		lat p99 >>"$TMP/lc_p99"
		echo "  repetition $rep: $(rate)/s, p50 $(lat p50) ms, p99 $(lat p99) ms," \
			"$(sed -n 's/^requests=.*requests_per_op=//p' "$TMP/out") requests each"
	done
	awk '{ printf "%.3f\n", $1 / 100 }' "$TMP/lc" >"$TMP/lc_goal"
	echo
	printf "  %-44s %10s %10s %10s\n" "lifecycles per second" min median max
	row "normal lifecycles through HTTP" "$TMP/lc"
	row "ratio to the goal of 100/s (goal >= 1)" "$TMP/lc_goal" "%10.2f"
	row "latency p50, ms" "$TMP/lc_p50"
	row "latency p99, ms" "$TMP/lc_p99"
	echo "  CPU µs per lifecycle in the last sample: $(sed -n 's/^cpu_us_per_op //p' "$TMP/out")"
fi

if want concurrency; then
	echo
	echo "-- POST /v1/changes (normal) at $CONNS connections"
	NORMAL='{"title": "bench normal", "type": "normal", "services": ["payments"], "duration": "PT1H"}'
	set -- $CONNS
	for c in "$@"; do : >"$TMP/c$c" && : >"$TMP/c${c}_p50" && : >"$TMP/c${c}_p99"; done
	for rep in $(seq 1 "$REPS"); do
		for c in "$@"; do
			settle
			sample "$REQUESTER" post "$c" /v1/changes "$NORMAL" "$WARMUP" "$SECONDS_" ||
				die "the create run at $c connections had errors"
			rate >>"$TMP/c$c"
			lat p50 >>"$TMP/c${c}_p50"
			lat p99 >>"$TMP/c${c}_p99"
			echo "  repetition $rep: $c connections $(rate)/s, p50 $(lat p50) ms," \
				"p99 $(lat p99) ms"
		done
		first=$1 && shift && set -- "$@" "$first" # the next repetition starts further on
	done
	echo
	printf "  %-44s %10s %10s %10s\n" "normal creates" min median max
	for c in $CONNS; do
		row "$c connections, per second" "$TMP/c$c"
		row "$c connections, p50 ms" "$TMP/c${c}_p50"
		row "$c connections, p99 ms" "$TMP/c${c}_p99"
	done
	if [ -s "$TMP/c8" ] && [ -s "$TMP/c256" ]; then
		ratios "$TMP/c256" "$TMP/c8" "$TMP/c_flat"
		row "ratio 256 / 8 connections (goal 0.8 - 1.2)" "$TMP/c_flat" "%10.2f"
	fi
	echo "  CPU µs per create in the last sample: $(sed -n 's/^cpu_us_per_op //p' "$TMP/out")"
fi
exit 0
