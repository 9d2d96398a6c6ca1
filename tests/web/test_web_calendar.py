#!/usr/bin/python3
"""test_web_calendar.py -- the change calendar in real Chromium: a booked change on the
timeline and in the table, clicking it opens the change, a change manager reschedules it
from the calendar and sees a refusal explained (problem detail and field), the service
filter, axe-core on the page, and a phone-sized screenshot."""
import datetime as dt

import webtest as W


def book(t, title, not_after_days=None):
    """A low-risk normal change on 'reporting', submitted and approved: (id, schedule)."""
    req = W.token_for('grossi', 'requester')
    body = {'title': title, 'type': 'normal', 'services': ['reporting'], 'duration': 'PT1H',
            'description': 'new column', 'implementation_plan': 'deploy the new view',
            'rollback_plan': 'redeploy the previous release from the registry',
            'test_evidence': 'ci run 812 green'}
    if not_after_days:
        body['not_after'] = (dt.datetime.now(dt.timezone.utc) +
                             dt.timedelta(days=not_after_days)).strftime('%Y-%m-%dT%H:%M:%SZ')
    s, b = t.api('POST', '/v1/changes', req, body)
    if s != 201:
        raise W.CheckFailed(f'create: {s} {b}')
    cid = b['id']
    s, b = t.api('POST', f'/v1/changes/{cid}/transitions', req, {'event': 'submit'})
    s, b = t.api('POST', f'/v1/changes/{cid}/approvals', W.token_for('cnguyen', 'cab'),
                 {'decision': 'approve'})
    s, b = t.api('GET', f'/v1/changes/{cid}')
    if b.get('state') != 'scheduled':
        raise W.CheckFailed(f'{cid} not booked: {b.get("state")} {b.get("schedule")}')
    return cid, b['schedule']


def week_of(iso):
    return iso[:10]


def test_booking_on_the_calendar_opens_the_change(t):
    cid, sched = book(t, 'Calendar booking')
    t.sign_in('bokafor', 'cab,requester')
    t.open(f'/app/calendar?date={week_of(sched["start"])}', wait_for='.tl')
    t.check(t.text('main h1') == 'Change calendar', 'the heading')
    links = [a for a in t.css('a.tl-booking') if a.text.startswith(cid)]
    t.check(links, f'{cid} is on the timeline')
    rows = [r for r in t.css('tbody tr[data-kind=booking]') if cid in r.text]
    t.check(rows, f'{cid} is in the table')
    t.check(t.css('tbody tr[data-kind=window]'), 'maintenance windows are listed')
    t.check(not t.css('button[data-reschedule]'), 'no reschedule button for a CAB member')
    t.axe('the calendar (week)')
    t.screenshot('calendar-week')
    t.open(f'/app/calendar?view=month&date={week_of(sched["start"])}', wait_for='.tl')
    t.check(t.css('tbody tr[data-kind=freeze-hard]') or t.css('tbody tr[data-kind=window]'),
            'the month shows windows or freezes')
    t.axe('the calendar (month)')
    t.screenshot('calendar-month')
    t.open(f'/app/calendar?date={week_of(sched["start"])}', wait_for='.tl')
    link = [a for a in t.css('a.tl-booking') if a.text.startswith(cid)][0]
    href = link.get_attribute('href')
    t.check(href.endswith(f'/app/changes/{cid}'), f'the booking links to its change: {href}')
    t.driver.execute_script('arguments[0].click()', link)
    t.wait(lambda d: d.current_url.endswith(f'/app/changes/{cid}'), what='the change page')


def test_filter_by_service(t):
    cid, sched = book(t, 'Filtered booking')
    t.sign_in('amartin', 'cab')
    t.open(f'/app/calendar?date={week_of(sched["start"])}&service=payments', wait_for='.tl')
    t.check(not [r for r in t.css('tbody tr[data-kind=booking]') if cid in r.text],
            'a reporting change is not on the payments calendar')
    names = [n.text for n in t.css('.tl-row:not(.tl-head) .tl-name')]
    t.check(names == ['payments'], f'one row, the service: {names}')
    inp = t.css('input[name=service]')[0]
    inp.clear()
    inp.send_keys('reporting')
    t.css('.cal-filters button[type=submit]')[0].click()
    t.wait(lambda d: 'service=reporting' in d.current_url, what='the filter in the URL')
    t.wait(lambda d: [r for r in t.css('tbody tr[data-kind=booking]') if cid in r.text],
           what=f'{cid} on the reporting calendar')


def test_change_manager_reschedules_and_sees_a_refusal(t):
    cid, sched = book(t, 'Movable booking', not_after_days=3)
    t.sign_in('dschmidt', 'change_manager')
    t.open(f'/app/calendar?date={week_of(sched["start"])}', wait_for='.tl')
    t.css(f'button[data-reschedule="{cid}"]')[0].click()
    t.wait_css('.cal-resched form')
    nb = t.css('input[name=not_before]')[0]
    late = (dt.datetime.now() + dt.timedelta(days=5)).strftime('%Y-%m-%dT%H:%M')
    t.driver.execute_script('arguments[0].value = arguments[1]', nb, late)
    t.css('input[name=reason]')[0].send_keys('vendor delay')
    t.css('.cal-resched button[type=submit]')[0].click()
    t.wait_text('.cal-resched .error-box', 'Not rescheduled')
    t.check('not_after' in t.text('.cal-resched .error-box'),
            f'the refusal says why: {t.text(".cal-resched .error-box")}')
    t.check('not_after' in (t.text('.cal-resched .field[data-field=not_before] .error') or ''),
            'and shows it at the field')
    t.axe('the calendar with a refusal')
    t.screenshot('calendar-refusal')
    s, b = t.api('GET', f'/v1/changes/{cid}')
    t.check(b['schedule']['start'] == sched['start'], 'the refused change did not move')
    # A legal time: the day after its slot.
    soon = dt.datetime.fromisoformat(sched['end'].replace('Z', '+00:00')) + dt.timedelta(hours=6)
    local = soon.astimezone().strftime('%Y-%m-%dT%H:%M')
    t.driver.execute_script('arguments[0].value = arguments[1]', nb, local)
    t.css('.cal-resched button[type=submit]')[0].click()
    t.wait_text('#status', 'rescheduled')
    s, b = t.api('GET', f'/v1/changes/{cid}')
    t.check(b['schedule']['start'] > sched['start'], f'moved later: {b["schedule"].get("start")}')


def test_phone_sized(t):
    cid, sched = book(t, 'Phone booking')
    t.set_size(390, 844)
    try:
        t.sign_in('mpetrov', 'cab')
        t.open(f'/app/calendar?date={week_of(sched["start"])}', wait_for='.tl')
        width = t.driver.execute_script('return document.documentElement.scrollWidth')
        t.check(width <= 390, f'no sideways scrolling of the page on a phone: {width}px')
        t.screenshot('calendar-phone')
    finally:
        t.set_size(1280, 900)


if __name__ == '__main__':
    W.main([test_booking_on_the_calendar_opens_the_change, test_filter_by_service,
            test_change_manager_reschedules_and_sees_a_refusal, test_phone_sized])
