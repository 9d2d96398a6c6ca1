#!/usr/bin/env python3
"""metric_names.py SCRAPE FILE... -- every transom_* metric named in FILE (Prometheus
rules YAML, a Grafana dashboard JSON or any text) exists in SCRAPE, a /metrics reply.

A histogram family F also provides F_bucket, F_sum and F_count.  Prints each missing name
with the file naming it; exit status 1 when any is missing, 2 on bad usage."""
import re
import sys

if len(sys.argv) < 3:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
names = set()
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names.add(m.group(1))
            if m.group(2) in ("histogram", "summary"):
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
missing = 0
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        used = set(re.findall(r"\btransom_[a-z0-9_]+", f.read()))
    for n in sorted(used - names):
        print(f"{path}: {n} is not exported by /metrics")
        missing += 1
    print(f"{path}: {len(used)} metric names, {len(used) - len(used - names)} exported")
sys.exit(1 if missing else 0)
