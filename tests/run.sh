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
. "$ROOT/tests/lib.sh"

for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o | *.d) continue ;; esac
	selected "$(basename "$t")" || continue
	run_suite "$t"
done

# The structure of service/: no module includes a layer above it (tests/structure/).
for t in tests/structure/test_*.sh; do
	selected "$(basename "$t" .sh)" || continue
	run_suite "$t"
done

# docs/errors.md is what `make errors-doc` writes from the error table (core/err.h).
if selected errors_doc; then
	run_suite "$BUILD/tests/docs/errors_doc" --check docs/errors.md
fi

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
	# test_oidc's (and test_oidc_login's, test_web_sso's) OpenID Provider: npm
	# oidc-provider, pinned by tests/oidc/package-lock.json (from npm's cache when it has
	# it, else from the registry).
	if { selected test_oidc || selected test_oidc_login || selected test_web_sso; } &&
		[ ! -d tests/oidc/node_modules ]; then
		(cd tests/oidc && { npm ci --offline --no-audit --no-fund >/dev/null 2>&1 ||
			npm ci --no-audit --no-fund >/dev/null; }) ||
			echo "tests: npm ci in tests/oidc failed"
	fi
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
	# The web app in Debian's headless Chromium (tests/web/, python3-selenium), each file
	# with a database of its own; axe-core from npm, pinned by tests/web/package-lock.json.
	if [ ! -d tests/web/node_modules ] && ls tests/web/test_*.py >/dev/null 2>&1; then
		(cd tests/web && { npm ci --offline --no-audit --no-fund >/dev/null 2>&1 ||
			npm ci --no-audit --no-fund >/dev/null; }) ||
			echo "tests: npm ci in tests/web failed"
	fi
	for t in tests/web/test_*.py; do
		[ -f "$t" ] || continue
		db=$(basename "$t" .py)
		selected "$db" || continue
		"$PG" start --no-fsync "$TMP/pg" "$TMP/sock"
		"$PG" createdb "$TMP/sock" "$db" >/dev/null
		TRANSOM_TEST_DATABASE_URL=$("$PG" url "$TMP/sock" "$db") \
			TRANSOM_TEST_SERVE_DATABASE_URL=$("$PG" url "$TMP/sock" "$db" transom_app) \
			TRANSOM_TEST_CHECKPOINTS="$TMP/$db.checkpoints" \
			TRANSOM_TEST_OUTPUT="$ROOT/$BUILD/test-output" run_suite "$t"
	done
	# Shell-driven security tests (deploy/run.sh, deploy/pg.sh): their own clusters; the
	# packaging of deploy/ against the binary (tests/deploy/).
	for t in tests/security/test_*.sh tests/deploy/test_*.sh; do
		[ -f "$t" ] || continue
		selected "$(basename "$t" .sh)" || continue
		run_suite "$t"
	done
fi

summary suites
