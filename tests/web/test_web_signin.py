#!/usr/bin/python3
"""test_web_signin.py -- signing in to the web app in real Chromium: the form, its errors
next to the field, the overview, a write without the CSRF token refused from inside the
page, signing out, a one-time login link, and axe-core on each page."""
import re

import webtest as W


def test_wrong_password_is_shown_at_the_field(t):
    t.app_password('grossi', 'requester')
    t.driver.delete_all_cookies()
    t.open('/app/signin', wait_for='form input[name=user]')
    t.axe('the sign-in page')
    t.screenshot('signin')
    t.css('input[name=user]')[0].send_keys('grossi')
    t.css('input[name=password]')[0].send_keys('tap_not-the-password')
    t.css('form button[type=submit]')[0].click()
    t.wait_text('.field[data-field=password] .error', 'unknown user or app password')
    pw = t.css('input[name=password]')[0]
    t.check(pw.get_attribute('aria-invalid') == 'true', 'the password field is marked invalid')
    t.check('/app/signin' in t.driver.current_url, 'still on the sign-in page')


def test_sign_in_lands_on_the_page_asked_for(t):
    t.driver.delete_all_cookies()
    t.open('/app?x=1', wait_for='form input[name=user]')
    t.check('/app/signin?next=' in t.driver.current_url, f'sent to sign in: {t.driver.current_url}')
    t.sign_in('bokafor', 'cab,requester')
    t.wait_css('main h1')
    t.check('Hello' in t.text('main h1'), f'the overview: {t.text("main h1")}')
    t.check(t.text('#who span') in ('Bola Okafor', 'bokafor'), 'who is signed in')
    t.axe('the overview')
    t.screenshot('overview')
    # Reload keeps the session (the cookie), without signing in again.
    t.driver.refresh()
    t.wait_css('#who button')


def test_a_write_without_the_csrf_token_is_refused(t):
    t.sign_in('cnguyen', 'requester')
    status = t.driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'fetch("/v1/changes", {method: "POST", headers: {"Content-Type": "application/json"},'
        ' body: JSON.stringify({type: "standard", title: "no csrf"})})'
        '.then((r) => r.json().then((b) => done([r.status, b.code])));')
    t.check(status == [403, 'CSRF'], f'a POST without X-CSRF-Token: {status}')
    cookie = t.driver.get_cookie('transom_session')
    t.check(cookie and cookie.get('httpOnly') and cookie.get('sameSite') == 'Strict',
            f'the cookie: {cookie}')
    readable = t.driver.execute_script('return document.cookie')
    t.check('transom_session' not in readable, 'scripts cannot read the session cookie')


def test_sign_out(t):
    t.sign_in('fdiallo', 'requester')
    t.css('#who button')[0].click()
    t.wait(lambda d: '/app/signin' in d.current_url, what='the sign-in page after signing out')
    t.open('/app', wait_for='form input[name=user]')
    t.check('/app/signin' in t.driver.current_url, 'signed out for good')


def test_login_link(t):
    status, out = W.transomd('user', 'login-link', 'jlarsen', '--role', 'requester')
    m = re.search(r'#link=(\S+)', out)
    t.check(status == 0 and m, f'login-link: {status} {out}')
    t.driver.delete_all_cookies()
    t.open(f'/app/signin#link={m.group(1)}', wait_for='#who button')
    t.check('link=' not in t.driver.current_url, 'the token leaves the address bar')
    # Used once: a second browser session gets the error.
    t.driver.delete_all_cookies()
    t.open(f'/app/signin#link={m.group(1)}', wait_for='form input[name=user]')
    t.wait_text('#status', 'unknown, used or expired')


def test_phone_sized(t):
    t.set_size(390, 844)
    try:
        t.sign_in('amartin', 'cab,requester')
        width = t.driver.execute_script('return document.documentElement.scrollWidth')
        t.check(width <= 390, f'no sideways scrolling on a phone: {width}px')
        t.screenshot('overview-phone')
    finally:
        t.set_size(1280, 900)


W.main([test_wrong_password_is_shown_at_the_field, test_sign_in_lands_on_the_page_asked_for,
        test_a_write_without_the_csrf_token_is_refused, test_sign_out, test_login_link,
        test_phone_sized])
