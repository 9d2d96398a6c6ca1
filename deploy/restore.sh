#!/bin/sh
# restore.sh -- the restore drill: a backup made by backup.sh into a fresh database.
#
#   deploy/restore.sh DIR                  into a new private cluster (deploy/pg.sh) in
#                                          TRANSOM_RESTORE_PGDATA, socket in
#                                          TRANSOM_RESTORE_SOCKDIR (defaults: var/restore-pg,
#                                          var/restore-run), started and left running
#   TRANSOM_RESTORE_DATABASE_URL=<owner URL of an EMPTY database> deploy/restore.sh DIR
#                                          into that database (a managed PostgreSQL, ...)
#
# Checks DIR/SHA256SUMS, restores DIR/transom.dump with pg_restore (one transaction:
# all or nothing), then runs `transomd db grant transom_app` (migrations newer than the
# backup, and the serving role's grants).  When DIR holds audit-checkpoints.jsonl and a
# key is known (TRANSOM_AUDIT_KEY_FILE, or the public key in TRANSOM_AUDIT_PUBLIC_KEY),
# the restored audit chain is verified against those signed checkpoints and the restore
# fails if it does not match.  TRANSOM_BIN names transomd (default build/transomd).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG=$ROOT/deploy/pg.sh
TRANSOMD=${TRANSOM_BIN:-$ROOT/build/transomd}
[ -f "$DIR/transom.dump" ] || { echo "restore.sh: no $DIR/transom.dump" >&2; exit 1; }
(cd "$DIR" && sha256sum -c --quiet SHA256SUMS) ||
	{ echo "restore.sh: $DIR does not match its SHA256SUMS" >&2; exit 1; }
pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/pg_restore" ] && { echo "$d"; return 0; }
	done
	command -v pg_restore >/dev/null && { dirname "$(command -v pg_restore)"; return 0; }
	echo "restore.sh: pg_restore not found (apt-get install postgresql-client)" >&2
	exit 1
}
BIN=$(pgbin)
URL=${TRANSOM_RESTORE_DATABASE_URL:-}
if [ -z "$URL" ]; then
	data=${TRANSOM_RESTORE_PGDATA:-$ROOT/var/restore-pg}
	sock=${TRANSOM_RESTORE_SOCKDIR:-$ROOT/var/restore-run}
	[ -f "$data/PG_VERSION" ] && { echo "restore.sh: $data exists; not overwriting" >&2; exit 1; }
	"$PG" init "$data" "$sock"
	"$PG" start "$data" "$sock"
	"$PG" role "$sock" transom_app
	"$PG" createdb "$sock" transom
	URL=$("$PG" url "$sock" transom)
	echo "restore.sh: fresh cluster in $data (socket $sock)" >&2
fi
"$BIN/pg_restore" --single-transaction --exit-on-error --no-owner --no-acl \
	--dbname="$URL" "$DIR/transom.dump"
TRANSOM_DATABASE_URL=$URL "$TRANSOMD" db grant transom_app >/dev/null
if [ -s "$DIR/audit-checkpoints.jsonl" ]; then
	key=${TRANSOM_AUDIT_PUBLIC_KEY:-}
	if [ -z "$key" ] && [ -n "${TRANSOM_AUDIT_KEY_FILE:-}" ]; then
		key=$("$TRANSOMD" audit key --file "$TRANSOM_AUDIT_KEY_FILE")
	fi
	if [ -n "$key" ]; then
		"$TRANSOMD" audit verify --checkpoints "$DIR/audit-checkpoints.jsonl" \
			--database-url "$URL" --key "$key" >&2 ||
			{ echo "restore.sh: the restored audit chain does NOT match the signed" \
				"checkpoints" >&2; exit 1; }
	else
		echo "restore.sh: no audit key given; checkpoints not verified" >&2
	fi
fi
echo "$URL"
