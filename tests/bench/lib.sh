# lib.sh -- what the benchmark scripts share (replan.sh, streams.sh, reads.sh, lifecycle.sh):
# the PostgreSQL binaries, a temporary directory removed on exit, a throwaway cluster, a
# transomd to measure, and the min / median / max rows.  POSIX sh; sourced, never run:
#
#   BUILD=${1:-build}
#   ROOT=$(cd "$(dirname "$0")/../.." && pwd)
#   cd "$ROOT"
#   BIN=$ROOT/$BUILD/transomd
#   . "$ROOT/tests/bench/lib.sh"
#
# Reads ROOT (the checkout) when sourced, BIN (the transomd under test) in serve(), and
# BENCH_KEEP (set: the temporary directory is kept) on exit; its functions use f, d and _
# as scratch variables.  Sets when sourced:
#   PG       deploy/pg.sh, which makes and runs the throwaway clusters;
#   PGBIN    the newest /usr/lib/postgresql/*/bin (psql, pgbench);
#   SERVE_WAIT  10: how many seconds serve() waits for transomd to listen (a script may raise it);
#   SERVE_ENV   "": NAME=VALUE words (split on blanks) every serve() gives transomd.
# Functions:
#   need FILE...          exits 1 (message on stderr) unless every FILE is executable;
#   bench_tmp NAME        TMP=/tmp/transom-NAME.XXXXXX, mode 755, SERVER=""; on exit the
#                         server still running is killed, the cluster stopped, TMP removed
#                         (kept with BENCH_KEEP, "kept TMP" printed); INT / TERM exit 130;
#   die MESSAGE           "bench: MESSAGE" and the last lines of $TMP/serve.err on stderr, exit 1;
#   psql_q ARGS...        psql on the cluster's database bench, quiet, unaligned, stop on error;
#   pg_cluster [no-autovacuum]  a cluster in $TMP/pg (socket $TMP/sock, no fsync) with the
#                         database bench; sets PM (the postmaster's PID) and exports
#                         TRANSOM_DATABASE_URL; no-autovacuum turns autovacuum off (for scripts
#                         that vacuum before each sample themselves);
#   serve [NAME=VALUE...] starts "$BIN serve" on 127.0.0.1, an ephemeral port, with SERVE_ENV
#                         and the arguments in its environment, output in $TMP/serve.out and
#                         $TMP/serve.err (emptied first); sets SERVER (its PID) and URL;
#   unserve               SIGTERM to SERVER, waits for it, SERVER="";
#   mmm                   min / median / max of the numbers on stdin, as "min med max";
#   row LABEL FILE [FORMAT] [NOTE]  one line: LABEL and the min / median / max of FILE's
#                         numbers (FORMAT, default %10.1f); with a NOTE, or with ROW_NOTES set
#                         (replan.sh and streams.sh: their rows always end " NOTE", NOTE
#                         possibly empty), a blank and NOTE follow;
#   ratios A B OUT        OUT: line by line, A's number / B's, %.3f.
# The scheduled changes of replan.sh and streams.sh (and lifecycle.sh's windows):
#   all_day_windows       $TMP/policies/windows.ics: one maintenance window open all day,
#                         every day, for every service (capacity 100,000, UTC, UID
#                         bench-open@transom.example), but on the days of EXDATES (YYYYMMDD
#                         words; unset: none); written aside and moved in, so that a
#                         running transomd reads a whole file;
#   no_freezes            $TMP/policies/freezes.ics: a calendar without events;
#   scheduled_change TOKEN  with a running transomd: TOKEN (a requester) creates a standard
#                         change on web-frontend (template tls-certificate-renewal) and
#                         submits it; it must be `scheduled`; sets ORIG (its id); responses in
#                         $TMP/created.json and $TMP/submitted.json;
#   copy_changes FROM TO  copies ORIG in SQL as CHG-(900000 + k), k = FROM .. TO, each booked
#                         on web-frontend at tomorrow 00:00 UTC + (k - 1) * 15 min (96 a day)
#                         in the all-day window; status 0 when psql succeeded.

PG=$ROOT/deploy/pg.sh
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r | head -n 1)
SERVE_WAIT=10
SERVE_ENV=""

need() {
	for f in "$@"; do
		[ -x "$f" ] || { echo "bench: $f is missing (make bench builds it)" >&2; exit 1; }
	done
}

bench_tmp() {
	TMP=$(mktemp -d "/tmp/transom-$1.XXXXXX")
	chmod 755 "$TMP"
	SERVER=""
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$PG" stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${BENCH_KEEP:-}" ] && { echo "kept $TMP"; return; }
	rm -rf "$TMP"
}

die() {
	echo "bench: $*" >&2
	[ -f "$TMP/serve.err" ] && tail -n 5 "$TMP/serve.err" >&2
	exit 1
}

