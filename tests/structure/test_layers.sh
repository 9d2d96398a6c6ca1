#!/bin/sh
# test_layers.sh -- the layering of service/ holds: a module includes only itself and the
# modules of lower layers, so the include graph has no upward edges and no cycles.
#
# A module is a folder of service/; `#include "m/..."` is an edge to module m.  Modules of
# one layer are peers and may not include each other (api/ and jobs/ both call app/,
# never one another).  Lowest first:
LAYERS='
core
crypto jose expr mail metrics sched config
net audit auth
wf calendar
policy
planner
store
events
defs
app
http dav
api jobs
main
'
# The adapters translate and decide nothing: api/ (HTTP) and jobs/ (background work)
# reach the domain only through app/, so they may include only these.
ONLY_api='app core http dav auth crypto metrics events config defs'
ONLY_jobs='app core net crypto metrics config defs events audit'

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT/service" || exit 1

# rank MODULE: its layer number (1 = lowest), or nothing when it is in no layer.
rank() {
	echo "$LAYERS" | awk -v m="$1" 'NF { n++; for (i = 1; i <= NF; i++) if ($i == m) print n }'
}

passed=0
failed=0
for dir in */; do
	mod=${dir%/}
	r=$(rank "$mod")
	if [ -z "$r" ]; then
		echo "service/$mod/: not in any layer: add it to LAYERS in $0"
		failed=$((failed + 1))
		continue
	fi
	bad=0
	for edge in $(find "$mod" -name '*.[ch]' -exec grep -Ho '^#include "[a-z_]*/[^"]*"' {} + |
		sed 's|^\([^:]*\):#include "\([a-z_]*\)/.*|\1:\2|' | sort -u); do
		file=${edge%%:*}
		to=${edge##*:}
		[ "$to" = "$mod" ] && continue
		t=$(rank "$to")
		if [ -z "$t" ]; then
			echo "service/$file: includes $to/, which is in no layer"
		elif only=$(eval "echo \"\${ONLY_$mod:-}\""); [ -n "$only" ] &&
			! echo " $only " | grep -q " $to "; then
			echo "service/$file: includes $to/; $mod/ reaches the domain only through app/"
		elif [ "$t" -gt "$r" ]; then
			echo "service/$file: includes $to/, a layer above $mod/"
		elif [ "$t" -eq "$r" ]; then
			echo "service/$file: includes $to/, a peer of $mod/ in the same layer"
		else
			continue
		fi
		bad=1
	done
	if [ $bad = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "layers: $passed modules keep to their layer, $failed do not"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
