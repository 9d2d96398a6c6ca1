#!/usr/bin/python3
"""test_web_changes.py -- the requester's pages in real Chromium: the changes list (filters in
the address, server-side paging), the RFC form whose live preview (POST /v1/simulate)
changes with the services, a validation error shown at its field, submitting, and the
change page (workflow graph, actions, approvals, history) updated live when the CAB
approves through the API; axe-core and a screenshot on each page."""
import time

import webtest as W

PLANS = {'description': 'rotate the search cluster', 'implementation_plan': 'one node at a time',
         'rollback_plan': 'put the old nodes back', 'test_evidence': 'staging run 12'}


def new_change(t, tok, title, services, submit=False, **extra):
    body = {'title': title, 'type': 'normal', 'services': services, 'duration': 'PT30M', **extra}
    status, rec = t.api('POST', '/v1/changes', tok, body)
    if status != 201:
        raise W.CheckFailed(f'create {title}: {status} {rec}')
    if submit:
        status, rec = t.api('POST', f'/v1/changes/{rec["id"]}/transitions', tok, {'event': 'submit'})
        if status != 200:
            raise W.CheckFailed(f'submit {title}: {status} {rec}')
    return rec


def test_list_filters_and_pages(t):
    tok = t.sign_in('grossi', 'requester')
    other = W.token_for('hsato', 'requester')
    for i in range(27):
        new_change(t, tok, f'Reindex shard {i}', ['search'])
    new_change(t, other, 'Someone else\'s gateway change', ['api-gateway'], type='standard')
    t.open('/app/changes', wait_for='table.changes tbody tr')
    t.check(len(t.css('table.changes tbody tr')) == 25, 'the first page holds 25 changes')
    t.axe('the changes list')
    t.screenshot('changes-list')
    next_btn = [b for b in t.css('nav.pager button') if b.text == 'Next page']
    t.check(next_btn, 'a next page')
    next_btn[0].click()
    t.wait(lambda d: len(t.css('table.changes tbody tr')) == 3, what='the second page: 3 changes')
    t.check(any(b.text == 'Previous page' for b in t.css('nav.pager button')), 'a previous page')
    # A filter goes to the server and into the address: only mine, only standard.
    t.css('select[name=type]')[0].send_keys('standard')
    t.wait(lambda d: 'type=standard' in d.current_url, what='the filter in the address')
    t.wait(lambda d: len(t.css('table.changes tbody tr')) == 1, what='one standard change')
    t.check('gateway' in t.text('table.changes tbody tr'), 'the standard change listed')
    t.css('select[name=mine]')[0].send_keys('Only mine')
    t.wait_text('main', 'No change matches these filters.')
    # The filtered view is a bookmark; newest first unless asked otherwise.
    t.open('/app/changes?type=normal&service=search&limit=50', wait_for='table.changes tbody tr')
    rows = t.css('table.changes tbody tr')
    t.check(len(rows) == 27, 'a bookmarked filter with 50 a page')
    t.check('Reindex shard 26' in rows[0].text, f'newest first: {rows[0].text}')
    t.css('select[name=sort]')[0].send_keys('Oldest')
    t.wait(lambda d: 'Reindex shard 0' in t.css('table.changes tbody tr')[0].text, what='oldest first')
    # By risk level (server-side): one submitted change is assessed, the drafts are not.
    rec = new_change(t, tok, 'Assessed search change', ['search'], submit=True,
                     description='d', implementation_plan='i', rollback_plan='r', test_evidence='t')
    status, full = t.api('GET', f'/v1/changes/{rec["id"]}', tok)
    level = full['risk']['level']
    t.open(f'/app/changes?risk={level}', wait_for='table.changes tbody tr')
    rows = t.css('table.changes tbody tr')
    t.check(len(rows) == 1 and rec['id'] in rows[0].text, f'only the {level} change: {[r.text for r in rows]}')


def test_preview_follows_the_services(t):
    t.sign_in('grossi', 'requester')
    t.open('/app/changes/new', wait_for='form.rfc input[name=title]')
    t.css('input[name=title]')[0].send_keys('Upgrade the payment pods')
    t.css('input[name=services][value=payments]')[0].click()
    t.wait_text('#preview-level', 'high')
    groups = t.text('#preview-groups')
    t.check('payments-team' in groups and 'cab' in groups, f'payments: the CAB and its owners: {groups}')
    t.check('touches a critical service' in t.text('#preview'), 'each factor with its reason')
    t.check(t.text('#preview-slot') and 'No slot' not in t.text('#preview-slot'), 'the slot it would get')
    t.axe('the RFC form with its preview')
    t.screenshot('rfc-preview-payments')
    # Another service: another risk and other approvers, without a reload.
    t.driver.execute_script('window.__still_here = 1')
    t.css('input[name=services][value=payments]')[0].click()
    t.css('input[name=services][value=search]')[0].click()
    t.wait_text('#preview-level', 'medium')
    groups = t.text('#preview-groups')
    t.check('payments-team' not in groups and 'cab' in groups, f'search: the CAB alone: {groups}')
    # Plans lower the score while typing.
    for name, text in PLANS.items():
        t.css(f'textarea[name={name}]')[0].send_keys(text)
    t.wait_text('#preview-level', 'low')
    t.check(t.driver.execute_script('return window.__still_here') == 1, 'the preview came without a reload')
    t.screenshot('rfc-preview-search')


