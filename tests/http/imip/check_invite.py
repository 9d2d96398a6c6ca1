#!/usr/bin/python3
"""check_invite.py FILE.eml -- checks one invitation with independent parsers (the email
package and python3-icalendar) and prints one JSON line:
{"ok", "errors", "to", "method", "sequence", "uid", "organizer", "rsvp", "partstat",
 "layout", "links", "summary", "dtstart"}.
"""
import email
import email.policy
import json
import re
import sys

from icalendar import Calendar

errors = []
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
out = {"to": str(msg["To"]), "errors": errors}
if msg.get_content_type() != "multipart/mixed":
    errors.append("top is %s" % msg.get_content_type())
parts = list(msg.iter_parts()) if msg.is_multipart() else []
layout = [p.get_content_type() for p in parts]
alt = parts[0] if parts else None
if alt is not None and alt.get_content_type() == "multipart/alternative":
    layout = ["multipart/alternative(" + ",".join(p.get_content_type() for p in alt.iter_parts()) + ")"] + layout[1:]
out["layout"] = layout
cal_part = None
for p in msg.walk():
    if p.get_content_type() == "text/calendar":
        cal_part = p
        break
if cal_part is None:
    errors.append("no text/calendar part")
else:
    out["ct_method"] = cal_part.get_param("method")
    if cal_part["Content-Transfer-Encoding"] != "base64":
        errors.append("calendar part not base64")
    ics = cal_part.get_payload(decode=True)
    cal = Calendar.from_ical(ics)
    out["method"] = str(cal.get("METHOD"))
    ev = [c for c in cal.walk() if c.name == "VEVENT"]
    if len(ev) != 1:
        errors.append("%d VEVENTs" % len(ev))
    else:
        e = ev[0]
        out["uid"] = str(e.get("UID"))
        out["sequence"] = int(e.get("SEQUENCE", 0))
        out["organizer"] = str(e.get("ORGANIZER"))
        out["summary"] = str(e.get("SUMMARY"))
        out["dtstart"] = e.decoded("DTSTART").isoformat()
        out["status"] = str(e.get("STATUS"))
        if e.get("RRULE") is not None:
            errors.append("recurring")
        att = e.get("ATTENDEE")
        if isinstance(att, list):
            errors.append("several attendees")
            att = att[0]
        out["attendee"] = str(att)
        out["rsvp"] = att.params.get("RSVP")
        out["partstat"] = att.params.get("PARTSTAT")
    out["raw_has_method"] = b"METHOD:" + out.get("method", "").encode() in ics
text = None
for p in msg.walk():
    if p.get_content_type() == "text/plain":
        text = p.get_content()
        break
out["links"] = re.findall(r"https?://\S+/v/(\S+)", text or "")
out["ok"] = not errors
print(json.dumps(out))
