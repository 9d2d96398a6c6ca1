#!/bin/sh
# run.sh -- what `make run` does after building: start the private PostgreSQL under
# var/ (unless TRANSOM_DATABASE_URL is set), migrate as the owner, grant the serving
# role, make sure an admin token and the audit signing key exist, then serve in the
# foreground.  When transomd crashes it is restarted after a backoff (1 s, doubling to
# 30 s; back to 1 s after a minute of running), saying why; the database stays up
# meanwhile.  Ctrl-C or SIGTERM stops transomd, then the cluster.
#
#   deploy/run.sh [BIN]     TRANSOM_VAR_DIR (default var/) holds the cluster, the token,
#                           the key and the checkpoints
set -eu
BIN=${1:-build/transomd}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
VAR=${TRANSOM_VAR_DIR:-$ROOT/var}
mkdir -p "$VAR"
VAR=$(cd "$VAR" && pwd)
chmod 755 "$VAR" # the postgres account (when run as root) must reach var/pg
PG=$ROOT/deploy/pg.sh
private=0

if [ -z "${TRANSOM_DATABASE_URL:-}" ]; then
	private=1
	SOCK=$VAR/run
	# A Unix socket path must fit in 107 bytes; fall back to a short private path.
	if [ ${#SOCK} -gt 90 ]; then
		SOCK=/tmp/transom-sock-$(id -u)-$(echo "$VAR" | cksum | cut -d' ' -f1)
	fi
	"$PG" init "$VAR/pg" "$SOCK"
	"$PG" start "$VAR/pg" "$SOCK"
	"$PG" role "$SOCK" transom_app
	"$PG" createdb "$SOCK" transom
	# Serve as transom_app (no ownership, INSERT/SELECT on the audit trail); migrate as
	# transom, the cluster's superuser.  Only this account can reach the socket.
	TRANSOM_DATABASE_URL=$("$PG" url "$SOCK" transom transom_app)
	TRANSOM_MIGRATE_DATABASE_URL=$("$PG" url "$SOCK" transom)
	export TRANSOM_DATABASE_URL TRANSOM_MIGRATE_DATABASE_URL
	echo "transom: private PostgreSQL in $VAR/pg (socket $SOCK, fsync on)"
fi

stop_cluster() {
	[ $private = 1 ] && "$PG" stop "$VAR/pg"
	return 0
}
trap stop_cluster EXIT

# Audit checkpoints: signed with a key that stays on this machine.
if [ -z "${TRANSOM_AUDIT_KEY_FILE:-}" ]; then
	TRANSOM_AUDIT_KEY_FILE=$VAR/audit.key
	[ -f "$TRANSOM_AUDIT_KEY_FILE" ] || "$BIN" audit keygen "$TRANSOM_AUDIT_KEY_FILE" >/dev/null
fi
TRANSOM_AUDIT_CHECKPOINT_FILE=${TRANSOM_AUDIT_CHECKPOINT_FILE:-$VAR/audit-checkpoints.jsonl}
export TRANSOM_AUDIT_KEY_FILE TRANSOM_AUDIT_CHECKPOINT_FILE
# Secrets at rest (webhook signing secrets) are sealed with a key transomd makes here.
TRANSOM_SECRET_KEY_FILE=${TRANSOM_SECRET_KEY_FILE:-$VAR/secret.key}
export TRANSOM_SECRET_KEY_FILE

# make run DEMO=1: the shipped policies with the demo calendars of policies-demo/ (a
# window open now and a freeze in force now, whatever the day).
if [ -n "${TRANSOM_DEMO:-}" ]; then
	rm -rf "$VAR/demo-policies"
	cp -r "$ROOT/policies" "$VAR/demo-policies"
	cp "$ROOT"/policies-demo/*.ics "$VAR/demo-policies/"
	TRANSOM_POLICIES_DIR=$VAR/demo-policies
	export TRANSOM_POLICIES_DIR
	echo "transom: demo calendars (policies-demo/) in $TRANSOM_POLICIES_DIR"
fi

"$BIN" migrate >/dev/null
[ $private = 1 ] && "$BIN" db grant transom_app >/dev/null
TOKEN=$("$BIN" token ensure --user admin --role admin --display-name "Transom admin" \
	--file "$VAR/admin.token")
chmod 600 "$VAR/admin.token"
listen=${TRANSOM_LISTEN:-127.0.0.1:8080}
# The private cluster's URL holds no secret; one given by the caller may: not echoed.
dburl='(the TRANSOM_DATABASE_URL you set)'
[ $private = 1 ] && dburl="\"$TRANSOM_DATABASE_URL\""
# A one-time sign-in link for the web app (an hour), as the admin who may also file and
# run changes; `transomd user login-link NAME --role ...` makes more.
LINK=$(TRANSOM_PUBLIC_URL=${TRANSOM_PUBLIC_URL:-http://$listen} "$BIN" user login-link admin \
	--role admin,change_manager,requester --ttl 3600 2>/dev/null)
cat <<MSG
transom: the web app: open http://$listen/ -- sign in once with $LINK
transom: admin token (also in $VAR/admin.token): $TOKEN
transom: try   curl -H "Authorization: Bearer \$(cat $VAR/admin.token)" http://$listen/v1/me
transom: audit checkpoints in $TRANSOM_AUDIT_CHECKPOINT_FILE, verify with key $("$BIN" audit key)
transom: in a second shell, for build/transomd token ... and the build/transom CLI:
  export TRANSOM_DATABASE_URL=$dburl
  export TRANSOM_URL=http://$listen
transom: Ctrl-C stops the service and the private database.
MSG

stopping=0
pid=""
nap=""
on_stop() {
	stopping=1
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	[ -n "$nap" ] && kill "$nap" 2>/dev/null
	return 0
}
trap on_stop TERM INT
trap '[ -n "$pid" ] && kill -HUP "$pid" 2>/dev/null' HUP
backoff=1
status=0
while :; do
	started=$(date +%s)
	"$BIN" serve &
	pid=$!
	# `wait` returns early when a trapped signal arrives: wait again for transomd.
	status=0
	wait "$pid" || status=$?
	while kill -0 "$pid" 2>/dev/null; do
		status=0
		wait "$pid" || status=$?
	done
	pid=""
	# Stopped by us, or exited by itself with 0 (a signal sent to it directly): done.
	[ $stopping = 1 ] && { status=0; break; }
	[ $status = 0 ] && break
	if [ $status = 2 ]; then
		echo "transom: transomd refused its configuration (exit status 2); not restarting" >&2
		break
	fi
	ran=$(($(date +%s) - started))
	[ $ran -ge 60 ] && backoff=1
	if [ $status -gt 128 ]; then
		why="killed by signal $((status - 128))"
	else
		why="exit status $status"
	fi
	echo "transom: transomd stopped ($why) after ${ran}s; the database stays up;" \
		"restarting in ${backoff}s" >&2
	sleep "$backoff" &
	nap=$!
	wait "$nap" 2>/dev/null || true
	nap=""
	[ $stopping = 1 ] && { status=0; break; }
	backoff=$((backoff * 2))
	[ $backoff -gt 30 ] && backoff=30
done
trap - TERM INT HUP
exit $status
