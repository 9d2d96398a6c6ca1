#!/bin/sh
# replan.sh -- the re-plan rows of `make bench` (issue 19, bottleneck 1): what a re-plan
# pass of every scheduled change costs the service, what an idle service spends on it,
# and how long a shutdown waits for it.
#
#   tests/bench/replan.sh [BUILD]
#
# The service runs the shipped workflows and policies, but with one maintenance window
# open all day, every day, for every service (capacity 100,000, UTC) and no freezes, so
# that any number of changes can hold legal slots.  The scheduled changes are made in
# SQL: one standard change goes through the API to `scheduled`, and its row is copied,
# each copy booked on web-frontend in its own 15-minute slot from tomorrow 00:00 UTC on
# (96 a day: 10,000 changes fill 105 days of the 180-day horizon), with its bookings row.
# Every booking is legal, so a pass moves none of them: this is the steady-state cost.
#
# Rows, each sampled BENCH_REPS times (default 3), printed as min / median / max:
#   pass, N changes     a re-plan pass after SIGHUP (after the start-up pass), from the
#                       `event=replanned` line transomd logs (ms, examined, moved);
#   one-window change   the same after the daily window loses one day (an EXDATE on the
#                       day k+2 of repetition k): the 96 changes of that day move;
#   idle CPU            transomd's and PostgreSQL's CPU (utime + stime of /proc/PID/stat,
#                       PostgreSQL: every child of the postmaster) over BENCH_IDLE seconds
#                       (default 30) once the start-up pass is over, in cores;
#   shutdown            SIGTERM -> exit, sent as soon as a SIGHUP's pass has begun
#                       (`event=replan_started`; before that line existed, 0.2 s after it).
# A pass that does not end within BENCH_REPLAN_LIMIT seconds (default 45) is stopped with
# SIGTERM: its time is then extrapolated from the changes it examined (marked "extrap.")
# and the SIGTERM's wait counts as a shutdown sample.
#
# Environment: BENCH_REPLAN_SIZES (default "1000 10000"), BENCH_IDLE_SIZE (default 1400),
# BENCH_REPS, BENCH_IDLE, BENCH_REPLAN_LIMIT.  Exit status 0 whatever the speed; 1 when a
# run could not be made.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=$ROOT/$BUILD/transomd
. "$ROOT/tests/bench/lib.sh"
SERVE_WAIT=30 # seconds serve() (lib.sh) waits for transomd to listen
SERVE_ENV="TRANSOM_SHUTDOWN_GRACE=120"
ROW_NOTES=1 # every row ends with " NOTE", NOTE possibly empty
SIZES=${BENCH_REPLAN_SIZES:-1000 10000}
IDLE_SIZE=${BENCH_IDLE_SIZE:-1400}
REPS=${BENCH_REPS:-3}
IDLE=${BENCH_IDLE:-30}
LIMIT=${BENCH_REPLAN_LIMIT:-45}
HZ=$(getconf CLK_TCK)

need "$BIN" "$PGBIN/psql"
bench_tmp replan

# --- the database and the definitions -------------------------------------------------------
pg_cluster
TRANSOM_LOG_LEVEL=info
TRANSOM_POLICIES_DIR=$TMP/policies
export TRANSOM_LOG_LEVEL TRANSOM_POLICIES_DIR
"$BIN" migrate >/dev/null 2>&1 || die "cannot migrate"

