#!/bin/sh
# run.sh -- `make bench`: the write path through HTTP against PostgreSQL's own speed on the
# same SQL, each row a ratio against its baseline measured in the same run.
#
#   tests/bench/run.sh [BUILD]
#
# Rows: the scheduler core (bench_sched.c); CalDAV against Radicale (dav_bench.py);
# re-planning: pass cost, idle CPU and shutdown with scheduled changes (replan.sh);
# reads: GET of a change, of a page of changes and of the schedule against pgbench running
# the same SQL, with 1,000 and 10,000 changes (reads.sh);
# transitions (POST /v1/changes/{id}/transitions) against pgbench running the same SQL;
# POST /v1/changes of a normal change against a standard change and against pgbench
# running the normal create's SQL, on a table without history and again after 100,000
# generated records.  Every service/baseline pair is measured BENCH_REPS times (default
# 3), interleaved (the first of each pair alternates), and printed as min / median / max
# of the rates and of the ratios of each repetition.
#
# Environment (all optional):
#   BENCH_ONLY         the rows to run, among "sched dav replan streams reads transitions
#                      create lifecycle concurrency" (default all; the last two:
#                      tests/bench/lifecycle.sh)
#   BENCH_CONCURRENCY  N: transomd threads (so N database connections) and pgbench clients;
#                      default one per core (transomd's own default), at least 2, at most 8
#   BENCH_CONNECTIONS  HTTP keep-alive connections; default 4N.  More than N, because
#                      libmicrohttpd pins a connection to the thread that accepted it and
#                      often puts simultaneous connections on one thread (printed below)
#   BENCH_RECORDS      changes created and cycled through by the transitions (default 1000:
#                      a table big enough that PostgreSQL plans the primary-key lookups it
#                      would in use)
#   BENCH_HISTORY      records generated for the second create row (default 100000)
#   BENCH_REPS         repetitions of each pair (default 3)
#   BENCH_WARMUP       seconds before measuring each sample (default 2), BENCH_SECONDS
#                      measured (default 5)
#   BENCH_PGOPTIONS    PGOPTIONS of the pgbench sessions: default "-c jit=off", as
#                      transomd's own sessions are set (service/store/store.c); "" for a
#                      build whose sessions keep PostgreSQL's default
#   BENCH_KEEP         set: keep the temporary directory (logs, generated pgbench scripts)
#
# A throwaway PostgreSQL cluster lives in a temporary directory, removed on exit.  For the
# transitions, the service serves tests/bench/workflows: one change workflow toggling
# between states a and b, one outbox event per step (and the outbox event every write
# gets); one transition is fired with log_statement = all and the statements PostgreSQL
# saw are printed; tests/bench/transition.sql is that list for pgbench.  For the creates,
# it serves the shipped workflows and policies; one normal create is logged the same way
# and tests/bench/pgbench_from_log.py turns it into the pgbench script, so the baseline
# runs the SQL of the binary under test.  Each create sample also names the statement
# PostgreSQL spent most time in (pg_stat_statements), with its mean time: a sample far
# slower than its neighbours says where it went.  Exit status 0 whatever the speed; 1
# when a request failed or a run could not be made.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ONLY=${BENCH_ONLY:-sched dav replan streams reads transitions create lifecycle concurrency}
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# The scheduler core first: 10,000 and 20,000 changes over 200 services, and their ratio.
if want sched; then
	echo "== scheduler: plan 10k and 20k changes (tests/bench/bench_sched.c)"
	"$ROOT/$BUILD/tests/bench/bench_sched" || exit 1
fi
if want dav; then
	echo "== CalDAV: 10,000 events, Transom against Radicale (tests/bench/dav_bench.py)"
	/usr/bin/python3 "$ROOT/tests/bench/dav_bench.py" "$BUILD" || exit 1
fi
if want replan; then
	echo
	"$ROOT/tests/bench/replan.sh" "$BUILD" || exit 1
fi
if want streams; then # 1,000 SSE clients, 1,000 long-polls, RSS (tests/bench/streams.sh)
	echo
	"$ROOT/tests/bench/streams.sh" "$BUILD" || exit 1
fi
if want reads; then
	echo
	"$ROOT/tests/bench/reads.sh" "$BUILD" || exit 1
