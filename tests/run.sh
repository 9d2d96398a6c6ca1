#!/bin/sh
# run.sh -- run the test suites and print one summary line.
#
#   tests/run.sh BUILD [unit|all]
#   TESTS='test_records test_dav' tests/run.sh build    only the suites named (by basename)
#
# Unit tests need nothing.  For the rest a throwaway PostgreSQL cluster is created in a
# temporary directory (removed afterwards, also on failure); each HTTP test program
# gets a fresh database and starts the real transomd against it.
set -u
BUILD=${1:-build}
MODE=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PG=$ROOT/deploy/pg.sh
passed=0
failed=0
broken=""

# Sanitizer builds: any report fails the program.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# selected NAME: true when TESTS is empty or names NAME.
selected() {
	[ -z "${TESTS:-}" ] && return 0
	for n in $TESTS; do [ "$n" = "$1" ] && return 0; done
	return 1
}

# run_suite PROGRAM: runs it, adds its "N passed, N failed" line to the totals.
run_suite() {
	out=$(mktemp)
	"$@" >"$out"
	rc=$?
	cat "$out"
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	rm -f "$out"
	p=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) passed.*/\2/')
	f=$(echo "$line" | sed -E 's/(^|.* )([0-9]+) failed.*/\2/')
	if [ -z "$line" ]; then
		p=0
		f=1
		echo "$1: no summary line (exit status $rc)"
	elif [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "$1: exit status $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" = 0 ] || broken="$broken $(basename "$1")"
}

for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	selected "$(basename "$t")" || continue
	run_suite "$t"
done

# Recurrence expansion against independent oracles (python3-dateutil and
# python3-recurring-ical-events, Debian's, hence /usr/bin/python3).
if [ -x "$BUILD/tests/calendar/expand_main" ] && selected oracle; then
	run_suite /usr/bin/python3 tests/calendar/oracle.py "$BUILD/tests/calendar/expand_main"
fi

if [ "$MODE" = all ]; then
	TMP=$(mktemp -d /tmp/transom-test.XXXXXX)
	chmod 755 "$TMP"
	cleanup() {
		"$PG" stop "$TMP/pg" >/dev/null 2>&1
		rm -rf "$TMP"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	# Fast and unsafe on purpose: a throwaway cluster needs no crash safety.  The server
	# runs as the unprivileged role transom_app, migrations as the owner transom, and
	# audit checkpoints are signed with a key made for this run (written only when a
	# test asks for a short TRANSOM_AUDIT_CHECKPOINT_INTERVAL).
	if ! { "$PG" init "$TMP/pg" "$TMP/sock" && "$PG" start --no-fsync "$TMP/pg" "$TMP/sock" &&
		"$PG" role "$TMP/sock" transom_app &&
		"$BUILD/transomd" audit keygen "$TMP/audit.key" >/dev/null; }; then
		echo "tests: cannot start the throwaway PostgreSQL cluster"
		echo "0 passed, 1 failed"
		exit 1
	fi
	export TRANSOM_TEST_BIN="$ROOT/$BUILD/transomd"
	export TRANSOM_TEST_PGDATA="$TMP/pg"
	export TRANSOM_TEST_PGSOCK="$TMP/sock"
	export TRANSOM_TEST_PG="$PG"
	export TRANSOM_TEST_ROOT="$ROOT"
	export TRANSOM_TEST_TMP="$TMP"
	export TRANSOM_TEST_AUDIT_KEY="$TMP/audit.key"
	for t in "$BUILD"/tests/http/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o | *.d) continue ;; esac
		db=$(basename "$t")
		selected "$db" || continue
		"$PG" start --no-fsync "$TMP/pg" "$TMP/sock" # a test may have stopped it
		"$PG" createdb "$TMP/sock" "$db" >/dev/null
		TRANSOM_TEST_DATABASE_URL=$("$PG" url "$TMP/sock" "$db") \
			TRANSOM_TEST_SERVE_DATABASE_URL=$("$PG" url "$TMP/sock" "$db" transom_app) \
			TRANSOM_TEST_CHECKPOINTS="$TMP/$db.checkpoints" run_suite "$t"
	done
	# Shell-driven security tests (deploy/run.sh, deploy/pg.sh): their own clusters; the
	# packaging of deploy/ against the binary (tests/deploy/).
	for t in tests/security/test_*.sh tests/deploy/test_*.sh; do
		[ -f "$t" ] || continue
		selected "$(basename "$t" .sh)" || continue
		run_suite "$t"
	done
fi

echo "----"
[ -z "$broken" ] || echo "failing suites:$broken"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
