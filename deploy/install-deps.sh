#!/bin/sh
# install-deps.sh -- install the Debian 12 packages Transom needs to build, run and test.
#
# Idempotent: packages already present are skipped.  As root it runs apt-get; otherwise it
# prints the exact command to run and exits 1.  Usage: deploy/install-deps.sh [build|test]
#   build  (default) what `make run` needs: compiler, libraries, PostgreSQL server
#   test   build + what the test suite and the sanitizer run need
set -eu

BUILD_PKGS="build-essential pkg-config libmicrohttpd-dev libpq-dev libical-dev libjansson-dev
 libcurl4-openssl-dev libssl-dev libgmime-3.0-dev libxml2-dev libcjose-dev libcjose0 postgresql
 postgresql-contrib"
TEST_PKGS="clang clang-format curl python3 python3-dateutil python3-icalendar
 python3-recurring-ical-events python3-aiosmtpd dovecot-imapd python3-caldav vdirsyncer khal
 radicale prometheus prometheus-alertmanager python3-yaml systemd haproxy chromium
 chromium-driver python3-selenium"

# The web app's tests drive Debian's headless Chromium through chromedriver
# (python3-selenium; tests/web/).
# Node.js and npm run the tests' OpenID Provider (tests/oidc, npm oidc-provider) and
# install axe-core for the web tests (tests/web): the
# machine's own when it has them, else Debian's.
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS nodejs npm"

case "${1:-build}" in
build) want="$BUILD_PKGS" ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
*) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "transom: missing Debian packages. Install them with:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "transom: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
