#!/bin/sh
# lighthouse.sh -- `make bench-web`: Lighthouse (npm, pinned by tests/bench/web/package-lock.json,
# installed here) against the web app's main pages, in Debian's Chromium, on a running transomd
# with a seeded database (10,000 changes, incidents, problems), signed in as a change manager and
# admin (the session cookie through --extra-headers).  Prints per page the performance,
# accessibility and best-practices scores (aim: 90 / 95 / 95) and the compressed bytes of the
# JS and CSS of the page's first load (budget: 150 KB).  Not part of `make test`: scores move
# with the machine's load.
#
#   tests/bench/lighthouse.sh [BUILD]        LH_PAGES="calendar reports" to pick pages
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PG=$ROOT/deploy/pg.sh
BIN=$ROOT/$BUILD/transomd
PAGES=${LH_PAGES:-"/app /app/changes /app/cab /app/calendar /app/incidents /app/problems /app/reports /app/admin"}
CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
export CHROME_PATH

die() {
	echo "bench-web: $*" >&2
	exit 1
}
[ -x "$BIN" ] || die "$BIN is missing (make bench-web builds it)"
[ -x "$CHROME_PATH" ] || die "no Chromium at $CHROME_PATH (deploy/install-deps.sh installs it)"
LH=$ROOT/tests/bench/web/node_modules/.bin/lighthouse
if [ ! -x "$LH" ]; then
	(cd tests/bench/web && npm ci --no-audit --no-fund >/dev/null) ||
		die "npm ci in tests/bench/web failed"
fi

TMP=$(mktemp -d /tmp/transom-lh.XXXXXX)
chmod 755 "$TMP"
SERVER=""
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
	"$PG" stop "$TMP/pg" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{ "$PG" init "$TMP/pg" "$TMP/sock" && "$PG" start --no-fsync "$TMP/pg" "$TMP/sock" &&
	"$PG" createdb "$TMP/sock" bench >/dev/null; } || die "cannot start PostgreSQL"
TRANSOM_DATABASE_URL=$("$PG" url "$TMP/sock" bench)
TRANSOM_LOG_LEVEL=warn
TRANSOM_SECRET_KEY_FILE=$TMP/secret.key
TRANSOM_AUDIT_CHECKPOINT_FILE=$TMP/checkpoints.jsonl
export TRANSOM_DATABASE_URL TRANSOM_LOG_LEVEL TRANSOM_SECRET_KEY_FILE TRANSOM_AUDIT_CHECKPOINT_FILE
"$BIN" migrate >/dev/null || die "cannot migrate"

# 10,000 changes over the last 90 days in every state, 600 incidents (a third caused by a
# change), 60 problems: written in SQL, as the lists and reports must page through them.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r | head -n 1)
"$PGBIN/psql" -h "$TMP/sock" -U transom -d bench -qAtX -v ON_ERROR_STOP=1 <<'SQL' || die "cannot seed"
INSERT INTO records (id, kind, workflow, workflow_version, state, data, services, type,
                     requester, created_at, updated_at, state_entered_at)
SELECT 'CHG-' || g, 'change', 'change-normal', '1',
       (ARRAY['draft', 'authorize', 'scheduled', 'closed', 'closed', 'closed', 'failed', 'review'])[1 + g % 8],
       jsonb_build_object('id', 'CHG-' || g, 'kind', 'change', 'title', 'Seeded change ' || g,
                          'type', 'normal', 'services', jsonb_build_array((ARRAY['payments', 'ledger', 'identity', 'web-frontend'])[1 + g % 4]),
                          'risk', jsonb_build_object('score', g % 60, 'level', (ARRAY['low', 'medium', 'high', 'critical'])[1 + g % 4]),
                          'requester', 'grossi'),
       ARRAY[(ARRAY['payments', 'ledger', 'identity', 'web-frontend'])[1 + g % 4]], 'normal', 'grossi',
       now() - (g % 90) * interval '1 day' - interval '3 days', now() - (g % 90) * interval '1 day',
       now() - (g % 90) * interval '1 day'
FROM generate_series(1, 10000) g;
INSERT INTO records (id, kind, workflow, workflow_version, state, data, services, type,
                     requester, created_at, updated_at, state_entered_at)