fi
LC_ROWS=""
for r in lifecycle concurrency; do want $r && LC_ROWS="$LC_ROWS $r"; done
if [ -n "$LC_ROWS" ]; then
	echo
	"$ROOT/tests/bench/lifecycle.sh" "$BUILD" "$LC_ROWS" || exit 1
fi
want transitions || want create || exit 0
PG=$ROOT/deploy/pg.sh
BIN=$ROOT/$BUILD/transomd
CLIENT=$ROOT/$BUILD/tests/bench/bench_transitions
CORES=$(nproc)
N=${BENCH_CONCURRENCY:-$((CORES < 2 ? 2 : CORES > 8 ? 8 : CORES))}
CONNECTIONS=${BENCH_CONNECTIONS:-$((4 * N))}
RECORDS=${BENCH_RECORDS:-1000}
HISTORY=${BENCH_HISTORY:-100000}
REPS=${BENCH_REPS:-3}
WARMUP=${BENCH_WARMUP:-2}
SECONDS_=${BENCH_SECONDS:-5}
PGOPTIONS=${BENCH_PGOPTIONS--c jit=off}
export PGOPTIONS

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r | head -n 1)
for f in "$BIN" "$CLIENT" "$PGBIN/pgbench" "$PGBIN/psql"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make bench builds it)" >&2; exit 1; }
done
[ "$RECORDS" -ge "$CONNECTIONS" ] && [ "$RECORDS" -ge "$N" ] ||
	{ echo "bench: BENCH_RECORDS must be at least the connections" >&2; exit 1; }
[ "$REPS" -ge 1 ] || { echo "bench: BENCH_REPS must be at least 1" >&2; exit 1; }

TMP=$(mktemp -d /tmp/transom-bench.XXXXXX)
chmod 755 "$TMP"
SERVER=""
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$PG" stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${BENCH_KEEP:-}" ] && { echo "kept $TMP"; return; }
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
	psql_q -c "VACUUM ANALYZE records, record_links, change_history, outbox, audit_events, audit_head, events, timers" \
		-c CHECKPOINT -c "SELECT pg_stat_statements_reset()" >/dev/null || die "cannot vacuum"
}

# The statement PostgreSQL spent most time in since settle(): its mean time and the start
# of its text (a sample far slower than its neighbours says where the time went).
costliest() {
	psql_q -c "SELECT round(mean_exec_time::numeric, 2) || ' ms x ' || calls || ': ' ||
		left(regexp_replace(query, '\s+', ' ', 'g'), 60) FROM pg_stat_statements
		WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 1"
}

# Starts transomd (environment as given) and sets SERVER and URL.
serve() {
	env "$@" TRANSOM_THREADS="$N" TRANSOM_LISTEN=127.0.0.1:0 "$BIN" serve \
		>"$TMP/serve.out" 2>"$TMP/serve.err" &
	SERVER=$!
	URL=""
	for _ in $(seq 1 100); do
		URL=$(sed -n 's/^transomd: listening on \(http:[^ ]*\).*/\1/p' "$TMP/serve.out")
		[ -n "$URL" ] && break
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$URL" ] || { cat "$TMP/serve.err" >&2; die "transomd did not start"; }
}

unserve() {
	kill "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	SERVER=""
}

# log_statement = all around "$@"; the log lines it added are left in $TMP/capture.log.
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

# Prints backend PID's transaction from $TMP/capture.log, shortened.
show_tx() {
	grep -F "[$1] " "$TMP/capture.log" | grep -v 'SET client_min_messages' |
		sed -n '/BEGIN/,/COMMIT/p' |
		sed -e 's/^.*\] LOG:  /  /' -e 's/^.*\] DETAIL:  parameters: /      with /' |
		sed -E -e '/^      with /s/^(.{96}).+/\1 .../' -e 's/^(.{150}).+/\1 .../'
}

# One HTTP sample: bench_transitions "$@"; its rate goes to stdout ("" when it failed).
http_sample() {
	BENCH_SERVER_PID=$SERVER BENCH_PG_PID=$PM "$CLIENT" "$URL" "$TOKEN" "$@" \
		>"$TMP/http.out" 2>"$TMP/http.err" || {
		cat "$TMP/http.out" "$TMP/http.err" >&2
		return 1
	}
	sed -n 's/^http_tps=//p' "$TMP/http.out"
}

