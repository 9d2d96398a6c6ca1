#!/bin/sh
# test_security_embedded.sh -- the embedded database of `make run` (deploy/run.sh and
# deploy/pg.sh): closed to other local accounts, crash-safe, restarted around crashes,
# and pg.sh works with relative paths.  Run by tests/run.sh (TRANSOM_TEST_BIN,
# TRANSOM_TEST_TMP); TRANSOM_TEST_DEPLOY may point at another deploy/ to try an old one.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEPLOY=${TRANSOM_TEST_DEPLOY:-$ROOT/deploy}
BIN=${TRANSOM_TEST_BIN:-$ROOT/build/transomd}
T=$(mktemp -d "${TRANSOM_TEST_TMP:-/tmp}/sec.XXXXXX")
chmod 755 "$T"
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r | head -n 1)/psql
passed=0
failed=0
runpid=""

ok() { echo "ok   test_security_embedded/$1"; passed=$((passed + 1)); }
fail() { echo "FAIL test_security_embedded/$1: $2"; failed=$((failed + 1)); }
skip() { echo "skip test_security_embedded/$1: $2"; }

cleanup() {
	[ -n "$runpid" ] && kill -TERM "$runpid" 2>/dev/null && sleep 2
	"$DEPLOY/pg.sh" stop "$T/var/pg" >/dev/null 2>&1
	"$DEPLOY/pg.sh" stop "$T/rel/pg" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

# wait_for PATTERN FILE SECONDS: true once FILE has a line matching PATTERN.
wait_for() {
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# child_named PID NAME: the first child process of PID called NAME (from /proc: procps
# may be missing on a minimal machine).
child_named() {
	for st in /proc/[0-9]*/stat; do
		set -- "$1" "$2" $(cat "$st" 2>/dev/null)
		[ "${6:-}" = "$1" ] && [ "${4:-}" = "($2)" ] && { echo "$3"; return 0; }
	done
	return 1
}

# --- make run: a private cluster under TRANSOM_VAR_DIR, served on a free port ---------
mkdir -p "$T/var"
(cd "$ROOT" && TRANSOM_VAR_DIR=$T/var TRANSOM_LISTEN=127.0.0.1:0 TRANSOM_LOG_LEVEL=warn \
	TRANSOM_DATABASE_URL= exec "$DEPLOY/run.sh" "$BIN") >"$T/run.out" 2>"$T/run.err" &
runpid=$!
if ! wait_for "listening on http://" "$T/run.out" 90; then
	fail make_run_starts "no listening line; stderr: $(tail -n 5 "$T/run.err")"
	echo "$passed passed, $failed failed"
	exit 1
fi
SOCK=$T/var/run
OWNER_URL="host=$SOCK dbname=transom user=transom"

# fsync stays on for the database people run for real.
v=$("$PSQL" -X -Atc "SHOW fsync" "$OWNER_URL" 2>&1)
if [ "$v" = on ]; then ok fsync_on_in_make_run_cluster; else
	fail fsync_on_in_make_run_cluster "SHOW fsync said '$v'"; fi

# No trust anywhere in the access rules.
if [ ! -s "$T/var/pg/pg_hba.conf" ]; then
	fail no_trust_auth "no $T/var/pg/pg_hba.conf"
elif grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$T/var/pg/pg_hba.conf"; then
	fail no_trust_auth "pg_hba.conf has a trust line: $(grep -v '^#' "$T/var/pg/pg_hba.conf")"
else ok no_trust_auth; fi

# Another local account cannot connect: not as transom (a superuser that can run
# programs with COPY ... FROM PROGRAM), not as the serving role.
if [ "$(id -u)" != 0 ]; then
	skip other_local_user_cannot_connect "needs root to run psql as nobody (runuser)"
	skip peer_refuses_other_user_even_with_socket_reachable "needs root"
else
	bad=""
	for role in transom transom_app; do
		if out=$(runuser -u nobody -- "$PSQL" -X -Atc "SELECT current_user" \
			"host=$SOCK dbname=transom user=$role" 2>&1); then
			bad="$bad nobody logged in as $role ($out);"
		fi
	done
	mode=$(stat -c %a "$SOCK")
	[ "$mode" = 700 ] || bad="$bad socket directory mode $mode;"
	if [ -z "$bad" ]; then ok other_local_user_cannot_connect; else
		fail other_local_user_cannot_connect "$bad"; fi
	# Second layer: even with the directory opened up, peer authentication refuses.
	chmod 755 "$SOCK"
	chmod 777 "$SOCK/.s.PGSQL.5432"
	out=$(runuser -u nobody -- "$PSQL" -X -Atc "SELECT 1" "host=$SOCK dbname=transom \
user=transom" 2>&1)
	rc=$?
	chmod 700 "$SOCK" "$SOCK/.s.PGSQL.5432"
	if [ $rc -ne 0 ] && echo "$out" | grep -q "authentication failed"; then
		ok peer_refuses_other_user_even_with_socket_reachable
	else
		fail peer_refuses_other_user_even_with_socket_reachable "rc=$rc: $out"
	fi
fi

# The key file is the owner's alone.
mode=$(stat -c %a "$T/var/audit.key" 2>/dev/null)
if [ "$mode" = 600 ]; then ok audit_key_is_mode_0600; else
	fail audit_key_is_mode_0600 "mode '$mode'"; fi

# A crash of transomd: run.sh says why, keeps the database up and starts it again.
url=$(grep -o 'http://[0-9.:]*' "$T/run.out" | tail -n 1)
child=$(child_named "$runpid" transomd)
if [ -z "$child" ]; then
	fail crashed_transomd_is_restarted "no transomd child of run.sh"
else
	kill -KILL "$child"
	i=0 # wait for the second "listening" line: the restarted transomd
	while [ $i -lt 150 ] && [ "$(grep -c 'listening on http://' "$T/run.out")" -lt 2 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	url=$(grep -o 'http://[0-9.:]*' "$T/run.out" | tail -n 1)
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
	if [ "$(grep -c 'listening on http://' "$T/run.out")" -lt 2 ]; then
		fail crashed_transomd_is_restarted "not restarted; stderr: $(tail -n 3 "$T/run.err")"
	elif ! grep -q "killed by signal 9.*restarting in" "$T/run.err"; then
		fail crashed_transomd_is_restarted "no reason printed: $(tail -n 3 "$T/run.err")"
	elif [ "$code" != 200 ]; then
		fail crashed_transomd_is_restarted "GET /healthz after the restart: $code"
	else
		ok crashed_transomd_is_restarted
	fi
fi

# Ctrl-C: run.sh stops transomd and then the cluster.
kill -TERM "$runpid"
i=0
while kill -0 "$runpid" 2>/dev/null && [ $i -lt 150 ]; do
	sleep 0.2
	i=$((i + 1))
done
if kill -0 "$runpid" 2>/dev/null; then
	fail sigterm_stops_service_and_cluster "run.sh still running"
elif [ -f "$T/var/pg/postmaster.pid" ]; then
	fail sigterm_stops_service_and_cluster "the cluster is still up"
else
	ok sigterm_stops_service_and_cluster
fi
runpid=""

# --- pg.sh with relative paths ----------------------------------------------------------
if out=$(cd "$T" && "$DEPLOY/pg.sh" init rel/pg rel/sock 2>&1 &&
	"$DEPLOY/pg.sh" start rel/pg rel/sock 2>&1 &&
	"$DEPLOY/pg.sh" createdb rel/sock rel 2>&1 &&
	"$PSQL" -X -Atc "SELECT current_database()" "$("$DEPLOY/pg.sh" url rel/sock rel)" 2>&1) &&
	[ "$out" = rel ]; then
	ok pg_start_with_relative_paths
else
	fail pg_start_with_relative_paths "$out"
fi
(cd "$T" && "$DEPLOY/pg.sh" stop rel/pg >/dev/null 2>&1)

echo "$passed passed, $failed failed"
[ $failed = 0 ]
