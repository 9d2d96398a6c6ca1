#!/usr/bin/python3
"""caldav_client.py -- drives Transom's CalDAV server with python3-caldav (Debian's, 0.11),
as a calendar program would: discovery from /.well-known/caldav, the calendar list, a
time-range search, sync tokens, and a vote by PARTSTAT on a cab-votes event.

    caldav_client.py BASE USER PASSWORD CHANGE_ID SCHEDULED_TITLE

Prints one line per check ("ok name" or "FAIL name: why") and the last sync token as
"token <value>"; exits 0 when every check passed.  Run by tests/http/test_dav.c.
"""
import datetime
import sys

import caldav
from caldav.lib import error

base, user, password, change_id, scheduled_title = sys.argv[1:6]
failures = 0


def check(name, cond, why=""):
    global failures
    if cond:
        print("ok", name)
    else:
        failures += 1
        print("FAIL %s: %s" % (name, why))
    sys.stdout.flush()


client = caldav.DAVClient(url=base + "/.well-known/caldav", username=user, password=password)
principal = client.principal()
check("principal", str(principal.url).endswith("/dav/principals/%s/" % user), str(principal.url))
addresses = principal.calendar_user_address_set()
check("address set has mailto first", addresses and addresses[0].startswith("mailto:"), str(addresses))

calendars = {str(c.url).rstrip("/").rsplit("/", 1)[-1]: c for c in principal.calendars()}
check("two calendars", sorted(calendars) == ["cab-votes", "schedule"], str(sorted(calendars)))
schedule, votes = calendars.get("schedule"), calendars.get("cab-votes")
if schedule is None or votes is None:
    sys.exit(1)

now = datetime.datetime.now(datetime.timezone.utc)
found = schedule.date_search(start=now - datetime.timedelta(days=1),
                             end=now + datetime.timedelta(days=400), expand=False)
summaries = [str(e.icalendar_component.get("summary")) for e in found]
check("time-range search finds the scheduled change",
      any(scheduled_title in s for s in summaries), "%d events: %s" % (len(found), summaries[:5]))
empty = schedule.date_search(start=datetime.datetime(1990, 1, 1, tzinfo=datetime.timezone.utc),
                             end=datetime.datetime(1990, 2, 1, tzinfo=datetime.timezone.utc),
                             expand=False)
check("time-range search outside the horizon is empty", len(empty) == 0, str(len(empty)))

# Sync: a full listing with a token, then nothing new under that token.
full = votes.objects_by_sync_token(load_objects=True)
token = full.sync_token
check("sync token handed out", bool(token), repr(token))
again = votes.objects_by_sync_token(sync_token=token, load_objects=False)
check("nothing changed under the same token", len(list(again)) == 0, str(list(again)))


def vote_event():
    for ev in votes.events():
        if str(ev.icalendar_component.get("x-transom-change")) == change_id:
            return ev
    return None


ev = vote_event()
check("the change awaits the member's vote", ev is not None, change_id)
if ev is None:
    sys.exit(1)
comp = ev.icalendar_component
check("no METHOD in a CalDAV object", b"METHOD" not in ev.data.encode(), ev.data[:200])
check("organizer is the agent", str(comp.get("organizer")).startswith("mailto:cab@"),
      str(comp.get("organizer")))

# Moving the event is not the attendee's to do: 403.
moved = vote_event()
moved.icalendar_component["dtstart"].dt = moved.icalendar_component["dtstart"].dt + \
    datetime.timedelta(hours=1)
try:
    moved.save()
    check("changing DTSTART is refused", False, "the PUT succeeded")
except (error.AuthorizationError, error.PutError) as e:
    # caldav 0.11 turns a 403 into AuthorizationError without the body; test_dav.c
    # checks the CALDAV:allowed-attendee-scheduling-object-change body itself.
    check("changing DTSTART is refused", "Forbidden" in str(e) or "403" in str(e), str(e))

# Accept: the PARTSTAT change is the vote.
ev = vote_event()
ev.change_attendee_status(partstat="ACCEPTED")
try:
    ev.save()
    check("accepting saves", True)
except error.PutError as e:
    check("accepting saves", False, str(e))

after = votes.objects_by_sync_token(sync_token=token, load_objects=False)
changed = [str(o.url) for o in after]
check("the sync token moved", after.sync_token != token, "%s == %s" % (after.sync_token, token))
check("the voted object is reported as changed",
      any(change_id in u for u in changed), str(changed))
print("token", after.sync_token)
sys.exit(1 if failures else 0)
