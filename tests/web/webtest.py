"""webtest.py -- what the browser tests (tests/web/test_*.py) share.

Each test file gets its own database from tests/run.sh (TRANSOM_TEST_DATABASE_URL, as
the C suites do), starts the real transomd with the same settings as tests/http/lib_http.c,
and drives Debian's headless Chromium through chromedriver (python3-selenium).  axe-core
(npm, pinned by tests/web/package-lock.json) is injected into pages to check them for
accessibility.  Screenshots go to $TRANSOM_TEST_OUTPUT/web/ (build/test-output/web/).

A test file:

    import webtest as W
    def test_something(t):                 # t: the Suite
        t.sign_in('bokafor', 'cab,requester')
        t.open('/app/cab')
        t.check(t.text('h1') == 'CAB board', 'the heading')
    W.main([test_something])

prints "ok NAME" / "FAIL NAME" per test and ends with "N passed, N failed".
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.environ.get('TRANSOM_TEST_ROOT', os.path.abspath(os.path.join(os.path.dirname(__file__), '../..')))
BIN = os.environ.get('TRANSOM_TEST_BIN', os.path.join(ROOT, 'build/transomd'))
OUT = os.path.join(os.environ.get('TRANSOM_TEST_OUTPUT', os.path.join(ROOT, 'build/test-output')), 'web')
AXE = os.path.join(ROOT, 'tests/web/node_modules/axe-core/axe.min.js')


class CheckFailed(Exception):
    pass


def child_env(extra=None):
    """The environment transomd runs with in the tests (as lib_http.c's child_env)."""
    env = dict(os.environ)
    owner = env.get('TRANSOM_TEST_DATABASE_URL', '')
    tmp = env.get('TRANSOM_TEST_TMP', '/tmp')
    env.update({
        'TRANSOM_DATABASE_URL': env.get('TRANSOM_TEST_SERVE_DATABASE_URL') or owner,
        'TRANSOM_MIGRATE_DATABASE_URL': owner,
        'TRANSOM_AUDIT_KEY_FILE': env.get('TRANSOM_TEST_AUDIT_KEY', ''),
        'TRANSOM_AUDIT_CHECKPOINT_FILE': env.get('TRANSOM_TEST_CHECKPOINTS', '/nonexistent/checkpoints'),
        'TRANSOM_AUDIT_CHECKPOINT_INTERVAL': '86400',
        'TRANSOM_LISTEN': '127.0.0.1:0',
        'TRANSOM_LOG_LEVEL': env.get('TRANSOM_TEST_LOG_LEVEL', 'warn'),
        'TRANSOM_THREADS': '4',
        'TRANSOM_SECRET_KEY_FILE': os.path.join(tmp, 'secret.key'),
        'TRANSOM_WORKFLOWS_DIR': os.path.join(ROOT, 'workflows'),
        'TRANSOM_POLICIES_DIR': os.path.join(ROOT, 'policies'),
    })
    env.update(extra or {})
    return env


def transomd(*args, extra_env=None):
    """Runs `transomd ARGS...` to completion; returns (exit status, stdout)."""
    p = subprocess.run([BIN, *args], cwd=ROOT, env=child_env(extra_env), capture_output=True, text=True)
    return p.returncode, p.stdout


def token_for(user, roles):
    status, out = transomd('token', 'create', '--user', user, '--role', roles)
    if status != 0:
        raise CheckFailed(f'token create {user}: exit {status}')
    return out.splitlines()[0]


def _die_with_parent():
    """In the child: SIGTERM when the test process dies (PR_SET_PDEATHSIG), so a test
    that crashes leaves no server behind."""
    import ctypes
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)


class Server:
    """The real transomd on an ephemeral port (killed with the test)."""

    def __init__(self, extra_env=None):
        self.proc = subprocess.Popen([BIN, 'serve'], cwd=ROOT, env=child_env(extra_env),
                                     stdout=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        self.base = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r'(http://[0-9.:]+)', line)
            if m:
                self.base = m.group(1)
                break
        if self.base is None:
            self.proc.kill()
            raise RuntimeError('transomd did not announce its URL')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def api(self, method, path, token=None, body=None, headers=None):
        """(status, parsed JSON or text) of a request to the API."""
        h = dict(headers or {})
        data = None
        if token:
            h['Authorization'] = f'Bearer {token}'
        if body is not None:
            data = json.dumps(body).encode()
            h['Content-Type'] = 'application/json'
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw, ctype = r.status, r.read(), r.headers.get('Content-Type', '')
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get('Content-Type', '')
        text = raw.decode('utf-8', 'replace')
        return status, (json.loads(text) if 'json' in ctype and text else text)


