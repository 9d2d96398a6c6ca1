#!/bin/sh
# run.sh -- the fault suite: transomd under bad bytes, a read-only or locked database,
# connection floods and PostgreSQL restarts.  Prints one "N passed, N failed" line.
#
#   tests/faults/run.sh BUILD                 every fault test (make faults)
#   TESTS='test_fault_db' tests/faults/run.sh build     only the ones named
#
# Adding a test: drop tests/faults/test_NAME.c (a C program using tests/http/lib_http.h
# and the TESTS() harness, like the HTTP tests); the Makefile builds it as
# BUILD/tests/faults/test_NAME and this script runs it against a fresh database of the
# throwaway cluster (TRANSOM_TEST_DATABASE_URL, TRANSOM_TEST_PG* as in tests/run.sh).
# A test may stop, restart or reconfigure the cluster: the next one gets it started.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PG=$ROOT/deploy/pg.sh
. "$ROOT/tests/lib.sh"

TMP=$(mktemp -d /tmp/transom-faults.XXXXXX)
chmod 755 "$TMP"
cleanup() {
	"$PG" stop "$TMP/pg" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ! { "$PG" init "$TMP/pg" "$TMP/sock" && "$PG" start "$TMP/pg" "$TMP/sock"; }; then
	echo "faults: cannot start the throwaway PostgreSQL cluster"
	echo "0 passed, 1 failed"
	exit 1
fi
export TRANSOM_TEST_BIN="$ROOT/$BUILD/transomd"
export TRANSOM_TEST_PGDATA="$TMP/pg"
export TRANSOM_TEST_PGSOCK="$TMP/sock"
export TRANSOM_TEST_PG="$PG"
export TRANSOM_TEST_ROOT="$ROOT"
export TRANSOM_TEST_TMP="$TMP"
for t in "$BUILD"/tests/faults/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	db=$(basename "$t")
	selected "$db" || continue
	"$PG" start "$TMP/pg" "$TMP/sock" >/dev/null 2>&1 # a test may have stopped it
	"$PG" createdb "$TMP/sock" "$db" >/dev/null
	TRANSOM_TEST_DATABASE_URL=$("$PG" url "$TMP/sock" "$db") run_suite "$t"
done
summary "fault tests"
