#!/bin/sh
# pg.sh -- a private PostgreSQL cluster in a directory: no TCP port, Unix socket only.
#
#   deploy/pg.sh init  DATADIR SOCKDIR   create the cluster (superuser "transom")
#   deploy/pg.sh start [--no-fsync] DATADIR SOCKDIR
#                                        start it and wait until it accepts connections;
#                                        --no-fsync (throwaway test clusters only) trades
#                                        crash safety for speed
#   deploy/pg.sh stop  DATADIR           stop it (fast shutdown); fine if not running
#   deploy/pg.sh role  SOCKDIR NAME      create the unprivileged login role NAME if missing
#   deploy/pg.sh createdb SOCKDIR NAME   create database NAME if it does not exist
#   deploy/pg.sh url   SOCKDIR NAME [USER]
#                                        print the libpq connection string (user transom)
#   deploy/pg.sh standby PRIMARY_SOCKDIR NAME DATADIR SOCKDIR
#                                        make DATADIR a streaming standby of the running
#                                        primary (pg_basebackup over its socket), known to
#                                        the primary as NAME; start it with `start`
#   deploy/pg.sh sync  SOCKDIR NAME      make the standby NAME synchronous on the primary
#                                        at SOCKDIR (a commit waits until NAME has it)
#   deploy/pg.sh promote DATADIR         promote the standby in DATADIR to a primary
#
# Who may connect: nobody but the account that runs this script and the cluster's owner.
# The socket directory is mode 0700, owned by the cluster's owner, and authentication is
# `peer` with a map (pg_ident.conf) that lets exactly those two system accounts log in as
# "transom" (the superuser that owns the schema and runs migrations) and "transom_app"
# (the role `transomd serve` uses).  No trust, no TCP.  Both files are rewritten on every
# start, so a cluster created by an older pg.sh (trust, 0777) is closed on its next start.
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` account
# and DATADIR and SOCKDIR are given to it.  Relative paths are taken from the current
# directory.
set -eu

SERVE_ROLE=transom_app

pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	echo "pg.sh: no PostgreSQL server found (apt-get install postgresql)" >&2
	exit 1
}
BIN=$(pgbin)

# owner: the system account the server runs as.
if [ "$(id -u)" = 0 ]; then
	OWNER=postgres
else
	OWNER=$(id -un)
fi

# as_owner CMD...: run as the account that owns the cluster (from /, which it can read).
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# abs PATH: PATH made absolute against the current directory.
abs() {
	case "$1" in
	/*) echo "$1" ;;
	*) echo "$(pwd)/$1" ;;
	esac
}

# secure DATADIR SOCKDIR: owner-only socket directory, peer authentication for the
# invoking account and the owner, mapped to the two roles; nothing else.
secure() {
	data=$1 sock=$2
	me=$(id -un)
	mkdir -p "$sock"
	[ "$(id -u)" = 0 ] && chown postgres: "$sock"
	chmod 700 "$sock"
	{
		echo "# written by deploy/pg.sh: peer authentication over the Unix socket only"
		echo "local all all peer map=transom"
		echo "local replication transom peer map=transom"
	} >"$data/pg_hba.conf"
	{
		echo "# written by deploy/pg.sh: MAP SYSTEM-USER DATABASE-ROLE"
		for u in $(printf '%s\n%s\n' "$me" "$OWNER" | sort -u); do
			echo "transom $u transom"
			echo "transom $u $SERVE_ROLE"
		done
	} >"$data/pg_ident.conf"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$data/pg_hba.conf" "$data/pg_ident.conf"
	fi
	chmod 600 "$data/pg_hba.conf" "$data/pg_ident.conf"
}

# psql_owner SOCKDIR SQL: run SQL as the superuser, quietly, one value per line.
psql_owner() {
	"$BIN/psql" -X -h "$1" -U transom -d postgres -v ON_ERROR_STOP=1 -Atc "$2"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
init)
	data=$(abs "$1") sock=$(abs "$2")
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
	as_owner "$BIN/initdb" -D "$data" -U transom --auth-local=peer --auth-host=reject \
		--encoding=UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 ||
		{ cat "$data.initdb.log" >&2; exit 1; }
	rm -f "$data.initdb.log"
	secure "$data" "$sock"
	;;
start)
	fsync=on
	if [ "${1:-}" = --no-fsync ]; then
		fsync=off
		shift
	fi
	data=$(abs "$1") sock=$(abs "$2")
	if as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		exit 0
	fi
	secure "$data" "$sock"
	as_owner "$BIN/pg_ctl" -D "$data" -w -t 60 -l "$data/server.log" \
		-o "-c listen_addresses='' -k '$sock' -c unix_socket_permissions=0700 \
-c max_connections=200 -c fsync=$fsync" \
		start >/dev/null || { tail -n 20 "$data/server.log" >&2; exit 1; }
	;;
stop)
	data=$(abs "$1")
	[ -f "$data/postmaster.pid" ] || exit 0
	as_owner "$BIN/pg_ctl" -D "$data" -w -t 30 -m fast stop >/dev/null 2>&1 || true
	;;
role)
	sock=$(abs "$1") name=$2
	case "$name" in *[!a-z0-9_]* | "") echo "pg.sh: bad role name '$name'" >&2; exit 2 ;; esac
	exists=$(psql_owner "$sock" "SELECT 1 FROM pg_roles WHERE rolname = '$name'")
	[ "$exists" = 1 ] || psql_owner "$sock" "CREATE ROLE $name LOGIN NOSUPERUSER \
NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS" >/dev/null
	;;
createdb)
	sock=$(abs "$1") name=$2
	exists=$(psql_owner "$sock" "SELECT 1 FROM pg_database WHERE datname = '$name'")
	[ "$exists" = 1 ] || "$BIN/createdb" -h "$sock" -U transom "$name"
	;;
url)
	sock=$(abs "$1") name=$2 user=${3:-transom}
	echo "host='$sock' dbname='$name' user=$user"
	;;
standby)
	psock=$(abs "$1") name=$2 data=$(abs "$3") sock=$(abs "$4")
	case "$name" in *[!a-z0-9_]* | "") echo "pg.sh: bad standby name '$name'" >&2; exit 2 ;; esac
	[ -f "$data/PG_VERSION" ] && exit 0
	mkdir -p "$data" "$sock"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$data" "$sock"
	fi
	chmod 700 "$data"
	# -R writes standby.signal and primary_conninfo; the application name is the name
	# synchronous_standby_names refers to.
	as_owner "$BIN/pg_basebackup" -h "$psock" -U transom -D "$data" -X stream -R \
		-c fast -d "host='$psock' user=transom application_name=$name" ||
		{ echo "pg.sh: pg_basebackup from $psock failed" >&2; exit 1; }
	secure "$data" "$sock"
	;;
sync)
	sock=$(abs "$1") name=$2
	case "$name" in *[!a-z0-9_]* | "") echo "pg.sh: bad standby name '$name'" >&2; exit 2 ;; esac
	psql_owner "$sock" "ALTER SYSTEM SET synchronous_standby_names = '$name'" >/dev/null
	psql_owner "$sock" "SELECT pg_reload_conf()" >/dev/null
	;;
promote)
	data=$(abs "$1")
	as_owner "$BIN/pg_ctl" -D "$data" -w -t 60 promote >/dev/null
	;;
*)
	echo "usage: $0 init|start|stop|role|createdb|url|standby|sync|promote ..." >&2
	exit 2
	;;
esac
