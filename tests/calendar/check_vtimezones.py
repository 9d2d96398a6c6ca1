#!/usr/bin/python3
"""check_vtimezones.py -- checks that the VTIMEZONEs of an iCalendar file Transom serves
still convert its times correctly after trimming (issue 17.7), with two independent
readers: python-dateutil's tzical reads ONLY the file's VTIMEZONE blocks, and the
system's zoneinfo reads the IANA name; every DTSTART/DTEND;TZID= wall time must give the
same instant through both.

Usage: tests/calendar/check_vtimezones.py FILE

Prints "N times checked, N differ" (and the first differences); exits 1 when one differs
or nothing was checked.
"""
import datetime as dt
import io
import re
import sys
from zoneinfo import ZoneInfo

from dateutil import tz

text = open(sys.argv[1], newline="").read().replace("\r\n ", "")
zones = {}
for block in re.findall(r"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", text, re.S):
    # tzical refuses X- properties and TZNAME parameters it does not know: drop them
    lines = [l for l in block.split("\r\n") if l and not l.startswith(("X-", "TZNAME"))]
    t = tz.tzical(io.StringIO("\n".join(lines) + "\n"))
    for key in t.keys():
        zones[key] = t.get(key)

checked = differ = 0
for m in re.finditer(r"^DT(?:START|END);TZID=([^:;]+):(\d{8}T\d{6})\r$", text, re.M):
    name, value = m.group(1), m.group(2)
    wall = dt.datetime.strptime(value, "%Y%m%dT%H%M%S")
    if name not in zones:
        print("no VTIMEZONE for", name)
        differ += 1
        continue
    a = wall.replace(tzinfo=zones[name]).astimezone(dt.timezone.utc)
    b = wall.replace(tzinfo=ZoneInfo(name)).astimezone(dt.timezone.utc)
    checked += 1
    if a != b:
        differ += 1
        if differ <= 5:
            print("differ: %s %s: VTIMEZONE %s, zoneinfo %s" % (name, value, a, b))
print("%d times checked, %d differ" % (checked, differ))
sys.exit(1 if differ or not checked else 0)