mkdir -p "$TMP/policies"
cp policies/*.json policies/cab.ics "$TMP/policies/" || die "cannot copy policies/"
EXDATES="" # read by all_day_windows (lib.sh)
all_day_windows
no_freezes

# --- the service -----------------------------------------------------------------------------
# serve: lib.sh's, with TRANSOM_SHUTDOWN_GRACE=120 (SERVE_ENV) and 30 s to start.
# unserve: replaces lib.sh's.  Sends SIGTERM; DOWN receives the seconds until the process exited.
unserve() {
	t0=$(date +%s.%N)
	kill -TERM "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	rc=$?
	SERVER=""
	[ $rc -eq 0 ] || echo "bench: transomd exited with status $rc" >&2
	DOWN=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.3f\n", $1 - $2 }')
}

# The number of `event=replanned` lines logged so far.
passes() {
	grep -c 'event=replanned' "$TMP/serve.err"
}

# wait_pass K: waits up to LIMIT s for the K-th replanned line; 0 when it came.
wait_pass() {
	i=0
	while [ "$(passes)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -gt $((LIMIT * 10)) ] && return 1
		kill -0 "$SERVER" 2>/dev/null || die "transomd exited"
		sleep 0.1
	done
	return 0
}

# The K-th replanned line's field NAME.
field() {
	grep 'event=replanned' "$TMP/serve.err" | sed -n "${1}p" |
		sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}

# pass_time K: the K-th pass's seconds, extrapolated to every candidate when it was cut
# short; prints "seconds extrapolated(0|1) moved".
pass_time() {
	ms=$(field "$1" ms)
	n=$(field "$1" candidates)
	ex=$(field "$1" examined)
	fin=$(field "$1" finished)
	mv=$(field "$1" moved)
	if [ "$fin" = true ]; then
		echo "$ms" | awk -v m="$mv" '{ printf "%.3f 0 %s\n", $1 / 1000, m }'
	else
		echo "$ms $n $ex" | awk -v m="$mv" \
			'{ printf "%.3f 1 %s\n", ($3 > 0 ? $1 * $2 / $3 : 1e9) / 1000, m }'
	fi
}

# --- the scheduled changes -------------------------------------------------------------------
TOKEN=$("$BIN" token create --user grossi --role requester | tail -n 1) ||
	die "cannot create a token"
serve
scheduled_change "$TOKEN"
unserve

# make_changes N: copies $ORIG until there are N copies (CHG-900001 on), each booked on
# web-frontend at tomorrow 00:00 UTC + (k - 1) * 15 min (copy_changes, lib.sh).
HAVE=0
make_changes() {
	[ "$1" -le "$HAVE" ] && return 0
	copy_changes $((HAVE + 1)) "$1" || die "cannot copy changes"
	HAVE=$1
	psql_q -c "VACUUM ANALYZE records, bookings" || die "cannot vacuum"
}

echo "== re-plan: scheduled changes booked in SQL, one all-day window for every service"
echo "each row: $REPS repetitions; columns min, median, max; a pass over ${LIMIT} s is cut"
echo "and extrapolated from the changes it examined."

# --- pass cost -------------------------------------------------------------------------------
# pass_round N LABEL [window]: REPS samples of a SIGHUP pass with N changes.
pass_round() {
	: >"$TMP/p_s"
	: >"$TMP/p_x"
	: >"$TMP/p_mv"
	for rep in $(seq 1 "$REPS"); do
		serve
		k=1
		if wait_pass 1 && [ "$(field 1 finished)" = true ]; then
			if [ "${3:-}" = window ]; then
				EXDATES="$EXDATES $(date -u -d "+$((rep + 2)) days" +%Y%m%d)"
				all_day_windows
			fi
			kill -HUP "$SERVER"
			k=2
			wait_pass 2
		fi
		if [ "$(passes)" -ge "$k" ] && [ "$(field "$k" finished)" = true ]; then
			unserve
		else
			unserve
			echo "$DOWN" >>"$TMP/down"
			k=$(passes)
			[ "$k" -gt 0 ] || { tail -n 20 "$TMP/serve.err"; die "no re-plan was logged"; }
		fi
		set -- "$1" "$2" "${3:-}" $(pass_time "$k")
		echo "$4" >>"$TMP/p_s"
		echo "$5" >>"$TMP/p_x"
		echo "$6" >>"$TMP/p_mv"
		echo "  repetition $rep: $(field "$k" examined) of $(field "$k" candidates) changes" \
			"in $(field "$k" ms) ms, moved $(field "$k" moved)," \
			"finished $(field "$k" finished)"
		set -- "$1" "$2" "${3:-}"
	done
	note=""
	grep -q 1 "$TMP/p_x" && note="(extrap.)"
	row "$2" "$TMP/p_s" "%10.3f" "$note"
	row "  changes moved by the pass" "$TMP/p_mv" "%10.0f"
}

: >"$TMP/down"
printf "  %-44s %10s %10s %10s\n" "seconds" min median max
for n in $SIZES; do
	make_changes "$n"
	pass_round "$n" "re-plan pass, $n changes"
done
last=$(echo "$SIZES" | awk '{ print $NF }')
pass_round "$last" "one-window change, $last changes" window
EXDATES=""
all_day_windows

# --- idle CPU --------------------------------------------------------------------------------
# cpu_ticks PID...: utime + stime of the processes, in clock ticks.
cpu_ticks() {
	for p in "$@"; do
		cat "/proc/$p/stat" 2>/dev/null
	done | sed 's/^.*) //' | awk '{ t += $12 + $13 } END { print t + 0 }'
}
pg_pids() {
	echo "$PM"
	ps -o pid= --ppid "$PM"
}
make_changes "$IDLE_SIZE"
: >"$TMP/i_t"
: >"$TMP/i_p"
for rep in $(seq 1 "$REPS"); do
	serve
	wait_pass 1 || true
	t0=$(cpu_ticks "$SERVER")
	p0=$(cpu_ticks $(pg_pids))
	sleep "$IDLE"
	t1=$(cpu_ticks "$SERVER")
	p1=$(cpu_ticks $(pg_pids))
	echo "$t0 $t1 $HZ $IDLE" | awk '{ printf "%.3f\n", ($2 - $1) / $3 / $4 }' >>"$TMP/i_t"
	echo "$p0 $p1 $HZ $IDLE" | awk '{ printf "%.3f\n", ($2 - $1) / $3 / $4 }' >>"$TMP/i_p"
	echo "  repetition $rep: $(passes) passes logged by the end of the sample" \
		"(start-up pass finished: $(field 1 finished)); why:" \
		$(grep 'event=replanned' "$TMP/serve.err" | sed -n 's/.* why=\([^ ]*\).*/\1/p')
	unserve
done
echo
printf "  %-44s %10s %10s %10s\n" "idle, $IDLE_SIZE changes, cores over $IDLE s" min median max
row "transomd" "$TMP/i_t" "%10.3f"
row "PostgreSQL" "$TMP/i_p" "%10.3f"

# --- shutdown during a pass ------------------------------------------------------------------
make_changes "$last"
for rep in $(seq 1 "$REPS"); do
	serve
	# After the start-up pass, a reload starts another: SIGTERM as soon as it has begun.
	if wait_pass 1 && [ "$(field 1 finished)" = true ]; then
		kill -HUP "$SERVER"
		i=0
		while [ "$(grep -c 'event=replan_started' "$TMP/serve.err")" -lt 2 ] &&
			[ $i -lt 100 ]; do
			sleep 0.02
			i=$((i + 1))
		done
	fi
	unserve
	echo "$DOWN" >>"$TMP/down"
	echo "  repetition $rep: last pass examined $(field "$(passes)" examined) of" \
		"$(field "$(passes)" candidates), finished $(field "$(passes)" finished)"
done
echo
printf "  %-44s %10s %10s %10s\n" "shutdown, $last changes" min median max
row "SIGTERM -> exit during a pass, seconds" "$TMP/down" "%10.3f"
exit 0