psql_q() {
	"$PGBIN/psql" -h "$TMP/sock" -U transom -d bench -qAtX -v ON_ERROR_STOP=1 "$@"
}

pg_cluster() {
	case ${1:-} in
	"" | no-autovacuum) ;;
	*) die "pg_cluster: unknown option $1" ;;
	esac
	{ "$PG" init "$TMP/pg" "$TMP/sock" && "$PG" start --no-fsync "$TMP/pg" "$TMP/sock" &&
		"$PG" createdb "$TMP/sock" bench >/dev/null; } || die "cannot start PostgreSQL"
	# shellcheck disable=SC2034 # PM is read by the scripts
	PM=$(head -n 1 "$TMP/pg/postmaster.pid")
	if [ "${1:-}" = no-autovacuum ]; then
		psql_q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null ||
			die "cannot configure PostgreSQL"
	fi
	TRANSOM_DATABASE_URL=$("$PG" url "$TMP/sock" bench)
	export TRANSOM_DATABASE_URL
}

serve() {
	: >"$TMP/serve.err"
	: >"$TMP/serve.out"
	# shellcheck disable=SC2086 # SERVE_ENV is a list of words
	env $SERVE_ENV "$@" TRANSOM_LISTEN=127.0.0.1:0 "$BIN" serve \
		>"$TMP/serve.out" 2>"$TMP/serve.err" &
	SERVER=$!
	URL=$(listen_url "$SERVER" "$TMP/serve.out") || die "transomd did not start"
}

# listen_url PID FILE: the URL of the "listening on http://..." line that process PID
# writes to FILE, once there (up to SERVE_WAIT seconds); status 1 when PID ended first or
# the time ran out.
listen_url() {
	for _ in $(seq 1 $((SERVE_WAIT * 10))); do
		u=$(sed -n 's/^.*listening on \(http:[^ ]*\).*/\1/p' "$2")
		[ -n "$u" ] && echo "$u" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

unserve() {
	kill -TERM "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	SERVER=""
}

mmm() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", v[1], m, v[NR] }'
}

row() {
	if [ $# -ge 4 ] || [ -n "${ROW_NOTES:-}" ]; then
		set -- "$1" "$2" "${3:-%10.1f}" " ${4:-}" "$(mmm <"$2")"
	else
		set -- "$1" "$2" "${3:-%10.1f}" "" "$(mmm <"$2")"
	fi
	echo "$5" | awk -v l="$1" -v f="$3" -v n="$4" \
		'{ printf "  %-44s " f " " f " " f "%s\n", l, $1, $2, $3, n }'
}

ratios() {
	paste "$1" "$2" | awk '{ printf "%.3f\n", $1 / $2 }' >"$3"
}

all_day_windows() {
	{
		printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//bench//EN\r\n'
		printf 'BEGIN:VEVENT\r\nUID:bench-open@transom.example\r\n'
		printf 'DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\n'
		printf 'DURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n'
		for d in ${EXDATES:-}; do printf 'EXDATE:%sT000000Z\r\n' "$d"; done
		printf 'SUMMARY:Bench window (all day)\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n'
		printf 'X-TRANSOM-SERVICES:*\r\nX-TRANSOM-CAPACITY:100000\r\n'
		printf 'END:VEVENT\r\nEND:VCALENDAR\r\n'
	} >"$TMP/policies/windows.ics.new" && mv "$TMP/policies/windows.ics.new" \
		"$TMP/policies/windows.ics"
}

no_freezes() {
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//bench//EN\r\nEND:VCALENDAR\r\n' \
		>"$TMP/policies/freezes.ics"
}

scheduled_change() {
	curl -sf -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-X POST "$URL/v1/changes" -d '{"title": "Renew the edge certificate",
  "type": "standard", "services": ["web-frontend"], "duration": "PT15M",
  "template": "tls-certificate-renewal"}' >"$TMP/created.json" || die "cannot create a change"
	ORIG=$(jq -r .id "$TMP/created.json")
	curl -sf -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		-X POST "$URL/v1/changes/$ORIG/transitions" -d '{"event": "submit"}' \
		>"$TMP/submitted.json" || die "cannot submit $ORIG"
	[ "$(jq -r .state "$TMP/submitted.json")" = scheduled ] ||
		die "$ORIG is $(jq -r .state "$TMP/submitted.json"), not scheduled"
}

copy_changes() {
	psql_q -v orig="$ORIG" -v from="$1" -v to="$2" <<'SQL'
CREATE TEMP TABLE slots AS
SELECT g, 'CHG-' || (900000 + g) AS id,
       date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day'
         + (g - 1) * interval '15 minutes' AS s
  FROM generate_series(:from, :to) g;
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
SQL
}
