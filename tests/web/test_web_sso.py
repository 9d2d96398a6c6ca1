#!/usr/bin/python3
"""test_web_sso.py -- signing in to the web app through a real OpenID Provider in real
Chromium: oidc-provider (tests/oidc/op.mjs) runs on a local port with a confidential
client and people with groups; the sign-in page offers "Sign in with Test IdP", the
browser goes through the provider's login form and lands in the app signed in, with the
roles its groups map to (policies/identity.json sign_in); the cookie is the local
sign-in's (HttpOnly, SameSite=Strict); disabling the user ends that session at once."""
import os
import subprocess
import tempfile
import time
import urllib.request

import webtest as W

TMP = os.environ.get('TRANSOM_TEST_TMP', tempfile.gettempdir())
port_file = os.path.join(TMP, 'web-sso-op.port')
if os.path.exists(port_file):
    os.unlink(port_file)
op = subprocess.Popen(['node', 'tests/oidc/op.mjs', port_file], cwd=W.ROOT,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      preexec_fn=W._die_with_parent)
OP = None
for _ in range(300):
    try:
        with open(port_file) as f:
            port = int(f.read().strip() or 0)
        if port:
            OP = f'http://127.0.0.1:{port}'
            break
    except (OSError, ValueError):
        pass
    time.sleep(0.05)

policies = os.path.join(TMP, 'web-sso-policies')
subprocess.run(['rm', '-rf', policies], check=True)
subprocess.run(['cp', '-r', os.path.join(W.ROOT, 'policies'), policies], check=True)
with open(os.path.join(policies, 'identity.json'), 'w') as f:
    f.write('{"rules": [], "sign_in": {"default_roles": ["requester"], "rules": ['
            '{"match": {"groups": "transom-cab"}, "roles": ["cab"]}]}}\n')


def op_post(path, body=b''):
    req = urllib.request.Request(OP + path, data=body, method='POST')
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def test_sign_in_through_the_provider(t):
    t.check(OP is not None, 'the OpenID Provider (node tests/oidc/op.mjs) started')
    t.check(op_post('/test/web-client', t.base.encode()) == 200, 'the web client registered')
    t.driver.delete_all_cookies()
    t.open('/app/signin?next=/app', wait_for='#sso')
    t.check(t.text('#sso') == 'Sign in with Test IdP', f'the button: {t.text("#sso")}')
    t.check(t.css('form input[name=user]'), 'the password form is still there')
    t.axe('the sign-in page with the provider')
    t.screenshot('signin-sso')
    t.css('#sso')[0].click()
    t.wait(lambda d: '/interaction/' in d.current_url, what="the provider's login page")
    t.check(d_url(t).startswith(OP), f'at the provider: {d_url(t)}')
    t.css('input[name=login]')[0].send_keys('alice')
    t.css('input[name=password]')[0].send_keys('any')
    t.css('button[type=submit]')[0].click()
    t.wait(lambda d: d.current_url.startswith(t.base + '/app'), what='back in the app')
    t.wait_css('#who button')
    t.check(t.text('#who span') in ('Alice Martin', 'alice'), f'who: {t.text("#who span")}')
    session = t.driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'fetch("/v1/session").then((r) => r.json()).then(done);')
    t.check(session.get('user') == 'alice', f'the session: {session}')
    t.check('cab' in session.get('roles', []) and 'requester' in session.get('roles', []),
            f'roles from the groups: {session.get("roles")}')
    cookie = t.driver.get_cookie('transom_session')
    t.check(cookie and cookie.get('httpOnly') and cookie.get('sameSite') == 'Strict',
            f'the cookie: {cookie}')
    t.axe('the overview after signing in through the provider')
    t.screenshot('overview-sso')


def test_disabled_user_loses_the_session(t):
    status, _ = t.api('POST', '/v1/users/alice/disable', t.admin)
    t.check(status == 200, f'disable: {status}')
    status = t.driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'fetch("/v1/session").then((r) => done(r.status));')
    t.check(status == 401, f'the session after disabling: {status}')
    t.api('POST', '/v1/users/alice/enable', t.admin)


def d_url(t):
    return t.driver.current_url


try:
    W.main([test_sign_in_through_the_provider, test_disabled_user_loses_the_session],
           extra_env={'TRANSOM_OIDC_ISSUER': OP or 'http://127.0.0.1:9',
                      'TRANSOM_OIDC_CLIENT_ID': 'transom-web',
                      'TRANSOM_OIDC_CLIENT_SECRET': 'web-secret',
                      'TRANSOM_OIDC_SCOPES': 'openid email profile groups',
                      'TRANSOM_OIDC_PROVIDER_NAME': 'Test IdP',
                      'TRANSOM_POLICIES_DIR': policies})
finally:
    op.terminate()
