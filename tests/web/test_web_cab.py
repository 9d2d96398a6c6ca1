#!/usr/bin/python3
"""test_web_cab.py -- the CAB board in real Chromium: what waits for my vote and the agenda
of the next CAB meeting (GET /v1/cab/meetings), a one-click approval with a comment at phone
size (390x844) that moves the change on, a refusal (segregation of duties) shown at the
item, live updates from votes cast elsewhere, what was decided since the last meeting;
axe-core and screenshots."""
import webtest as W

PLANS = {'description': 'reindex', 'implementation_plan': 'blue/green index swap',
         'rollback_plan': 'swap back', 'test_evidence': 'staging run 7'}


def filed(t, tok, title, services=('search',)):
    status, rec = t.api('POST', '/v1/changes', tok, {'title': title, 'type': 'normal', 'services': list(services),
                                                     'duration': 'PT30M', **PLANS})
    if status != 201:
        raise W.CheckFailed(f'create {title}: {status} {rec}')
    status, rec = t.api('POST', f'/v1/changes/{rec["id"]}/transitions', tok, {'event': 'submit'})
    if status != 200 or rec['state'] != 'authorize':
        raise W.CheckFailed(f'submit {title}: {status} {rec}')
    return rec


def item(t, box, cid):
    els = t.css(f'{box} li.cab-item[data-id="{cid}"]')
    return els[0] if els else None


def test_board_and_approve_on_a_phone(t):
    req = W.token_for('grossi', 'requester')
    a = filed(t, req, 'Rebuild the search index')
    b = filed(t, req, 'Tune search synonyms')
    t.set_size(390, 844)
    try:
        t.sign_in('bokafor', 'cab,requester')
        t.open('/app/cab', wait_for='#cab-mine li.cab-item')
        t.check(item(t, '#cab-mine', a['id']) and item(t, '#cab-mine', b['id']), 'both wait for my vote')
        t.check(item(t, '#cab-agenda', a['id']) is not None, 'and are on the agenda')
        t.check('Next CAB meeting:' in t.text('#h-cab-agenda'), f'the next meeting: {t.text("#h-cab-agenda")}')
        width = t.driver.execute_script('return document.documentElement.scrollWidth')
        t.check(width <= 390, f'no sideways scrolling on a phone: {width}px')
        t.axe('the CAB board (phone)')
        t.screenshot('cab-board-phone')
        el = item(t, '#cab-mine', a['id'])
        el.find_element(W.By.CSS_SELECTOR, 'input[name=comment]').send_keys('looks safe')
        el.find_element(W.By.CSS_SELECTOR, 'button[data-vote=approve]').click()
        t.wait(lambda d: item(t, '#cab-mine', a['id']) is None, what='the item leaves my list')
        t.check(item(t, '#cab-mine', b['id']) is not None, 'the other one still waits')
        status, rec = t.api('GET', f'/v1/changes/{a["id"]}/approvals', req)
        votes = [v for v in rec.get('votes', []) if v['user'] == 'bokafor']
        t.check(votes and votes[0]['decision'] == 'approve' and votes[0]['comment'] == 'looks safe',
                f'the vote with its comment: {rec.get("votes")}')
        # Another member completes the quorum through the API: the board moves the change
        # from the agenda to what was decided, by itself.
        t.driver.execute_script('window.__still_here = 1')
        for voter in ('cnguyen', 'dschmidt'):
            status, rec = t.api('POST', f'/v1/changes/{a["id"]}/approvals', W.token_for(voter, 'cab'), {'decision': 'approve'})
            if rec.get('change', {}).get('state') != 'authorize':
                break
        t.check(rec.get('change', {}).get('state') == 'scheduled', f'the quorum schedules it: {rec.get("change")}')
        t.wait(lambda d: item(t, '#cab-agenda', a['id']) is None, what='the change leaves the agenda', timeout=15)
        t.wait_text('#cab-decided', a['id'], timeout=15)
        t.check(t.driver.execute_script('return window.__still_here') == 1, 'without a reload')
        t.screenshot('cab-board-phone-after')
        t.open(f'/app/changes/{a["id"]}', wait_for='#change-state')
        t.check(t.css('#change-state')[0].get_attribute('data-state') == 'scheduled', 'the change page says scheduled')
    finally:
        t.set_size(1280, 900)


def test_segregation_of_duties_shown(t):
    # amartin (CAB and change manager) edits grossi's draft, so may not vote on it.
    req = W.token_for('grossi', 'requester')
    mgr = W.token_for('amartin', 'cab,change_manager')
    status, rec = t.api('POST', '/v1/changes', req, {'title': 'Search analyzer', 'type': 'normal',
                                                    'services': ['search'], 'duration': 'PT30M', **PLANS})
    cid = rec['id']
    status, _ = t.api('PATCH', f'/v1/changes/{cid}', mgr, {'description': 'reindex with the new analyzer'},
                      headers={'If-Match': f'"{rec["version"]}"'})
    t.check(status == 200, f'the manager edits: {status}')
    status, _ = t.api('POST', f'/v1/changes/{cid}/transitions', req, {'event': 'submit'})
    t.sign_in('amartin', 'cab,change_manager')
    t.open('/app/cab', wait_for='#cab-agenda li.cab-item')
    t.check(item(t, '#cab-mine', cid) is None, 'not waiting for my vote')
    el = item(t, '#cab-agenda', cid)
    t.check(el is not None and 'segregation of duties' in el.text, 'the agenda says why')
    t.axe('the CAB board')
    el.find_element(W.By.CSS_SELECTOR, 'button[data-vote=approve]').click()
    t.wait_text(f'#cab-agenda li.cab-item[data-id="{cid}"] .error-box', 'edit')
    t.screenshot('cab-board-refused')
    status, rec = t.api('GET', f'/v1/changes/{cid}/approvals', req)
    t.check(not rec.get('votes'), f'no vote recorded: {rec.get("votes")}')


W.main([test_board_and_approve_on_a_phone, test_segregation_of_duties_shown])
