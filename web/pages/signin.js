// signin.js -- /app/signin: user name and app password, or a one-time login link
// (/app/signin#link=TOKEN, made by `transomd user login-link`), or the organization's
// OpenID Provider when one is configured (GET /v1/session/providers).
import {get, post, ApiError} from '../lib/api.js';
import {h, mount, field, showProblem} from '../lib/dom.js';

export async function render(main, ctx) {
  const next = safeNext(ctx.query.get('next'));
  const link = new URLSearchParams(location.hash.slice(1)).get('link');
  if (link) {
    history.replaceState(null, '', location.pathname + location.search); // the token leaves the URL
    mount(main, h('h1', 'Signing you in…'));
    try {
      ctx.signedIn(await post('/v1/session', {link}));
      return ctx.go(next, {replace: true});
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      ctx.status(e.message, 'error');
    }
  }
  const user = h('input', {name: 'user', autocomplete: 'username', required: true, autocapitalize: 'none'});
  const password = h('input', {name: 'password', type: 'password', autocomplete: 'current-password', required: true});
  const problem = h('p.error-box', {role: 'alert'});
  const form = h('form.card.narrow', {novalidate: true},
    field('User name or e-mail', user),
    field('App password', password, 'An app password from your profile or your admin (the one your calendar program uses).'),
    problem,
    h('button.primary', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    mount(problem);
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      ctx.signedIn(await post('/v1/session', {user: user.value.trim(), password: password.value}));
      ctx.go(next, {replace: true});
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showProblem(form, e, problem);
    } finally {
      button.disabled = false;
    }
  });
  const sso = await providerButton(next);
  mount(main, h('h1', 'Sign in to Transom'), ...sso, form);
  (sso.length ? sso[0].querySelector('a') : user).focus();
}

// "Sign in with <provider>" when the service offers one; [] otherwise (or on error).
async function providerButton(next) {
  let p;
  try {
    p = await get('/v1/session/providers');
  } catch (e) {
    return [];
  }
  if (!p || !p.oidc || !p.oidc.login_url) return [];
  const href = p.oidc.login_url + '?return=' + encodeURIComponent(next);
  return [
    h('p.sso', h('a.button.primary', {href, id: 'sso'}, 'Sign in with ' + p.oidc.name)),
    h('p.sso-or', 'or with an app password:'),
  ];
}

// Only a path inside the app: never another site (an open redirect).
function safeNext(next) {
  return next && /^\/app(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/app';
}