# One pgbench sample (warm-up, then measured): its rate on stdout.  The CPU each side
# spent per transaction in the measured part goes to $TMP/pgbench.cpu, as the HTTP client
# prints it for its samples: pgbench itself, transomd (idle but for its LISTEN, which
# hears every NOTIFY) and PostgreSQL.
pgbench_sample() {
	"$@" -T "$WARMUP" >"$TMP/pgbench.out" 2>&1 || { cat "$TMP/pgbench.out" >&2; return 1; }
	c0=$("$CLIENT" - - cpu "$PM") s0=$("$CLIENT" - - cpu "${SERVER:-0}")
	# (a subshell's `times`: its children's CPU, i.e. pgbench's, on its second line)
	("$@" -T "$SECONDS_" >"$TMP/pgbench.out" 2>&1 && times >"$TMP/pgbench.times") ||
		{ cat "$TMP/pgbench.out" >&2; return 1; }
	sed -n '2s/\([0-9]*\)m\([0-9.]*\)s/\1 \2/gp' "$TMP/pgbench.times" |
		awk '{ print $1 * 60 + $2, $3 * 60 + $4 }' >"$TMP/pgbench.time"
	c1=$("$CLIENT" - - cpu "$PM") s1=$("$CLIENT" - - cpu "${SERVER:-0}")
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' \
		"$TMP/pgbench.out")
	# fields: postgres and machine before, after; transomd and machine before, after;
	# transactions; pgbench user and system seconds
	echo "$c0 $c1 $s0 $s1 ${n:-0} $(cat "$TMP/pgbench.time")" | awk '$9 > 0 {
		printf "pgbench=%.0f server=%.0f postgres=%.0f\n", ($10 + $11) * 1e6 / $9,
			($7 - $5) * 1e6 / $9, ($3 - $1) * 1e6 / $9 }' >"$TMP/pgbench.cpu"
	sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TMP/pgbench.out"
}

# min / median / max of the numbers on stdin, as "min med max".
mmm() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", v[1], m, v[NR] }'
}

# row LABEL FILE [FORMAT]: the min / median / max of FILE's numbers, one line.
row() {
	set -- "$1" "$2" "${3:-%10.1f}" "$(mmm <"$2")"
	echo "$4" | awk -v l="$1" -v f="$3" '{ printf "  %-44s " f " " f " " f "\n", l, $1, $2, $3 }'
}

# cpu_medians FILE: FILE's lines of name=value (the CPU splits of the samples) as one
# line, each name with the median of its values.
cpu_medians() {
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); n = ++cnt[kv[1]]
		v[kv[1], n] = kv[2]; if (n == 1) order[++names] = kv[1] } }
	END { for (k = 1; k <= names; k++) { name = order[k]; n = cnt[name]
		for (i = 1; i <= n; i++) a[i] = v[name, i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		printf "%s%s=%.0f", (k > 1 ? " " : ""), name, m }
		print "" }' "$1"
}

# ratios A B OUT: the ratio of each repetition, line by line.
ratios() {
	paste "$1" "$2" | awk '{ printf "%.3f\n", $1 / $2 }' >"$3"
}

# --- the database, the service, its data ---------------------------------------------------
{ "$PG" init "$TMP/pg" "$TMP/sock" &&
	echo "shared_preload_libraries = 'pg_stat_statements'" >>"$TMP/pg/postgresql.conf" &&
	"$PG" start --no-fsync "$TMP/pg" "$TMP/sock" &&
	"$PG" createdb "$TMP/sock" bench >/dev/null; } || die "cannot start PostgreSQL"
psql_q -c "CREATE EXTENSION pg_stat_statements" >/dev/null || die "cannot load pg_stat_statements"
PM=$(head -n 1 "$TMP/pg/postmaster.pid")
# settle() vacuums before each sample; autovacuum would land in one run or another at random.
psql_q -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null ||
	die "cannot configure PostgreSQL"
TRANSOM_DATABASE_URL=$("$PG" url "$TMP/sock" bench)
TRANSOM_LOG_LEVEL=warn
export TRANSOM_DATABASE_URL TRANSOM_LOG_LEVEL
"$BIN" migrate >/dev/null || die "cannot migrate"
echo "Concurrency $N (transomd threads = database connections = pgbench clients), $CORES cores;"
echo "each sample ${SECONDS_} s measured after ${WARMUP} s warm-up; $REPS repetitions, interleaved."
echo "Columns: min, median, max over the repetitions."

