#!/bin/sh
# run.sh -- what `make run` does after building: start the private PostgreSQL under
# var/ (unless TRANSOM_DATABASE_URL is set), migrate, make sure an admin token exists,
# then serve in the foreground.  Ctrl-C or SIGTERM stops transomd, then the cluster.
set -eu
BIN=${1:-build/transomd}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VAR=$ROOT/var
mkdir -p "$VAR"
chmod 755 "$VAR"
PG=$ROOT/deploy/pg.sh
private=0

if [ -z "${TRANSOM_DATABASE_URL:-}" ]; then
	private=1
	SOCK=$VAR/run
	# A Unix socket path must fit in 107 bytes; fall back to a short private path.
	if [ ${#SOCK} -gt 90 ]; then
		SOCK=/tmp/transom-sock-$(id -u)-$(echo "$ROOT" | cksum | cut -d' ' -f1)
	fi
	"$PG" init "$VAR/pg" "$SOCK"
	"$PG" start "$VAR/pg" "$SOCK"
	"$PG" createdb "$SOCK" transom
	TRANSOM_DATABASE_URL=$("$PG" url "$SOCK" transom)
	export TRANSOM_DATABASE_URL
	echo "transom: private PostgreSQL in var/pg (socket $SOCK)"
fi

stop_cluster() {
	[ $private = 1 ] && "$PG" stop "$VAR/pg"
	return 0
}
trap stop_cluster EXIT

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
TOKEN=$("$BIN" token ensure --user admin --role admin --display-name "Transom admin" \
	--file "$VAR/admin.token")
chmod 600 "$VAR/admin.token"
listen=${TRANSOM_LISTEN:-127.0.0.1:8080}
# The private cluster's URL holds no secret; one given by the caller may: not echoed.
dburl='(the TRANSOM_DATABASE_URL you set)'
[ $private = 1 ] && dburl="\"$TRANSOM_DATABASE_URL\""
cat <<MSG
transom: admin token (also in var/admin.token): $TOKEN
transom: try   curl -H "Authorization: Bearer \$(cat var/admin.token)" http://$listen/v1/me
transom: in a second shell, for build/transomd token ... and the build/transom CLI:
  export TRANSOM_DATABASE_URL=$dburl
  export TRANSOM_URL=http://$listen
transom: Ctrl-C stops the service and the private database.
MSG

"$BIN" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' TERM INT
trap 'kill -HUP $pid 2>/dev/null' HUP
# `wait` returns early when a trapped signal arrives: wait again for transomd to finish.
status=0
wait $pid || status=$?
while kill -0 $pid 2>/dev/null; do
	wait $pid || status=$?
done
trap - TERM INT HUP
# A signal-initiated stop (status 0 from transomd) is a clean exit.
exit $status
