#!/usr/bin/python3
"""make_reply.py STYLE OUT FROM ATTENDEE CN ORGANIZER UID SEQUENCE PARTSTAT MSGID

Writes one reply message to OUT in the style of a real client, as seen in their replies:
  outlook      Exchange/Outlook: multipart/alternative, text/calendar base64 with a
               Windows VTIMEZONE and X-MICROSOFT-CDO-* properties, "Accepted: ..." subject
  gmail        Google Calendar: multipart/mixed > multipart/alternative (plain, html,
               text/calendar 7bit) + application/ics attachment (base64)
  thunderbird  Thunderbird: multipart/mixed, text/plain, text/calendar 8bit, then an
               application/ics invite.ics attachment
  garbage      not a calendar reply at all
FROM is the From header ("Name <addr>"); ATTENDEE the address in the ATTENDEE property.
"""
import base64
import sys

style, out, frm, att, cn, org, uid, seq, partstat, msgid = sys.argv[1:11]
STAMP = "20300101T120000Z"
word = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "Tentative"}.get(partstat, partstat)


def crlf(s):
    return s.lstrip("\n").replace("\n", "\r\n")


def b64(s):
    e = base64.b64encode(s.encode()).decode()
    return "\r\n".join(e[i:i + 76] for i in range(0, len(e), 76))


if style == "outlook":
    ics = crlf(f"""BEGIN:VCALENDAR
METHOD:REPLY
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ORGANIZER;CN=Transom CAB:mailto:{org}
ATTENDEE;PARTSTAT={partstat};CN={cn}:mailto:{att}
COMMENT;LANGUAGE=en-US:\\n
SUMMARY;LANGUAGE=en-US:{word}: CAB vote
DTSTART;TZID=W. Europe Standard Time:20300102T150000
DTEND;TZID=W. Europe Standard Time:20300102T160000
UID:{uid}
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:{STAMP}
TRANSP:TRANSPARENT
STATUS:CONFIRMED
SEQUENCE:{seq}
LOCATION;LANGUAGE=en-US:
X-MICROSOFT-CDO-APPT-SEQUENCE:{seq}
X-MICROSOFT-CDO-OWNERAPPTID:0
X-MICROSOFT-CDO-REPLYTIME:{STAMP}
X-MICROSOFT-CDO-BUSYSTATUS:FREE
X-MICROSOFT-CDO-INTENDEDSTATUS:FREE
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
X-MICROSOFT-CDO-IMPORTANCE:1
X-MICROSOFT-CDO-INSTTYPE:0
X-MICROSOFT-DONOTFORWARDMEETING:FALSE
X-MICROSOFT-DISALLOW-COUNTER:FALSE
END:VEVENT
END:VCALENDAR
""")
    msg = crlf(f"""From: {frm}
To: "Transom CAB" <{org}>
Subject: {word}: CAB vote
Thread-Topic: CAB vote
Thread-Index: AQHaBcDeFgHiJkLmNoPqRsTuVwXyZ0==
Date: Wed, 1 Jan 2030 12:00:00 +0000
Message-ID: <{msgid}>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
\tboundary="_000_DM6PR11MB0001namprd11prodoutlookcom_"
MIME-Version: 1.0

--_000_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable


--_000_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: text/calendar; charset="utf-8"; method=REPLY
Content-Transfer-Encoding: base64

""") + b64(ics) + "\r\n\r\n--_000_DM6PR11MB0001namprd11prodoutlookcom_--\r\n"
elif style == "gmail":
    ics = crlf(f"""BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REPLY
BEGIN:VEVENT
DTSTART:20300102T140000Z
DTEND:20300102T150000Z
DTSTAMP:{STAMP}
ORGANIZER;CN=Transom CAB:mailto:{org}
UID:{uid}
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={cn};X-NUM-GUESTS=0:mailto:{att}
CREATED:20291231T120000Z
DESCRIPTION:Your vote is asked
LAST-MODIFIED:{STAMP}
LOCATION:
SEQUENCE:{seq}
STATUS:CONFIRMED
SUMMARY:CAB vote
TRANSP:TRANSPARENT
END:VEVENT
END:VCALENDAR
""")
    msg = crlf(f"""MIME-Version: 1.0
Date: Wed, 1 Jan 2030 12:00:00 +0000
Message-ID: <{msgid}>
Subject: Invitation: CAB vote @ Wed Jan 2, 2030 3pm - 4pm (CET) ({att})
From: {frm}
To: {org}
Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60717"

--000000000000a1b2c3d4e5f60717
Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes

{cn} has accepted this invitation.

--000000000000a1b2c3d4e5f60717
Content-Type: text/html; charset="UTF-8"

<p>{cn} has accepted this invitation.</p>

--000000000000a1b2c3d4e5f60717
Content-Type: text/calendar; charset="UTF-8"; method=REPLY
Content-Transfer-Encoding: 7bit

""") + ics + crlf("""
--000000000000a1b2c3d4e5f60717--

--000000000000a1b2c3d4e5f60718
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

""") + b64(ics) + "\r\n--000000000000a1b2c3d4e5f60718--\r\n"
elif style == "thunderbird":
    ics = crlf(f"""BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
CREATED:20291231T120000Z
LAST-MODIFIED:{STAMP}
DTSTAMP:{STAMP}
UID:{uid}
SUMMARY:CAB vote
ORGANIZER;CN=Transom CAB:mailto:{org}
ATTENDEE;RSVP=TRUE;CN={cn};PARTSTAT={partstat};ROLE=REQ-PARTICIPANT;CUTYPE=INDIVIDUAL:mailto:{att}
DTSTART:20300102T140000Z
DTEND:20300102T150000Z
SEQUENCE:{seq}
TRANSP:TRANSPARENT
X-MOZ-RECEIVED-SEQUENCE:{seq}
X-MOZ-RECEIVED-DTSTAMP:{STAMP}
X-MOZ-GENERATION:1
END:VEVENT
END:VCALENDAR
""")
    msg = crlf(f"""Message-ID: <{msgid}>
Date: Wed, 1 Jan 2030 13:00:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: {frm}
To: Transom CAB <{org}>
Subject: {word}: CAB vote
Content-Type: multipart/mixed; boundary="------------2Xq9bFz0aJ8k3Lm4Np5Qr6St"

This is a multi-part message in MIME format.
--------------2Xq9bFz0aJ8k3Lm4Np5Qr6St
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

{cn} has accepted your event invitation.

--------------2Xq9bFz0aJ8k3Lm4Np5Qr6St
Content-Type: text/calendar; charset=UTF-8; method=REPLY
Content-Transfer-Encoding: 8bit

""") + ics + crlf("""
--------------2Xq9bFz0aJ8k3Lm4Np5Qr6St
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

""") + b64(ics) + "\r\n--------------2Xq9bFz0aJ8k3Lm4Np5Qr6St--\r\n"
else:
    msg = crlf(f"""From: {frm}
Message-ID: <{msgid}>
Subject: re: hello
Content-Type: text/calendar; method=REPLY

BEGIN:VCALENDAR
this is not
 a calendar \x01 at all
END:NOTHING
""")
with open(out + ".tmp", "w", newline="") as f:
    f.write(msg)
import os
os.rename(out + ".tmp", out)