# --- transitions ---------------------------------------------------------------------------
if want transitions; then
	echo
	echo "== transitions through HTTP against pgbench running the same SQL"
	TOKEN=$("$BIN" token create --user bench --role requester) || die "cannot create a token"
	serve TRANSOM_WORKFLOWS_DIR="$ROOT/tests/bench/workflows"
	"$CLIENT" "$URL" "$TOKEN" create "$RECORDS" || die "cannot create the changes"

	# One transition as PostgreSQL saw it: only the backend that locked the record is kept
	# (transomd's timer and LISTEN connections run their own statements meanwhile).
	flipflop() {
		for ev in flip flop; do
			"$CLIENT" "$URL" "$TOKEN" fire CHG-1 $ev >"$TMP/fire.out" ||
				{ cat "$TMP/fire.out" >&2; return 1; }
		done
	}
	logged flipflop || die "cannot fire flip and flop"
	pid=$(sed -n 's/.*\[\([0-9]*\)\] LOG:  execute record_get_lock.*/\1/p' \
		"$TMP/capture.log" | head -n 1)
	echo "One transition (POST /v1/changes/CHG-1/transitions, flip) as PostgreSQL logged it:"
	[ -n "$pid" ] && show_tx "$pid" | sed -n '1,/COMMIT/p' || echo "  (not found in the log)"
	echo

	# Values transomd computes per request (hashes, JSON), in the shape it sends them.
	now_ms=$(date +%s%3N)
	at=$(date -u '+%Y-%m-%d %H:%M:%S.%3N+00')
	iso=$(date -u '+%Y-%m-%dT%H:%M:%S.%3NZ')
	rid=benchRequest0001
	content="{\"action\":\"transitioned\",\"actor\":\"bench\",\"at\":\"$iso\",\"detail\":{\
\"actor\":\"bench\",\"auto\":false,\"changed\":[\"state\"],\"event\":\"flip\",\"from\":\"a\",\
\"to\":\"b\"},\"record\":\"CHG-10\",\"request_id\":\"$rid\"}"
	outbox="{\"data\": {}, \"kind\": \"change\", \"type\": \"emit\", \"event\": \
\"change.flipped\", \"state\": \"a\", \"record\": \"CHG-10\"}"
	notify="{\"at\": \"$iso\", \"id\": \"CHG-10\", \"from\": \"a\", \"kind\": \"change\", \
\"type\": \"record.transitioned\", \"actor\": \"bench\", \"event\": \"flip\", \"state\": \"b\", \
\"services\": []}"
	pgbench_transitions() {
		"$PGBIN/pgbench" -h "$TMP/sock" -U transom -n -M prepared -c "$N" -j "$N" \
			-f tests/bench/transition.sql -D nclients="$N" -D nrecords="$RECORDS" \
			-D sa=a -D sb=b -D topic_a=change.flopped -D topic_b=change.flipped \
			-D state_changed=true -D base_ms="$now_ms" -D tick=0 -D at="$at" \
			-D actor=bench -D action=transitioned -D request_id="$rid" \
			-D content="$content" -D outbox_payload="$outbox" -D notify_payload="$notify" \
			"$@" bench
	}
	# transomd stays up, idle, through the pgbench samples: its event hub LISTENs, as every
	# replica does in production, so the baseline's NOTIFY is delivered to a listener too.
	: >"$TMP/t_http"
	: >"$TMP/t_pg"
	: >"$TMP/t_http_cpu"
	: >"$TMP/t_pg_cpu"
	for rep in $(seq 1 "$REPS"); do
		for side in $(if [ $((rep % 2)) -eq 1 ]; then echo http pg; else echo pg http; fi); do
			settle
			if [ "$side" = http ]; then
				v=$(http_sample run "$CONNECTIONS" "$RECORDS" "$WARMUP" "$SECONDS_") ||
					die "the HTTP run had errors"
				echo "$v" >>"$TMP/t_http"
				cpu=$(sed -n 's/^cpu_us_per_op //p' "$TMP/http.out")
				echo "$cpu" >>"$TMP/t_http_cpu"
			else
				v=$(pgbench_sample pgbench_transitions) || die "pgbench failed"
				echo "$v" >>"$TMP/t_pg"
				cpu=$(cat "$TMP/pgbench.cpu")
				echo "$cpu" >>"$TMP/t_pg_cpu"
			fi
			echo "  repetition $rep: $side $v/s (CPU µs per transition: $cpu)"
		done
	done
	ratios "$TMP/t_http" "$TMP/t_pg" "$TMP/t_ratio"
	echo
	printf "  %-44s %10s %10s %10s\n" "transitions per second" min median max
	row "HTTP (transomd)" "$TMP/t_http"
	row "pgbench, same SQL (baseline)" "$TMP/t_pg"
	row "ratio HTTP / pgbench (goal >= 0.8)" "$TMP/t_ratio" "%10.2f"
	# What each side spends per transition, whatever else runs on the machine: with the
	# CPU the only limit, the ratio could not exceed the pgbench side's sum over the HTTP
	# side's (transomd's LISTEN hears the baseline's NOTIFYs too: it counts on both).
	hcpu=$(cpu_medians "$TMP/t_http_cpu")
	pcpu=$(cpu_medians "$TMP/t_pg_cpu")
	echo "  CPU µs per transition (medians), HTTP:    $hcpu"
	echo "  CPU µs per transition (medians), pgbench: $pcpu"
	awk -v h="$hcpu" -v p="$pcpu" 'function sum(line, names,   n, f, kv, i, t) {
		n = split(line, f, " ")
		for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (index(names, " " kv[1] " ")) t += kv[2] }
		return t }
	BEGIN { a = sum(h, " client server postgres "); b = sum(p, " pgbench server postgres ")
		if (a > 0) printf "  CPU-bound ceiling of the ratio: %.0f / %.0f µs = %.2f\n", b, a, b / a }'
	unserve
