#!/usr/bin/python3
"""test_web_ops.py -- incidents, problems and admin in real Chromium: the incidents list
filtered by priority and team with SLA clocks counting down, an incident's page with the
change that caused it and its timeline, a team's queue updated live, problems, and an admin
making a token (the secret shown once) and revoking it, the reports drawn with a CSV of
the same figures; axe-core and a screenshot on every page."""
import time

import webtest as W

def incident(t, title, service, priority, **more):
    body = {'title': title, 'service': service, 'priority': priority, **more}
    s, b = t.api('POST', '/v1/incidents', W.token_for('grossi', 'requester'), body)
    if s != 201:
        raise W.CheckFailed(f'incident: {s} {b}')
    return b


def test_incidents_filter_and_sla_countdown(t):
    p1 = incident(t, 'Checkout down', 'payments', 'P1')
    p3 = incident(t, 'Slow receipts', 'payments', 'P3')
    other = incident(t, 'Login slow', 'identity', 'P1')
    t.sign_in('dschmidt', 'change_manager')
    t.open('/app/incidents', wait_for='tbody tr[data-id]')
    ids = [r.get_attribute('data-id') for r in t.css('tbody tr[data-id]')]
    t.check({p1['id'], p3['id'], other['id']} <= set(ids), f'all listed: {ids}')
    t.axe('the incidents list')
    t.screenshot('incidents')
    # Filter: P1 of the payments team.
    t.css('select[name=priority] option[value=P1]')[0].click()
    team = t.css('input[name=team]')[0]
    team.send_keys(p1['assignment_group'])
    t.css('.ops-filters button[type=submit]')[0].click()
    t.wait(lambda d: 'priority=P1' in d.current_url and 'team=' in d.current_url, what='the filters in the URL')
    t.wait(lambda d: [r.get_attribute('data-id') for r in t.css('tbody tr[data-id]')] == [p1['id']],
           what='only the P1 payments incident')
    t.check('queue' in t.text('main h1'), f'the team queue heading: {t.text("main h1")}')
    sla = t.css(f'tr[data-id="{p1["id"]}"] .sla')[0]
    first = sla.text
    t.check('response due in' in first, f'the response clock: {first}')
    t.wait(lambda d: t.css(f'tr[data-id="{p1["id"]}"] .sla')[0].text != first, what='the clock ticking')
    t.check(sla.get_attribute('data-due') == p1['timers'][0]['due_at'], 'the clock counts to the API due_at')
    # Live: a new P1 for the team appears without a reload.
    newer = incident(t, 'Refunds failing', 'payments', 'P1')
    t.wait(lambda d: newer['id'] in [r.get_attribute('data-id') for r in t.css('tbody tr[data-id]')],
           timeout=15, what='the new incident in the live queue')
    t.screenshot('incidents-queue')


def test_incident_page_shows_cause_and_timeline(t):
    req = W.token_for('grossi', 'requester')
    s, chg = t.api('POST', '/v1/changes', req, {'title': 'Pooler upgrade', 'type': 'normal',
                                               'services': ['payments']})
    inc = incident(t, 'Errors after pooler upgrade', 'payments', 'P2', caused_by=chg['id'])
    mgr = W.token_for('dschmidt', 'change_manager')
    t.api('POST', f'/v1/incidents/{inc["id"]}/transitions', mgr, {'event': 'start', 'comment': 'on it'})
    t.sign_in('dschmidt', 'change_manager')
    t.open(f'/app/incidents/{inc["id"]}', wait_for='#h-tl')
    t.check(inc['id'] in t.text('main h1'), 'the heading names the incident')
    links = [a.get_attribute('href') for a in t.css('#h-cause ~ ul a')]
    t.check(any(h.endswith(f'/app/changes/{chg["id"]}') for h in links), f'the cause links: {links}')
    tl = t.text('.ops-timeline')
    t.check('start' in tl and 'dschmidt' in tl, f'the timeline: {tl}')
    t.check('resolution due in' in t.text('#h-sla ~ ul'), f'the resolution clock: {t.text("#h-sla ~ ul")}')
    t.axe('an incident')
    t.screenshot('incident')


def test_problems(t):
    inc = incident(t, 'Repeated timeouts', 'ledger', 'P3')
    s, prb = t.api('POST', '/v1/problems', W.token_for('grossi', 'requester'),
                   {'title': 'Ledger timeouts', 'incidents': [inc['id']]})
    t.check(s == 201, f'problem: {s} {prb}')
    t.sign_in('amartin', 'cab')
    t.open('/app/problems', wait_for='tbody tr[data-id]')
    t.check(prb['id'] in [r.get_attribute('data-id') for r in t.css('tbody tr[data-id]')], 'listed')
    t.axe('the problems list')
    t.screenshot('problems')
    t.css(f'tr[data-id="{prb["id"]}"] a')[0].click()
    t.wait_css('#h-tl')
    t.check(inc['id'] in t.text('#h-rel ~ ul'), 'the problem names its incident')
    t.axe('a problem')
    t.screenshot('problem')


