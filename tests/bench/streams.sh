#!/bin/sh
# streams.sh -- the memory and streams rows of `make bench` (issue 19): how many event
# streams and long-polls a replica holds, and what they and a read load cost in memory.
#
#   tests/bench/streams.sh [BUILD]
#
# Each repetition starts transomd afresh (on a throwaway PostgreSQL holding 10,000
# scheduled changes: copies in SQL of one standard change made through the API, each
# booked in its own 15-minute slot on web-frontend, as tests/bench/replan.sh makes them)
# and measures:
#   idle          VmRSS of transomd 3 s after it listens (the baseline of the ratios);
#   streams       BENCH_SSE (default 1,000) SSE clients (GET /v1/events) and BENCH_POLLS
#                 (default 1,000) deployment long-polls (GET /v1/deployments/{id}?wait=30
#                 of a deployment waiting for its window) opened at once; every one must
#                 answer 200 and stay open (a long-poll answered now has not waited); then
#                 BENCH_EVENTS (default 5) changes are made through the API and every SSE
#                 client must receive each of them; VmRSS with all of them open;
#   closed        VmRSS 32 s after every client closed its stream (a parked stream
#                 notices at its next write: the SSE keep-alive, every 15 s, or the
#                 long-poll's end);
#   read load     BENCH_LOAD_SECONDS (default 20) of reads on BENCH_LOAD_CONNECTIONS
#                 (default 64) keep-alive connections
#                 (GET /v1/changes/{id} of the 10,000, and every 8th request a list of
#                 50, the schedule or the ICS feed): the highest VmRSS seen, VmRSS 3 s
#                 after, and VmHWM (the peak of the whole repetition).
# The RSS rows have no external baseline: each is printed in MB against the goal (64 MB)
# and as its ratio to the idle VmRSS of the same repetition; min / median / max over
# BENCH_REPS (default 3) repetitions.
#
# The service runs with TRANSOM_MAX_CONNECTIONS=BENCH_STREAM_CONNECTIONS (default 2560,
# room for the 2,000 streams) and TRANSOM_MAX_CONNECTIONS_PER_IP=0 (every client is on
# 127.0.0.1); the default per-user quotas stay: the SSE clients are spread over 125
# requesters (8 streams each, TRANSOM_STREAMS_PER_USER) and the long-polls over 32
# pipelines (32 each, TRANSOM_STREAMS_PER_PRIVILEGED).  The policies are the shipped
# ones but for the windows and freezes: no freeze, one daily hour for every service 12 h
# from the start (so that the deployment of search waits) and an all-day window for
# web-frontend (where the 10,000 changes are booked).  Exit status 0 whatever the figures; 1 when a run could not
# be made.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
case $BUILD in
/*) BIN=$BUILD/transomd ;; # another build's binary (a before/after comparison)
*) BIN=$ROOT/$BUILD/transomd ;;
esac
PY=/usr/bin/python3
CLIENT=$ROOT/tests/bench/streams.py
REPS=${BENCH_REPS:-3}
SSE=${BENCH_SSE:-1000}
POLLS=${BENCH_POLLS:-1000}
EVENTS=${BENCH_EVENTS:-5}
LOAD=${BENCH_LOAD_SECONDS:-20}
LOAD_CONNS=${BENCH_LOAD_CONNECTIONS:-64}
CONNS=${BENCH_STREAM_CONNECTIONS:-2560}
CHANGES=10000
. "$ROOT/tests/bench/lib.sh"
SERVE_WAIT=30 # seconds serve() (lib.sh) waits for transomd to listen
SERVE_ENV="TRANSOM_MAX_CONNECTIONS=$CONNS TRANSOM_MAX_CONNECTIONS_PER_IP=0"
ROW_NOTES=1 # every row ends with " NOTE", NOTE possibly empty

need "$BIN" "$PGBIN/psql" "$PY"
bench_tmp streams

# VmRSS or VmHWM (FIELD) of the server, in kB.
vm() {
	sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SERVER/status"
}

# --- the database and the definitions -------------------------------------------------------
pg_cluster
TRANSOM_LOG_LEVEL=warn
TRANSOM_POLICIES_DIR=$TMP/policies
export TRANSOM_LOG_LEVEL TRANSOM_POLICIES_DIR
"$BIN" migrate >/dev/null 2>&1 || die "cannot migrate"
mkdir -p "$TMP/policies"
cp policies/*.json policies/*.ics "$TMP/policies/" || die "cannot copy policies/"
at=$(date -u -d '+12 hours' +%H%M)
{
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//bench//EN\r\n'
	printf 'BEGIN:VEVENT\r\nUID:bench-hour@transom.example\r\n'
	printf 'DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T%s00Z\r\n' "$at"
	printf 'DURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n'
	printf 'SUMMARY:Bench window (one hour a day)\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n'
	printf 'X-TRANSOM-SERVICES:*\r\nX-TRANSOM-CAPACITY:100000\r\n'
	printf 'END:VEVENT\r\n'
	printf 'BEGIN:VEVENT\r\nUID:bench-open@transom.example\r\n'
	printf 'DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n'
	printf 'DURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n'
	printf 'SUMMARY:Bench window (all day, web-frontend)\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n'
	printf 'X-TRANSOM-SERVICES:web-frontend\r\nX-TRANSOM-CAPACITY:100000\r\n'
	printf 'END:VEVENT\r\nEND:VCALENDAR\r\n'
} >"$TMP/policies/windows.ics"
no_freezes

# --- the data: tokens, a waiting deployment, 10,000 changes ---------------------------------
ADMIN=$("$BIN" token create --user bench-admin --role admin | tail -n 1) ||
	die "cannot create a token"
REQ=$("$BIN" token create --user grossi --role requester | tail -n 1) || die "no token"
serve
"$PY" "$CLIENT" tokens "$URL" "$ADMIN" $(((SSE + 7) / 8)) $(((POLLS + 31) / 32)) \
	"$TMP/tokens" || die "cannot make the tokens"
PIPE=$(sed -n 's/^pipeline //p' "$TMP/tokens" | head -n 1)
curl -sf -H "Authorization: Bearer $PIPE" -H 'Content-Type: application/json' \
	-X POST "$URL/v1/deployments" -d '{"service": "search", "environment": "production",
	"duration": "PT30M", "pipeline": {"url": "https://ci.example/run/1", "commit":
	"9f1c2e7a9f1c2e7a9f1c", "actor": "bench"}}' >"$TMP/dep.json" ||
	die "cannot request a deployment"
DEP=$(jq -r .id "$TMP/dep.json")
[ "$(jq -r .decision "$TMP/dep.json")" = wait ] ||
	die "the deployment does not wait: $(cat "$TMP/dep.json")"
scheduled_change "$REQ"
unserve
# As tests/bench/replan.sh: copies of $ORIG, each booked on web-frontend in its own
# 15-minute slot from tomorrow 00:00 UTC on (96 a day).
{ copy_changes 1 "$CHANGES" && psql_q -c "VACUUM ANALYZE records, bookings"; } ||
	die "cannot copy the changes"
seq 900001 $((900000 + CHANGES)) | sed 's/^/CHG-/' >"$TMP/ids"

echo "== streams and memory: $SSE SSE clients and $POLLS long-polls, then reads of" \
	"$CHANGES changes"
echo "TRANSOM_MAX_CONNECTIONS=$CONNS, TRANSOM_MAX_CONNECTIONS_PER_IP=0; default per-user" \
	"quotas ($(((SSE + 7) / 8)) requesters, $(((POLLS + 31) / 32)) pipelines);" \
	"$REPS repetitions, min / median / max."
for f in idle streams closed load after hwm r_streams r_load r_after sse_ok polls_ok \
	delivered; do
	: >"$TMP/$f"
done
for rep in $(seq 1 "$REPS"); do
	serve
	sleep 3
	idle=$(vm VmRSS)
	"$PY" "$CLIENT" streams "$URL" "$TMP/tokens" "$SERVER" "$SSE" "$POLLS" "$DEP" \
		"$EVENTS" 3 >"$TMP/streams.out" 2>"$TMP/streams.err" ||
		{ cat "$TMP/streams.out" "$TMP/streams.err" >&2; die "the stream run failed"; }
	sed 's/^/    /' "$TMP/streams.out"
	# A parked stream whose client left is noticed at its next write: an SSE stream's
	# at the next keep-alive (15 s), a long-poll's at its end (wait=30).
	sleep 32
	closed=$(vm VmRSS)
	"$PY" "$CLIENT" load "$URL" "$REQ" "$SERVER" "$LOAD" "$LOAD_CONNS" "$TMP/ids" >"$TMP/load.out" ||
		die "the read load failed"
	sleep 3
	after=$(vm VmRSS)
	hwm=$(vm VmHWM)
	streams=$(sed -n 's/^rss_streams_kb=\([0-9]*\).*/\1/p' "$TMP/streams.out")
	peak=$(sed -n 's/.*rss_load_peak_kb=\([0-9]*\).*/\1/p' "$TMP/load.out")
	echo "  repetition $rep: idle $idle kB, streams $streams kB, closed $closed kB," \
		"load $(cat "$TMP/load.out"), after $after kB, VmHWM $hwm kB"
	for p in "idle $idle" "streams $streams" "closed $closed" "load $peak" "after $after" \
		"hwm $hwm"; do
		set -- $p
		echo "$2" | awk '{ printf "%.1f\n", $1 / 1024 }' >>"$TMP/$1"
		echo "$2 $idle" | awk '{ printf "%.2f\n", $1 / $2 }' >>"$TMP/r_$1"
	done
	sed -n 's/^sse_open=//p' "$TMP/streams.out" >>"$TMP/sse_ok"
	sed -n 's/^polls_waiting=//p' "$TMP/streams.out" >>"$TMP/polls_ok"
	sed -n 's/^events=.* delivered_to_all=\([0-9]*\).*/\1/p' "$TMP/streams.out" \
		>>"$TMP/delivered"
	unserve
done
echo
printf "  %-44s %10s %10s %10s\n" "streams (of $SSE SSE, $POLLS long-polls)" min median max
row "SSE clients answered 200 and open" "$TMP/sse_ok" "%10.0f"
row "long-polls answered 200 and waiting" "$TMP/polls_ok" "%10.0f"
row "SSE clients that got all $EVENTS events" "$TMP/delivered" "%10.0f"
echo
printf "  %-44s %10s %10s %10s\n" "transomd VmRSS, MB (goal <= 64)" min median max
row "idle (the baseline)" "$TMP/idle"
row "with every stream open" "$TMP/streams"
row "streams closed" "$TMP/closed"
row "read load on $CHANGES changes, highest" "$TMP/load"
row "after the read load" "$TMP/after"
row "VmHWM (peak of the repetition)" "$TMP/hwm"
printf "  %-44s %10s %10s %10s\n" "ratio to idle VmRSS" min median max
row "with every stream open / idle" "$TMP/r_streams" "%10.2f"
row "read load, highest / idle" "$TMP/r_load" "%10.2f"
row "after the read load / idle" "$TMP/r_after" "%10.2f"
row "VmHWM / idle" "$TMP/r_hwm" "%10.2f"
exit 0