fi

# --- creates -------------------------------------------------------------------------------
# create_round LABEL: REPS interleaved samples of a normal create, a standard create (both
# HTTP) and the normal create's SQL in pgbench, then their rows.
NORMAL='{"title": "bench normal", "type": "normal", "services": ["payments"], "duration": "PT1H"}'
STANDARD='{"title": "bench standard", "type": "standard", "services": ["payments"], "duration": "PT1H"}'
pgbench_create() {
	xargs -0 -a "$TMP/normal.defs" "$PGBIN/pgbench" -h "$TMP/sock" -U transom -n -M prepared \
		-c "$N" -j "$N" -f "$TMP/normal.sql" "$@" bench
}
create_round() {
	label=$1
	: >"$TMP/c_normal"
	: >"$TMP/c_standard"
	: >"$TMP/c_pg"
	set -- normal standard pg
	for rep in $(seq 1 "$REPS"); do
		for side in "$@"; do
			settle
			case $side in
			normal | standard)
				body=$NORMAL
				[ "$side" = standard ] && body=$STANDARD
				v=$(http_sample post "$CONNECTIONS" /v1/changes "$body" "$WARMUP" \
					"$SECONDS_") || die "the HTTP run had errors"
				;;
			pg) v=$(pgbench_sample pgbench_create) || die "pgbench failed" ;;
			esac
			echo "$v" >>"$TMP/c_$side"
			echo "  repetition $rep: $side $v/s; most PostgreSQL time: $(costliest)"
		done
		set -- "$2" "$3" "$1" # the next repetition starts with the next side
	done
	ratios "$TMP/c_normal" "$TMP/c_standard" "$TMP/c_ns"
	ratios "$TMP/c_normal" "$TMP/c_pg" "$TMP/c_np"
	echo
	printf "  %-44s %10s %10s %10s\n" "creates per second, $label" min median max
	row "POST /v1/changes, normal (transomd)" "$TMP/c_normal"
	row "POST /v1/changes, standard (transomd)" "$TMP/c_standard"
	row "pgbench, the normal create's SQL" "$TMP/c_pg"
	row "ratio normal / standard (goal >= 0.5)" "$TMP/c_ns" "%10.3f"
	row "ratio normal / pgbench" "$TMP/c_np" "%10.3f"
}

