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
passed=0
failed=0
broken=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

selected() {
	[ -z "${TESTS:-}" ] && return 0
	for n in $TESTS; do [ "$n" = "$1" ] && return 0; done
	return 1
}

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
	out=$(mktemp)
	TRANSOM_TEST_DATABASE_URL=$("$PG" url "$TMP/sock" "$db") "$t" >"$out"
	rc=$?
	cat "$out"
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	p=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) passed.*/\2/')
	f=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) failed.*/\2/')
	if [ -z "$line" ]; then
		p=0
		f=1
		echo "$t: no summary line (exit status $rc)"
	elif [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "$t: exit status $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" = 0 ] || broken="$broken $db"
done
echo "----"
[ -z "$broken" ] || echo "failing fault tests:$broken"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
