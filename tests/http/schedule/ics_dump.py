#!/usr/bin/python3
"""ics_dump.py -- prints an iCalendar file as JSON for test_schedule.c, read by an
independent parser (python3-icalendar, Debian's, hence /usr/bin/python3).

Usage: tests/http/schedule/ics_dump.py FILE

Prints one JSON array, one object per VEVENT, VFREEBUSY and VTIMEZONE (in file order):
  {"component": "VEVENT", "props": {"NAME": ["value", ...], ...},
   "dtstart": "YYYY-MM-DDTHH:MM:SSZ", "dtend": ...,            (VEVENT, VFREEBUSY: UTC)
   "summary": ..., "description": ...,                          (when present)
   "periods": [["BUSY", "start Z", "end Z"], ...]}              (VFREEBUSY)
Values in "props" are the unfolded, still-escaped text of each content line (a
parameterised property also under "NAME;PARAM=value"); "summary" and "description" are
the decoded text; DTSTART and DTEND are decoded by icalendar (TZID resolved through the
file's VTIMEZONE) and given in UTC.
Exits 1 when the text does not parse.
"""
import datetime as dt
import json
import sys

from icalendar import Calendar
from icalendar.parser import Contentlines
from icalendar.prop import vPeriod


def utc(value):
    """An aware datetime (or date) as 'YYYY-MM-DDTHH:MM:SSZ' in UTC."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M:%S") + " floating"
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def raw_components(text):
    """Property values per component, from the content lines (unfolded)."""
    out, stack = [], []
    for line in Contentlines.from_ical(text):
        if not line:
            continue
        name, params, value = line.parts()
        name = name.upper()
        if name == "BEGIN":
            stack.append({"component": value.upper(), "props": {}})
        elif name == "END":
            comp = stack.pop()
            if comp["component"] in ("VEVENT", "VFREEBUSY", "VTIMEZONE"):
                out.append(comp)
        elif stack:
            key = name
            if params:
                key += "".join(";%s=%s" % (k.upper(), v) for k, v in params.items())
            stack[-1]["props"].setdefault(name, []).append(value)
            if key != name:
                stack[-1]["props"].setdefault(key, []).append(value)
    return out


def main(argv):
    with open(argv[1], "rb") as f:
        text = f.read().decode("utf-8")
    try:
        cal = Calendar.from_ical(text)
        raw = raw_components(text)
    except Exception as e:  # icalendar raises ValueError and friends
        print("cannot parse: %s" % e, file=sys.stderr)
        return 1
    decoded = [c for c in cal.walk() if c.name in ("VEVENT", "VFREEBUSY", "VTIMEZONE")]
    for comp, out in zip(decoded, raw):
        for prop in ("DTSTART", "DTEND"):
            if comp.get(prop) is not None and comp.name != "VTIMEZONE":
                out[prop.lower()] = utc(comp.decoded(prop))
        for prop in ("SUMMARY", "DESCRIPTION"):
            if comp.get(prop) is not None:
                out[prop.lower()] = str(comp.get(prop))
        if comp.name == "VFREEBUSY":
            periods = []
            fbs = comp.get("FREEBUSY")
            if fbs is not None and not isinstance(fbs, list):
                fbs = [fbs]
            for fb in fbs or []:
                fbtype = str(fb.params.get("FBTYPE", "BUSY"))
                for part in fb.to_ical().decode().split(","):
                    start, end = vPeriod.from_ical(part)
                    if isinstance(end, dt.timedelta):
                        end = start + end
                    periods.append([fbtype, utc(start), utc(end)])
            out["periods"] = periods
    print(json.dumps(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
