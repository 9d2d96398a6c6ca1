#!/usr/bin/python3
"""caldav_bare.py -- python3-caldav pointed at the bare server URL (BASE + "/"), as a user
types it into a calendar program: it must find the principal and both calendars.

    caldav_bare.py BASE USER PASSWORD

Prints "ok ..." or "FAIL ..." lines; exits 0 when every check passed.  Run by
tests/http/test_dav.c.
"""
import sys

import caldav

base, user, password = sys.argv[1:4]
client = caldav.DAVClient(url=base + "/", username=user, password=password)
try:
    principal = client.principal()
    names = sorted(str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in principal.calendars())
except Exception as e:  # any client failure is the finding
    print("FAIL discovery at %s/: %s: %s" % (base, type(e).__name__, e))
    sys.exit(1)
ok = str(principal.url).endswith("/dav/principals/%s/" % user) and names == ["cab-votes", "schedule"]
print("%s principal %s, calendars %s" % ("ok" if ok else "FAIL", principal.url, names))
sys.exit(0 if ok else 1)
