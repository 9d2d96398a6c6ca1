#!/bin/sh
# backup.sh -- a consistent logical backup of Transom's database, and what verifies it.
#
#   TRANSOM_DATABASE_URL=<owner URL> deploy/backup.sh DIR
#
# Writes DIR/transom.dump (pg_dump custom format: one snapshot, so the audit chain, the
# records and the outbox are consistent with each other), DIR/audit-checkpoints.jsonl (a
# copy of TRANSOM_AUDIT_CHECKPOINT_FILE when it is set and readable: the signed anchors a
# restore is verified against; keep the live file elsewhere too) and DIR/SHA256SUMS.
# Prints DIR.  Use the owner's URL (TRANSOM_MIGRATE_DATABASE_URL when set): the serving
# role cannot read every table.  Roles and grants are not dumped; restore.sh recreates
# them.  pg_dump does not block transomd (no exclusive locks); run it from a timer (e.g.
# nightly) and copy DIR off the host.  For point-in-time recovery use a base backup plus
# WAL archiving instead (docs/operations.md, "Backups").
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
URL=${TRANSOM_MIGRATE_DATABASE_URL:-${TRANSOM_DATABASE_URL:-}}
[ -n "$URL" ] || { echo "backup.sh: set TRANSOM_DATABASE_URL (the owner's)" >&2; exit 2; }
pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/pg_dump" ] && { echo "$d"; return 0; }
	done
	command -v pg_dump >/dev/null && { dirname "$(command -v pg_dump)"; return 0; }
	echo "backup.sh: pg_dump not found (apt-get install postgresql-client)" >&2
	exit 1
}
BIN=$(pgbin)
mkdir -p "$DIR"
umask 077
"$BIN/pg_dump" --format=custom --no-owner --no-acl --file="$DIR/transom.dump.part" \
	--dbname="$URL"
mv "$DIR/transom.dump.part" "$DIR/transom.dump"
cp=${TRANSOM_AUDIT_CHECKPOINT_FILE:-}
if [ -n "$cp" ] && [ -r "$cp" ]; then
	cp "$cp" "$DIR/audit-checkpoints.jsonl"
fi
(cd "$DIR" && sha256sum transom.dump $(ls audit-checkpoints.jsonl 2>/dev/null) >SHA256SUMS)
echo "$DIR"