SELECT 'INC-' || g, 'incident', 'incident', '1', (ARRAY['assigned', 'in_progress', 'resolved', 'closed'])[1 + g % 4],
       jsonb_build_object('id', 'INC-' || g, 'kind', 'incident', 'title', 'Seeded incident ' || g,
                          'priority', 'P' || (1 + g % 4), 'service', 'payments', 'assignment_group', 'payments-team'),
       '{}', NULL, 'grossi', now() - (g % 90) * interval '1 day', now() - (g % 90) * interval '1 day',
       now() - (g % 90) * interval '1 day'
FROM generate_series(1, 600) g;
INSERT INTO record_links (from_id, rel, to_id) SELECT 'INC-' || g, 'caused_by', 'CHG-' || (g * 7) FROM generate_series(1, 600, 3) g;
INSERT INTO records (id, kind, workflow, workflow_version, state, data, services, type,
                     requester, created_at, updated_at, state_entered_at)
SELECT 'PRB-' || g, 'problem', 'problem', '1', 'investigating',
       jsonb_build_object('id', 'PRB-' || g, 'kind', 'problem', 'title', 'Seeded problem ' || g),
       '{}', NULL, 'grossi', now() - g * interval '1 day', now() - g * interval '1 day', now() - g * interval '1 day'
FROM generate_series(1, 60) g;
SELECT setval('change_number_seq', 10000), setval('incident_number_seq', 600), setval('problem_number_seq', 60) \g /dev/null
ANALYZE;
SQL

TRANSOM_LISTEN=127.0.0.1:0 "$BIN" serve >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER=$!
URL=""
for _ in $(seq 1 100); do
	URL=$(sed -n 's/^transomd: listening on \(http:[^ ]*\).*/\1/p' "$TMP/serve.out")
	[ -n "$URL" ] && break
	kill -0 "$SERVER" 2>/dev/null || break
	sleep 0.1
done
[ -n "$URL" ] || { cat "$TMP/serve.err" >&2; die "transomd did not start"; }

# Sign in as a change manager and admin: token -> app password -> session cookie.
TOKEN=$("$BIN" token create --user amartin --role change_manager,admin,cab 2>/dev/null | head -n 1)
PASSWORD=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"label": "bench-web"}' "$URL/v1/me/app-passwords" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["password"])') || die "no app password"
COOKIE=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"user\": \"amartin\", \"password\": \"$PASSWORD\"}" "$URL/v1/session" |
	sed -n 's/^[Ss]et-[Cc]ookie: \(transom_session=[^;]*\).*/\1/p' | tr -d '\r')
[ -n "$COOKIE" ] || die "no session cookie"

echo "Lighthouse $("$LH" --version) in $("$CHROME_PATH" --version 2>/dev/null), desktop preset;"
echo "10,000 changes, 600 incidents, 60 problems; signed in as a change manager and admin."
printf '%-16s %5s %5s %5s %10s\n' page perf a11y best 'JS+CSS gz'
for page in $PAGES; do
	out=$TMP/lh-$(echo "$page" | tr '/' '_').json
	"$LH" "$URL$page" --quiet --preset=desktop --output=json --output-path="$out" \
		--only-categories=performance,accessibility,best-practices \
		--chrome-flags="--headless=new --no-sandbox --disable-dev-shm-usage" \
		--extra-headers="{\"Cookie\": \"$COOKIE\"}" >/dev/null 2>"$TMP/lh.err" ||
		{ tail -n 5 "$TMP/lh.err" >&2; die "lighthouse failed on $page"; }
	python3 - "$out" "$page" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r['categories']
score = lambda k: round((c[k]['score'] or 0) * 100)
items = r['audits']['network-requests']['details']['items']
gz = sum(i.get('transferSize', 0) for i in items if i.get('resourceType') in ('Script', 'Stylesheet'))
flag = '' if gz <= 150 * 1024 else '  over the 150 KB budget'
print(f"{sys.argv[2]:<16} {score('performance'):>5} {score('accessibility'):>5} {score('best-practices'):>5} {gz / 1024:>8.1f} KB{flag}")
fails = [a['title'] for k, a in r['audits'].items() if a.get('score') is not None and a['score'] < 0.9
         and a.get('scoreDisplayMode') == 'binary']
for t in fails[:6]:
    print(f"{'':<16}   - {t}")
if score('performance') < 90:  # which metrics cost the points
    m = {k: r['audits'][k] for k in ('first-contentful-paint', 'largest-contentful-paint',
                                      'total-blocking-time', 'cumulative-layout-shift', 'speed-index')}
    print(f"{'':<16}   " + ', '.join(f"{a['title']} {a['displayValue']}" for a in m.values()))
PY
done
