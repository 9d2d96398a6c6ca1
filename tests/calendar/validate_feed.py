#!/usr/bin/python3
"""validate_feed.py -- checks iCalendar files Transom serves (feeds, free/busy) with an
independent parser, python3-icalendar (Debian's, hence /usr/bin/python3).

Usage: tests/calendar/validate_feed.py FILE...

Per file, every check below must hold:
  - the bytes are UTF-8, every line ends with CRLF (no bare CR or LF), the text ends
    with CRLF, and no physical line is longer than 75 octets (RFC 5545 3.1);
  - continuation lines (folded) start with one space or tab and follow a line;
  - python3-icalendar parses it as exactly one VCALENDAR and records no property errors;
  - the VCALENDAR has VERSION:2.0 and PRODID;
  - every VEVENT has UID, DTSTAMP and DTSTART; UIDs of VEVENTs without RECURRENCE-ID
    are unique; DTEND is not before DTSTART (compared as instants when both are
    date-times);
  - every TZID parameter used names a VTIMEZONE of the file;
  - no ATTENDEE anywhere, no ORGANIZER in a VEVENT (feeds must not offer RSVP).
Prints one line per failed check ("FAIL file: reason"), then "N passed, N failed"
(files); exits 1 when a file failed, 2 on a usage error.
"""
import datetime as dt
import sys

from icalendar import Calendar
from icalendar.parser import Contentlines


def check_lines(data):
    """Octet-level checks on the raw bytes; returns a list of problems."""
    errors = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return ["not UTF-8: %s" % e]
    if not data.endswith(b"\r\n"):
        errors.append("does not end with CRLF")
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            errors.append("line %d: bare CR or LF" % n)
            break
        if len(line) > 75:
            errors.append("line %d: %d octets (max 75)" % (n, len(line)))
        if n == 1 and line[:1] in (b" ", b"\t"):
            errors.append("line 1: continuation without a line before")
        if line == b"":
            errors.append("line %d: empty line" % n)
    if text and not text.startswith("BEGIN:VCALENDAR\r\n"):
        errors.append("does not start with BEGIN:VCALENDAR")
    return errors


def content_lines(text):
    """(name, params) of every unfolded content line, parsed by icalendar."""
    out = []
    for cl in Contentlines.from_ical(text):
        if not cl:
            continue
        name, params, _value = cl.parts()
        out.append((name.upper(), params))
    return out


def instant(v):
    """A comparable value of a DTSTART/DTEND: aware datetimes in UTC, dates as is."""
    d = v.dt
    if isinstance(d, dt.datetime):
        if d.tzinfo is None:
            return ("floating", d)
        return ("utc", d.astimezone(dt.timezone.utc))
    return ("date", d)


def check_calendar(data):
    """Structural checks through python3-icalendar; returns a list of problems."""
    errors = []
    text = data.decode("utf-8", errors="replace")
    try:
        cal = Calendar.from_ical(text)
    except Exception as e:  # icalendar raises ValueError and friends
        return ["python3-icalendar cannot parse it: %s" % e]
    if cal.name != "VCALENDAR":
        return ["top component is %s, not VCALENDAR" % cal.name]
    if str(cal.get("VERSION", "")) != "2.0":
        errors.append("VERSION:2.0 missing")
    if not str(cal.get("PRODID", "")):
        errors.append("PRODID missing")

    tzids = set()
    uids = {}
    for comp in cal.walk():
        for name, msg in getattr(comp, "errors", []) or []:
            errors.append("%s: property %s: %s" % (comp.name, name, msg))
        if comp.name == "VTIMEZONE":
            tzids.add(str(comp.get("TZID", "")))
        if comp.name != "VEVENT":
            continue
        uid = str(comp.get("UID", ""))
        where = "VEVENT %s" % (uid or "(no UID)")
        for prop in ("UID", "DTSTAMP", "DTSTART"):
            if comp.get(prop) is None:
                errors.append("%s: %s missing" % (where, prop))
        if "ORGANIZER" in comp:
            errors.append("%s: ORGANIZER in a feed" % where)
        if uid and "RECURRENCE-ID" not in comp:
            if uid in uids:
                errors.append("%s: duplicate UID" % where)
            uids[uid] = True
        start, end = comp.get("DTSTART"), comp.get("DTEND")
        if start is not None and end is not None:
            a, b = instant(start), instant(end)
            if a[0] == b[0] and b[1] < a[1]:
                errors.append("%s: DTEND before DTSTART" % where)

    try:
        lines = content_lines(text)
    except Exception as e:
        return errors + ["content lines do not parse: %s" % e]
    for name, params in lines:
        if name == "ATTENDEE":
            errors.append("ATTENDEE present")
        tzid = params.get("TZID")
        if tzid is not None and str(tzid) not in tzids:
            errors.append("%s;TZID=%s without a VTIMEZONE" % (name, tzid))
    return errors


def main(argv):
    if len(argv) < 2:
        print("usage: validate_feed.py FILE...", file=sys.stderr)
        return 2
    passed = failed = 0
    for path in argv[1:]:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            errors = ["cannot read: %s" % e]
        else:
            errors = check_lines(data)
            if not any(e.startswith("not UTF-8") for e in errors):
                errors += check_calendar(data)
        if errors:
            failed += 1
            for e in errors:
                print("FAIL %s: %s" % (path, e))
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