if want create; then
	echo
	echo "== POST /v1/changes: a normal change against a standard one and against pgbench"
	TOKEN=$("$BIN" token create --user grossi --role requester | tail -n 1) ||
		die "cannot create a token"
	serve
	post_one() {
		"$CLIENT" "$URL" "$TOKEN" post 1 /v1/changes "$NORMAL" 0 1 >/dev/null
	}
	logged post_one || die "cannot create a normal change"
	pid=$(sed -n 's/.*\[\([0-9]*\)\] LOG:  execute record_insert.*/\1/p' \
		"$TMP/capture.log" | head -n 1)
	[ -n "$pid" ] || die "no normal create in the log"
	echo "One normal create (POST /v1/changes) as PostgreSQL logged it:"
	show_tx "$pid" | sed -n '1,/COMMIT/p'
	/usr/bin/python3 tests/bench/pgbench_from_log.py "$TMP/capture.log" "$pid" \
		"$TMP/normal.sql" "$TMP/normal.defs" >/dev/null || die "cannot make the pgbench script"
	echo
	echo "-- without history (only the drafts the samples create)"
	create_round "no history"

	# A history made in SQL, not through the API: HISTORY records (CHG- and INC-10000001
	# on, far above the ids the service draws) over the last 365 days,
	# five changes for each incident; the changes over the catalog's 13 services (one in
	# three names two), 4 templates or none, 14 requesters; closed, failed, in review,
	# drafts, scheduled and cancelled; one in four failed; each incident caused_by a change.
	# The inserts go through the triggers of migration 0023 like the service's writes, so
	# the risk-history counters (change_history) hold this history too.
	echo
	echo "-- after generating $HISTORY records of history"
	psql_q -v n="$HISTORY" <<'SQL' || die "cannot generate the history"
WITH svc AS (SELECT ARRAY['web-frontend', 'mobile-api', 'api-gateway', 'payments',
  'payments-db', 'ledger', 'ledger-db', 'identity', 'notifications', 'search', 'reporting',
  'data-warehouse', 'message-bus'] AS a),
 ppl AS (SELECT ARRAY['amartin', 'ekowalski', 'bokafor', 'grossi', 'cnguyen', 'fdiallo',
  'dschmidt', 'lgarcia', 'mpetrov', 'hsato', 'iobrien', 'jlarsen', 'kmensah', 'nhaddad'] AS a),
 g AS (SELECT i, CASE WHEN i % 6 = 5 THEN 'incident' ELSE 'change' END AS kind,
  now() - ((i * 7919) % (365 * 86400)) * interval '1 second' AS at,
  CASE WHEN i % 3 = 0 THEN ARRAY[svc.a[i % 13 + 1], svc.a[(i + 5) % 13 + 1]]
   ELSE ARRAY[svc.a[i % 13 + 1]] END AS services,
  ppl.a[i % 14 + 1] AS requester FROM generate_series(1, :n) i, svc, ppl)
INSERT INTO records (id, kind, workflow, workflow_version, state, data, services, type,
  requester, created_at, updated_at, state_entered_at)
SELECT CASE WHEN kind = 'incident' THEN 'INC-' ELSE 'CHG-' END || (10000000 + i),
  kind, 'history', '1', state, data || jsonb_build_object('state', state), services,
  data->>'type', requester, at, at, at
FROM (SELECT g.*, CASE WHEN kind = 'incident' THEN 'closed' ELSE (ARRAY['closed', 'closed',
  'closed', 'failed', 'review', 'draft', 'scheduled', 'cancelled'])[i % 8 + 1] END AS state,
  jsonb_strip_nulls(jsonb_build_object('title', 'history ' || i, 'kind', kind,
   'type', CASE WHEN i % 4 = 0 THEN 'standard' ELSE 'normal' END,
   'template', (ARRAY['tls-certificate-renewal', 'search-index-rebuild',
    'reporting-dashboard-release', 'postgres-minor-patch', NULL])[i % 5 + 1],
   'services', to_jsonb(services), 'requester', requester,
   'result', CASE WHEN i % 4 = 1 THEN 'failed' ELSE 'successful' END)) AS data
  FROM g) h;
INSERT INTO record_links (from_id, rel, to_id)
SELECT 'INC-' || (10000000 + i), 'caused_by', 'CHG-' || (10000000 + i - 1)
  FROM generate_series(1, :n) i WHERE i % 6 = 5;
SQL
	echo "  $(psql_q -c "SELECT count(*) FROM records") records, of which" \
		"$(psql_q -c "SELECT count(*) FROM records WHERE kind = 'change' AND state IN
			('closed', 'failed', 'review')") changes carried out;" \
		"$(psql_q -c "SELECT count(*) || ' risk-history buckets holding ' ||
			coalesce(sum(n) FILTER (WHERE kind = 'requester'), 0) || ' changes'
			FROM change_history") (filled by the triggers of migration 0023)"
	create_round "$HISTORY records of history"
	unserve
fi
exit 0