def test_reports_render_and_the_csv_has_the_same_figures(t):
    req = W.token_for('grossi', 'requester')
    s, chg = t.api('POST', '/v1/changes', req, {'title': 'Cache flush', 'type': 'normal',
                                               'services': ['payments']})
    incident(t, 'Stale prices', 'payments', 'P3', caused_by=chg['id'])
    incident(t, 'Unrelated blip', 'payments', 'P4')
    t.sign_in('dschmidt', 'change_manager')
    t.open('/app/reports', wait_for='.rep-card svg')
    t.wait(lambda d: len(t.css('.rep-card')) == 6, what='six reports')
    t.check(len(t.css('.rep-card svg.chart')) == 6, 'each report is drawn')
    t.check(len(t.css('.rep-card[data-report=approval-latency]')) == 1 and
            len(t.css('.rep-card[data-report=gate-decisions]')) == 1,
            'approval latency and gate decisions are among them')
    card = t.css('.rep-card[data-report=change-incidents]')[0]
    t.check(card.find_elements(W.By.CSS_SELECTOR, 'svg rect'), 'the incidents chart has bars')
    t.axe('the reports')
    t.screenshot('reports')
    rows = t.driver.execute_script(
        'return [...arguments[0].querySelectorAll("tbody tr")].map((r) =>'
        ' [...r.children].map((c) => c.textContent).join(","))', card)
    href = card.find_element(W.By.CSS_SELECTOR, 'a.rep-csv').get_attribute('href')
    t.check('format=csv' in href, f'the CSV link: {href}')
    csv = t.driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'fetch(arguments[0]).then((r) => r.text().then((b) => done([r.status, r.headers.get("Content-Type"), b])));', href)
    t.check(csv[0] == 200 and 'text/csv' in csv[1], f'the CSV downloads: {csv[:2]}')
    lines = csv[2].strip().split('\r\n')
    t.check(lines[0] == 'bucket,incidents,change_caused', f'its header: {lines[0]}')
    t.check(lines[1:] == [r.replace('—', '') for r in rows], f'the same figures: {lines[1:]} vs {rows}')
    caused = [int(r.split(',')[2]) for r in rows]
    t.check(sum(caused) >= 1, f'a change-caused incident is counted: {rows}')
    # A requester has no Reports link and the API refuses them.
    t.sign_in('grossi', 'requester')
    t.check(not [a for a in t.css('#nav a') if a.text == 'Reports'], 'no Reports link for a requester')


def test_admin_creates_and_revokes_a_token(t):
    t.sign_in('root', 'admin')
    t.open('/app/admin', wait_for='#h-newtok')
    t.axe('admin: tokens')
    t.css('input[name=user]')[0].send_keys('kwebb')
    t.css('form.card button[type=submit]')[0].click()
    t.wait_text('.field[data-field=roles] .error, .error-box', 'role')
    t.css('input[name=roles][value=requester]')[0].click()
    t.css('form.card button[type=submit]')[0].click()
    t.wait_css('.secret-box output')
    tok = t.text('.secret-box output')
    t.check(tok.startswith('trn_'), f'the secret is shown: {tok[:6]}…')
    s, me = t.server.api('GET', '/v1/me', tok)
    t.check(s == 200 and me.get('user') == 'kwebb', f'the new token works: {s}')
    t.screenshot('admin-token')
    row = [r for r in t.css('tr[data-token]') if 'kwebb' in r.text][0]
    tid = row.get_attribute('data-token')
    t.driver.execute_script('window.confirm = () => true')
    row.find_element(W.By.CSS_SELECTOR, 'button').click()
    t.wait_text('main', f'Token {tid} revoked')
    s, _ = t.server.api('GET', '/v1/me', tok)
    t.check(s == 401, f'the revoked token is refused: {s}')
    t.driver.refresh()
    t.wait_css('tr[data-token]')
    t.check(not t.css('.secret-box'), 'the secret is not shown again')
    for section in ('users', 'app-passwords', 'feeds', 'webhooks', 'definitions', 'audit'):
        t.open(f'/app/admin/{section}', wait_for='main h1')
        t.wait(lambda d: not t.css('main .loading'), what=f'admin {section} loaded')
        t.axe(f'admin: {section}')
        t.screenshot(f'admin-{section}')
    t.css('main .actions button')[0].click()
    t.wait_text('.audit-result', 'verifies')


def test_admin_needs_the_admin_role(t):
    t.sign_in('grossi', 'requester')
    t.open('/app/admin', wait_for='main h1')
    t.wait(lambda d: t.css('.error-box') or t.css('#status .error'), what='a refusal')
    t.check(not [a for a in t.css('#nav a') if a.text == 'Admin'], 'no Admin link for a requester')


def test_phone_sized(t):
    incident(t, 'Phone incident', 'payments', 'P2')
    t.set_size(390, 844)
    try:
        t.sign_in('mpetrov', 'cab')
        for page in ('/app/incidents', '/app/problems'):
            t.open(page, wait_for='main h1')
            time.sleep(0.3)
            width = t.driver.execute_script('return document.documentElement.scrollWidth')
            t.check(width <= 390, f'{page}: no sideways scrolling on a phone: {width}px')
        t.screenshot('incidents-phone')
    finally:
        t.set_size(1280, 900)


W.main([test_incidents_filter_and_sla_countdown, test_incident_page_shows_cause_and_timeline,
        test_problems, test_reports_render_and_the_csv_has_the_same_figures,
        test_admin_creates_and_revokes_a_token, test_admin_needs_the_admin_role,
        test_phone_sized])
