#!/bin/sh
# pg.sh -- a private PostgreSQL cluster in a directory: no TCP port, Unix socket only.
#
#   deploy/pg.sh init  DATADIR SOCKDIR   create the cluster (superuser "transom", trust auth)
#   deploy/pg.sh start DATADIR SOCKDIR   start it and wait until it accepts connections
#   deploy/pg.sh stop  DATADIR           stop it (fast shutdown); fine if not running
#   deploy/pg.sh createdb SOCKDIR NAME   create database NAME if it does not exist
#   deploy/pg.sh url   SOCKDIR NAME      print the libpq connection string
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` account
# and DATADIR and SOCKDIR are given to it.
set -eu

pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	echo "pg.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
	exit 1
}
BIN=$(pgbin)

# as_owner CMD...: run as the account that owns the cluster.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cmd=${1:-}
case "$cmd" in
init)
	data=$2 sock=$3
	[ -f "$data/PG_VERSION" ] && exit 0
	mkdir -p "$data" "$sock"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$data" "$sock"
		if ! runuser -u postgres -- test -w "$data"; then
			echo "pg.sh: the postgres account cannot reach $data (check the permissions" \
				"of its parent directories)" >&2
			exit 1
		fi
	fi
	chmod 700 "$data"
	as_owner "$BIN/initdb" -D "$data" -U transom --auth=trust --encoding=UTF8 \
		--locale=C.UTF-8 >"$data.initdb.log" 2>&1 ||
		{ cat "$data.initdb.log" >&2; exit 1; }
	rm -f "$data.initdb.log"
	;;
start)
	data=$2 sock=$3
	if as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		exit 0
	fi
	as_owner "$BIN/pg_ctl" -D "$data" -w -t 60 -l "$data/server.log" \
		-o "-c listen_addresses='' -k '$sock' -c max_connections=200 -c fsync=off" \
		start >/dev/null || { tail -n 20 "$data/server.log" >&2; exit 1; }
	;;
stop)
	data=$2
	[ -f "$data/postmaster.pid" ] || exit 0
	as_owner "$BIN/pg_ctl" -D "$data" -w -t 30 -m fast stop >/dev/null 2>&1 || true
	;;
createdb)
	sock=$2 name=$3
	exists=$("$BIN/psql" -h "$sock" -U transom -d postgres -Atc \
		"SELECT 1 FROM pg_database WHERE datname = '$name'")
	[ "$exists" = 1 ] || "$BIN/createdb" -h "$sock" -U transom "$name"
	;;
url)
	sock=$2 name=$3
	echo "host='$sock' dbname='$name' user=transom"
	;;
*)
	echo "usage: $0 init|start|stop|createdb|url ..." >&2
	exit 2
	;;
esac
