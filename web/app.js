// app.js -- the web app's shell: who is signed in, the navigation, and the router.
//
// Every page is a URL under /app/ (bookmarkable); the server answers index.html for all
// of them and this script loads the page's module from pages/.  A page module exports
// `render(main, ctx)`; it may return a function that is called when the user leaves the
// page (to drop live-event handlers and timers).  ctx: {session, params, query, go,
// title, live, can}.
import {api, get, setCsrf, whenSignedOut, ApiError} from './lib/api.js';
import {h, mount} from './lib/dom.js';
import {onRecordEvent, closeEvents} from './lib/events.js';

// path segment -> [module, title, roles allowed to see it in the navigation (null: all)]
const PAGES = {
  '': ['home', 'Overview', null],
  signin: ['signin', 'Sign in', null],
  changes: ['changes', 'Changes', null],
  cab: ['cab', 'CAB board', null],
  calendar: ['calendar', 'Calendar', null],
  incidents: ['incidents', 'Incidents', null],
  problems: ['problems', 'Problems', null],
  reports: ['reports', 'Reports', ['change_manager', 'admin']],
  admin: ['admin', 'Admin', ['admin']],
};
const NAV = ['changes', 'cab', 'calendar', 'incidents', 'problems', 'reports', 'admin'];

let session = null;
let leave = null;
let seq = 0;

const main = () => document.getElementById('main');
export const can = (...roles) => !!session && roles.some((r) => session.roles.includes(r));

export function go(path, {replace = false} = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

export function status(text, kind = 'info') {
  const el = document.getElementById('status');
  mount(el, text ? h(`p.${kind}`, text) : null);
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!session) { mount(nav); mount(who); return; }
  const here = location.pathname.split('/')[2] || '';
  mount(nav, h('ul', NAV.filter((p) => !PAGES[p][2] || can(...PAGES[p][2])).map((p) =>
    h('li', h('a', {href: `/app/${p}`, 'aria-current': p === here ? 'page' : null}, PAGES[p][1])))));
  mount(who, h('span', {title: session.roles.join(', ')}, session.display_name || session.user),
        h('button.link', {type: 'button', onclick: signOut}, 'Sign out'));
}

async function signOut() {
  try { await api('DELETE', '/v1/session'); } catch (e) { /* ended already */ }
  session = null;
  closeEvents();
  go('/app/signin');
}

export function signedIn(s) {
  session = s;
  setCsrf(s.csrf_token);
}

async function loadSession() {
  try {
    signedIn(await get('/v1/session', {quiet: true}));
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    session = null;
  }
}

async function route() {
  const mine = ++seq;
  if (leave) { try { leave(); } catch (e) { console.error(e); } leave = null; }
  status('');
  const parts = location.pathname.replace(/^\/app\/?/, '').replace(/^\/$/, '').split('/').filter(Boolean);
  const name = parts[0] || '';
  const page = PAGES[name];
  if (!session && name !== 'signin') {
    const back = location.pathname + location.search;
    history.replaceState(null, '', `/app/signin?next=${encodeURIComponent(back)}`);
    return route();
  }
  renderChrome();
  const el = main();
  if (!page) {
    document.title = 'Not found · Transom';
    mount(el, h('h1', 'Not found'), h('p', 'No page at ', h('code', location.pathname), '. ',
                                     h('a', {href: '/app'}, 'Go to the overview.')));
    return;
  }
  document.title = `${page[1]} · Transom`;
  mount(el, h('p.loading', 'Loading…'));
  const handlers = [];
  const ctx = {
    session, params: parts.slice(1), query: new URLSearchParams(location.search), go, can, status,
    title: (t) => { document.title = `${t} · Transom`; },
    live: (fn) => { handlers.push(onRecordEvent(fn)); },
    signedIn: (s) => { signedIn(s); renderChrome(); },
  };
  try {
    const mod = await import(`./pages/${page[0]}.js`);
    if (mine !== seq) return;
    const cleanup = await mod.render(el, ctx);
    leave = () => { handlers.forEach((off) => off()); if (typeof cleanup === 'function') cleanup(); };
  } catch (e) {
    if (mine !== seq) return;
    console.error(e);
    mount(el, h('h1', page[1]), h('p.error-box', {role: 'alert'},
      e instanceof ApiError ? e.message : `This page failed to load: ${e.message}`));
  }
  if (mine === seq && el.querySelector('h1')) el.focus({preventScroll: true});
}

// Links inside the app navigate without a reload; others (API files, downloads) do not.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey ||
      a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/app' || url.pathname.startsWith('/app/'))) return;
  ev.preventDefault();
  go(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', route);
whenSignedOut(() => {
  if (!session) return;
  session = null;
  closeEvents();
  status('Your session has ended: sign in again.', 'warn');
  go(`/app/signin?next=${encodeURIComponent(location.pathname + location.search)}`, {replace: true});
});

loadSession().then(route).catch((e) => {
  mount(main(), h('h1', 'Transom'), h('p.error-box', {role: 'alert'}, e.message));
});
