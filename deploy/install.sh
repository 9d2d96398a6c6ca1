#!/bin/sh
# install.sh -- install a built Transom for a distribution (what `make install` runs).
#
#   [DESTDIR=/pkgroot] [PREFIX=/usr/local] [SYSCONFDIR=/etc] deploy/install.sh BUILD
#
# Installs BUILD/transomd and BUILD/transom to $PREFIX/bin; the default workflows/ and
# policies/ to $PREFIX/share/transom/; the systemd unit, sysusers.d and tmpfiles.d
# snippets to $PREFIX/lib/systemd/... (paths inside rewritten for PREFIX); an example
# settings file to $SYSCONFDIR/transom/transom.conf.example; the docs to
# $PREFIX/share/doc/transom/.  Everything lands under $DESTDIR.
set -eu
BUILD=${1:?usage: deploy/install.sh BUILD}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
SYSCONFDIR=${SYSCONFDIR:-/etc}
D=${DESTDIR:-}
BINDIR=$PREFIX/bin
DATADIR=$PREFIX/share/transom
DOCDIR=$PREFIX/share/doc/transom
UNITDIR=$PREFIX/lib/systemd/system

for b in transomd transom; do
	[ -x "$BUILD/$b" ] || { echo "install: $BUILD/$b is not built (run make first)" >&2; exit 1; }
done

# subst FILE: the packaged paths (/usr/bin, /usr/share/transom, /etc/transom) for PREFIX.
subst() {
	sed -e "s|/usr/share/doc/transom|$DOCDIR|g" -e "s|/usr/bin/|$BINDIR/|g" \
		-e "s|/usr/share/transom|$DATADIR|g" \
		-e "s|/etc/transom|$SYSCONFDIR/transom|g" "$1"
}

install -d "$D$BINDIR" "$D$DATADIR" "$D$DOCDIR" "$D$UNITDIR" "$D$PREFIX/lib/sysusers.d" \
	"$D$PREFIX/lib/tmpfiles.d" "$D$SYSCONFDIR/transom"
install -m 0755 "$BUILD/transomd" "$BUILD/transom" "$D$BINDIR/"
cd "$ROOT"
for tree in workflows policies; do
	find "$tree" -type d -exec install -d "$D$DATADIR/{}" \;
	find "$tree" -type f -exec install -m 0644 {} "$D$DATADIR/{}" \;
done
subst deploy/systemd/transom.service >"$D$UNITDIR/transom.service"
subst deploy/systemd/transom.sysusers >"$D$PREFIX/lib/sysusers.d/transom.conf"
subst deploy/systemd/transom.tmpfiles >"$D$PREFIX/lib/tmpfiles.d/transom.conf"
subst deploy/systemd/transom.conf.example >"$D$SYSCONFDIR/transom/transom.conf.example"
chmod 0644 "$D$UNITDIR/transom.service" "$D$PREFIX/lib/sysusers.d/transom.conf" \
	"$D$PREFIX/lib/tmpfiles.d/transom.conf" "$D$SYSCONFDIR/transom/transom.conf.example"
install -m 0644 README.md docs/*.md docs/openapi.json "$D$DOCDIR/"
install -d "$D$DOCDIR/deploy"
cp -R deploy/prometheus deploy/grafana deploy/k8s deploy/container "$D$DOCDIR/deploy/"