def test_field_error_and_submit(t):
    t.sign_in('grossi', 'requester')
    t.open('/app/changes/new', wait_for='form.rfc input[name=title]')
    t.css('input[name=services][value=search]')[0].click()
    t.css('button[name=save]')[0].click()
    t.wait_text('.field[data-field=title] .error', 'title')
    t.check(t.css('input[name=title]')[0].get_attribute('aria-invalid') == 'true', 'the title is marked invalid')
    t.screenshot('rfc-field-error')
    t.css('input[name=title]')[0].send_keys('Rotate search nodes')
    t.css('button[name=save]')[0].click()
    t.wait_text('#saved', 'saved')
    t.check('?id=CHG-' in t.driver.current_url, f'the draft is in the address: {t.driver.current_url}')
    # Submitting without the plans: the missing field is named at the field.
    t.css('form.rfc button[type=submit]')[0].click()
    t.wait_text('.field[data-field=description] .error', 'description')
    for name, text in PLANS.items():
        t.css(f'textarea[name={name}]')[0].send_keys(text)
    t.css('form.rfc button[type=submit]')[0].click()
    t.wait(lambda d: '/app/changes/CHG-' in d.current_url and '/new' not in d.current_url,
           what='the change page after submitting')
    t.wait_css('#change-state')
    t.check(t.css('#change-state')[0].get_attribute('data-state') == 'authorize',
            f'submitted, waiting for the CAB: {t.text("#change-state")}')
    cur = t.css('svg.wf-graph .wf-current')
    t.check(cur and cur[0].get_attribute('data-state') == 'authorize', 'the graph highlights the state')


def test_change_page_updates_live(t):
    tok = t.sign_in('kmensah', 'requester')
    rec = new_change(t, tok, 'Search synonyms', ['search'], submit=True, **PLANS)
    cid = rec['id']
    t.open(f'/app/changes/{cid}', wait_for='#change-state')
    t.wait_css('svg.wf-graph')
    t.check(t.css('#change-state')[0].get_attribute('data-state') == 'authorize', 'waiting for the CAB')
    t.check('cancel' in [b.get_attribute('data-event') for b in t.css('#actions button')], 'cancel is offered')
    t.check('none of your roles' in t.text('#actions'), 'blocked events say why')
    t.check('created the change' in t.text('ol.history'), 'the audit history')
    t.axe('the change page')
    t.screenshot('change-page')
    t.driver.execute_script('window.__still_here = 1')
    # The CAB approves through the API, one vote after the other, until the quorum: the page
    # shows each vote, then the new state, by itself.
    for voter in ('cnguyen', 'bokafor', 'dschmidt'):
        status, body = t.api('POST', f'/v1/changes/{cid}/approvals', W.token_for(voter, 'cab'),
                             {'decision': 'approve', 'comment': f'fine by {voter}'})
        t.check(status == 200, f'{voter} approves through the API: {status} {body}')
        t.wait(lambda d: f'fine by {voter}' in d.execute_script(
            'const t = document.querySelector("table.votes"); return t ? t.textContent : ""'),
            what=f'the vote of {voter} on the page', timeout=15)
        if body.get('change', {}).get('state') != 'authorize':
            break
    t.wait(lambda d: t.css('#change-state')[0].get_attribute('data-state') == 'scheduled',
           what='the change page shows scheduled', timeout=15)
    t.check(t.driver.execute_script('return window.__still_here') == 1, 'updated without a reload')
    t.screenshot('change-page-approved')
    for e in t.console_errors():
        print('  console:', e)


def test_comments(t):
    tok = t.sign_in('lnovak', 'requester')
    rec = new_change(t, tok, 'Search stop words', ['search'])
    cid = rec['id']
    t.open(f'/app/changes/{cid}', wait_for='form.comment textarea')
    # A blank comment: the API's refusal at the field.
    t.css('form.comment textarea')[0].send_keys('   ')
    t.css('form.comment button[type=submit]')[0].click()
    t.wait_text('.field[data-field=text] .error', 'empty')
    t.css('form.comment textarea')[0].clear()
    t.css('form.comment textarea')[0].send_keys('the stop words list is in the ticket')
    t.css('form.comment button[type=submit]')[0].click()
    t.wait_text('ol.comments', 'the stop words list is in the ticket')
    # Another person's comment arrives live.
    status, body = t.api('POST', f'/v1/changes/{cid}/comments', W.token_for('cnguyen', 'cab'),
                         {'text': 'please attach the list'})
    t.check(status == 201, f'a comment through the API: {status} {body}')
    t.wait_text('ol.comments', 'please attach the list', timeout=15)
    t.check('commented' in t.text('ol.history') or 'comment' in t.text('ol.history'), 'comments are in the history')
    t.axe('the change page with comments')
    t.screenshot('change-comments')


def test_phone_sized(t):
    t.set_size(390, 844)
    try:
        t.sign_in('grossi', 'requester')
        for path, what in (('/app/changes', 'table.changes'), ('/app/changes/new', 'form.rfc')):
            t.open(path, wait_for=what)
            width = t.driver.execute_script('return document.documentElement.scrollWidth')
            t.check(width <= 390, f'{path}: no sideways scrolling on a phone: {width}px')
        t.screenshot('rfc-phone')
    finally:
        t.set_size(1280, 900)


W.main([test_list_filters_and_pages, test_preview_follows_the_services, test_field_error_and_submit,
        test_change_page_updates_live, test_comments, test_phone_sized])