def chromium(width=1280, height=900):
    opts = webdriver.ChromeOptions()
    opts.binary_location = '/usr/bin/chromium'
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
              f'--window-size={width},{height}', '--lang=en-GB', '--no-first-run',
              '--disable-extensions', '--disable-background-networking'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = ChromeService(executable_path='/usr/bin/chromedriver')
    return webdriver.Chrome(options=opts, service=service)


class Suite:
    """One test file: the server, the browser, and checks."""

    def __init__(self, name, extra_env=None):
        self.name = name
        self.server = Server(extra_env)
        self.base = self.server.base
        try:
            self.admin = token_for('admin', 'admin')
            self.driver = chromium()
        except BaseException:
            self.server.stop()
            raise
        self.failures = []
        os.makedirs(OUT, exist_ok=True)

    # --- checks -----------------------------------------------------------------------
    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
            print(f'  check failed: {what}')
        return cond

    # --- the API, for setting up what a test needs ------------------------------------
    def api(self, method, path, token=None, body=None, headers=None):
        return self.server.api(method, path, token or self.admin, body, headers)

    def app_password(self, user, roles):
        """A token and app password for `user` with `roles`: (token, password)."""
        tok = token_for(user, roles)
        status, body = self.server.api('POST', '/v1/me/app-passwords', tok, {'label': 'web test'})
        if status != 201:
            raise CheckFailed(f'app password for {user}: {status} {body}')
        return tok, body['password']

    # --- the browser ------------------------------------------------------------------
    def open(self, path, wait_for='main h1'):
        self.driver.get(self.base + path)
        if wait_for:
            self.wait_css(wait_for)

    def wait(self, cond, timeout=10, what='condition'):
        try:
            return WebDriverWait(self.driver, timeout).until(cond)
        except TimeoutException:
            raise CheckFailed(f'timed out waiting for {what} on {self.driver.current_url}')

    def wait_css(self, css, timeout=10):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, css)

    def wait_text(self, css, text, timeout=10):
        return self.wait(EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout,
                         f'"{text}" in {css}')

    def css(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css):
        els = self.css(css)
        return els[0].text if els else None

    def sign_in(self, user, roles):
        """Signs in through the sign-in page as `user` (a new app password); returns the token."""
        tok, pw = self.app_password(user, roles)
        self.driver.delete_all_cookies()
        self.open('/app/signin', wait_for='form input[name=user]')
        self.css('input[name=user]')[0].send_keys(user)
        self.css('input[name=password]')[0].send_keys(pw)
        self.css('form button[type=submit]')[0].click()
        self.wait(lambda d: '/app/signin' not in d.current_url, what='leaving the sign-in page')
        self.wait_css('#who button')
        return tok

    def set_size(self, width, height):
        self.driver.set_window_size(width, height)

    def screenshot(self, name):
        path = os.path.join(OUT, f'{self.name}-{name}.png')
        self.driver.save_screenshot(path)
        return path

    def axe(self, what):
        """Runs axe-core on the page: checks there is no serious or critical violation."""
        with open(AXE) as f:
            self.driver.execute_script(f.read())
        result = self.driver.execute_async_script(
            'const done = arguments[arguments.length - 1];'
            'axe.run(document, {resultTypes: ["violations"]}).then((r) => done(r.violations))'
            '.catch((e) => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));')
        bad = [v for v in result if v.get('impact') in ('serious', 'critical')]
        for v in bad:
            targets = ', '.join(str(n.get('target')) for n in v.get('nodes', [])[:3])
            print(f'  axe {what}: {v["impact"]} {v["id"]}: {v["help"]} ({targets})')
        self.check(not bad, f'axe on {what}: {len(bad)} serious or critical violations')
        return result

    def console_errors(self):
        try:
            return [e for e in self.driver.get_log('browser') if e.get('level') == 'SEVERE']
        except WebDriverException:
            return []

    def close(self):
        try:
            self.driver.quit()
        finally:
            self.server.stop()


def main(tests, extra_env=None):
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    only = os.environ.get('TEST_ONLY')
    passed = failed = 0
    try:
        suite = Suite(name, extra_env)
    except Exception as e:  # no browser, no server: the whole file fails, loudly
        traceback.print_exc()
        print(f'{name}: cannot start ({e})')
        print('0 passed, 1 failed')
        sys.exit(1)
    try:
        for fn in tests:
            if only and fn.__name__ != only:
                continue
            suite.failures = []
            try:
                fn(suite)
            except Exception as e:
                suite.failures.append(f'{type(e).__name__}: {e}')
                traceback.print_exc()
            if suite.failures:
                failed += 1
                try:
                    suite.screenshot(f'FAIL-{fn.__name__}')
                except Exception:
                    pass
                print(f'FAIL {name}/{fn.__name__}')
            else:
                passed += 1
                print(f'ok   {name}/{fn.__name__}')
    finally:
        suite.close()
    print(f'{name}: {passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)
