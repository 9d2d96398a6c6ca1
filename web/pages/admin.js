// admin.js -- /app/admin and /app/admin/{section}: API tokens (list, create -- the secret
// shown once --, revoke), users (disable with what it revoked, enable), the signed-in
// user's app passwords and feed URLs, webhooks with their deliveries (replay), the loaded
// definitions and their errors (/readyz, /v1/policies, /v1/workflows) and the audit chain
// check (/v1/audit/verify).  Everything through the public API; the server checks roles.
import {get, post, del, ApiError} from '../lib/api.js';
import {h, mount, field, showProblem} from '../lib/dom.js';
import {when, label} from '../lib/format.js';

const SECTIONS = {
  tokens: ['API tokens', tokens],
  users: ['Users', users],
  'app-passwords': ['Your app passwords', appPasswords],
  feeds: ['Your feed URLs', feeds],
  webhooks: ['Webhooks', webhooks],
  definitions: ['Definitions', definitions],
  audit: ['Audit chain', audit],
};

export async function render(main, ctx) {
  const name = SECTIONS[ctx.params[0]] ? ctx.params[0] : 'tokens';
  const [title, fn] = SECTIONS[name];
  ctx.title(`${title} · Admin`);
  const nav = h('nav.admin-nav', {'aria-label': 'Admin sections'}, h('ul', Object.entries(SECTIONS).map(([k, [t]]) =>
    h('li', h('a', {href: `/app/admin/${k}`, 'aria-current': k === name ? 'page' : null}, t)))));
  const body = h('div', h('p.loading', 'Loading…'));
  const note = h('div', {'aria-live': 'polite'});
  mount(main, h('h1', `Admin: ${title}`), nav, note, body);
  const say = (text, kind = 'info') => mount(note, text ? h(`p.admin-note.${kind}`, text) : null);
  const again = () => fn(body, {ctx, say, again});
  await again();
}

const table = (cols, rows, empty) => h('div.table-wrap', h('table',
  h('thead', h('tr', cols.map((c) => h('th', {scope: 'col'}, c)))),
  h('tbody', rows.length ? rows : h('tr', h('td', {colspan: cols.length}, empty)))));

// A secret shown once, with a copy button.
function secret(what, value) {
  const out = h('output.secret', value);
  return h('div.card.secret-box', {role: 'status'}, h('p', h('strong', `${what}: `), 'copy it now, it is not shown again.'),
           out, ' ', h('button', {type: 'button', onclick: () => navigator.clipboard && navigator.clipboard.writeText(value)}, 'Copy'));
}

async function tokens(body, {say, again}) {
  const data = await get('/v1/tokens');
  const list = data.tokens || [];
  const user = h('input', {name: 'user', required: true, autocomplete: 'off'});
  const roles = ['requester', 'cab', 'change_manager', 'pipeline', 'admin'].map((r) =>
    h('label.check', h('input', {type: 'checkbox', name: 'roles', value: r}), ` ${label(r)}`));
  const shown = h('div');
  const err = h('p.error-box', {role: 'alert'});
  const form = h('form.card', {'aria-labelledby': 'h-newtok', onsubmit: async (ev) => {
    ev.preventDefault();
    mount(err);
    const chosen = [...form.querySelectorAll('input[name=roles]:checked')].map((c) => c.value);
    try {
      const made = await post('/v1/tokens', {user: user.value.trim(), roles: chosen});
      await again();
      say(`Token ${made.id} made for ${made.user}.`);
      body.prepend(secret(`Token for ${made.user}`, made.token));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      showProblem(form, e, err);
    }
  }}, h('h2#h-newtok', 'New token'), field('User', user),
     h('fieldset.field', {dataset: {field: 'roles'}}, h('legend', 'Roles'), roles, h('p.error', {'aria-live': 'polite'})),
     err, h('button.primary', {type: 'submit'}, 'Create token'));
  const rows = list.map((t) => h('tr', {dataset: {token: t.id}},
    h('td', String(t.id)), h('td', t.user), h('td', String(t.roles || '')), h('td', when(t.created_at)),
    h('td', t.revoked_at ? `revoked ${when(t.revoked_at)}` : 'active'),
    h('td', t.revoked_at ? '' : h('button.danger', {type: 'button', 'aria-label': `Revoke token ${t.id} of ${t.user}`, onclick: async () => {
      if (!confirm(`Revoke token ${t.id} of ${t.user}? Their app passwords and feed URLs made with it stop too.`)) return;
      await del(`/v1/tokens/${t.id}`);
      await again();
      say(`Token ${t.id} revoked.`);
    }}, 'Revoke'))));
  mount(body, shown, form, h('h2', 'Tokens'), table(['ID', 'User', 'Roles', 'Created', 'State', ''], rows, 'No token yet.'));
}

async function users(body, {say, again}) {
  const data = await get('/v1/users');
  const rows = (data.users || []).map((u) => h('tr', {dataset: {user: u.user}},
    h('td', u.user), h('td', u.display_name || ''), h('td', u.state), h('td', String(u.active_tokens ?? '')),
    h('td', u.state === 'disabled'
      ? h('button', {type: 'button', onclick: async () => { await post(`/v1/users/${encodeURIComponent(u.user)}/enable`); await again(); say(`${u.user} enabled: they need a new token.`); }}, 'Enable')
      : h('button.danger', {type: 'button', onclick: async () => {
        if (!confirm(`Disable ${u.user}? Every credential they hold stops working at once.`)) return;
        const out = await post(`/v1/users/${encodeURIComponent(u.user)}/disable`);
        await again();
        const r = out.revoked || {};
        say(`${u.user} disabled; revoked ${r.tokens || 0} tokens, ${r.app_passwords || 0} app passwords, ${r.feeds || 0} feed URLs and ${r.sessions || 0} sessions.`);
      }}, 'Disable'))));
  mount(body, table(['User', 'Name', 'State', 'Active tokens', ''], rows, 'No user yet.'));
}

async function appPasswords(body, {say, again}) {
  const data = await get('/v1/me/app-passwords');
  const lab = h('input', {name: 'label', required: true});
  const err = h('p.error-box', {role: 'alert'});
  const form = h('form.card', {onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const made = await post('/v1/me/app-passwords', {label: lab.value.trim()});
      await again();
      body.prepend(secret(`App password '${made.label || ''}'`, made.password));
      say('App password made.');
    } catch (e) { if (!(e instanceof ApiError)) throw e; showProblem(form, e, err); }
  }}, h('h2', 'New app password'), field('Label', lab, 'Where it is used, e.g. "laptop calendar".'), err,
     h('button.primary', {type: 'submit'}, 'Make app password'));
  const rows = (data.app_passwords || []).map((p) => h('tr', h('td', String(p.id)), h('td', p.label || ''), h('td', when(p.created_at)),
    h('td', p.revoked_at ? `revoked ${when(p.revoked_at)}` : h('button.danger', {type: 'button', onclick: async () => {
      await del(`/v1/me/app-passwords/${p.id}`); await again(); say(`App password ${p.id} revoked.`);
    }}, 'Revoke'))));
  mount(body, form, table(['ID', 'Label', 'Made', ''], rows, 'No app password yet.'));
}

async function feeds(body, {say, again}) {
  const data = await get('/v1/feeds');
  const rows = (data.feeds || []).map((f) => h('tr', h('td', String(f.id)), h('td', f.label || f.kind || ''), h('td', when(f.created_at)),
    h('td', f.revoked_at ? `revoked ${when(f.revoked_at)}` : h('button.danger', {type: 'button', onclick: async () => {
      await del(`/v1/feeds/${f.id}`); await again(); say(`Feed ${f.id} revoked.`);
    }}, 'Revoke'))));
  mount(body, h('p.actions', h('button.primary', {type: 'button', onclick: async () => {
    const made = await post('/v1/feeds', {});
    await again();
    body.prepend(h('div.card.secret-box', {role: 'status'}, h('p', h('strong', 'Feed URLs: '), 'copy them now, they are not shown again.'),
      h('ul', Object.entries(made.urls || made).filter(([, v]) => typeof v === 'string' && v.includes('/feeds/')).map(([k, v]) => h('li', `${k}: `, h('output.secret', v))))));
    say('Feed URLs made.');
  }}, 'Make feed URLs')), table(['ID', 'What', 'Made', ''], rows, 'No feed URL yet.'));
}

async function webhooks(body, {ctx, say}) {
  const data = await get('/v1/webhooks');
  const list = data.webhooks || [];
  const detail = h('div');
  const show = async (w) => {
    const d = await get(`/v1/webhooks/${w.id}/deliveries`);
    const rows = (d.deliveries || []).map((x) => h('tr', h('td', String(x.id)), h('td', x.topic || x.event || ''),
      h('td', x.status || (x.delivered_at ? 'delivered' : 'pending')), h('td', String(x.attempts ?? '')), h('td', x.last_error || ''),
      h('td', h('button', {type: 'button', onclick: async () => {
        await post(`/v1/webhooks/${w.id}/deliveries/${x.id}/replay`); say(`Delivery ${x.id} queued again.`); await show(w);
      }}, 'Replay'))));
    mount(detail, h('h2', `Deliveries of webhook ${w.id}`), table(['ID', 'Event', 'Status', 'Attempts', 'Last error', ''], rows, 'No delivery yet.'));
  };
  const rows = list.map((w) => h('tr', h('td', String(w.id)), h('td', w.url || ''), h('td', (w.events || w.topics || []).join(', ')),
    h('td', w.disabled || w.active === false ? 'disabled' : 'active'),
    h('td', h('button', {type: 'button', onclick: () => show(w)}, 'Deliveries'))));
  mount(body, table(['ID', 'URL', 'Events', 'State', ''], rows, 'No webhook: make one with POST /v1/webhooks.'), detail);
  void ctx;
}

async function definitions(body) {
  const [ready, pol, wfs] = await Promise.all([
    fetch('/readyz', {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then((r) => r.json()).catch(() => null),
    get('/v1/policies').catch(() => null), get('/v1/workflows').catch(() => null)]);
  const defs = ready && ready.checks && ready.checks.definitions;
  const errors = (defs && (defs.errors || defs.error)) ? [].concat(defs.errors || defs.error) : [];
  const warnings = (defs && defs.warnings) || [];
  const list = (wfs && (wfs.workflows || wfs.items)) || [];
  mount(body,
    h('section.card', {'aria-labelledby': 'h-ready'}, h('h2#h-ready', 'Readiness'),
      h('p', ready && ready.ready ? h('span.ok', 'Ready.') : h('span.bad', 'Not ready.'), ready && ready.reason ? ` ${ready.reason}` : ''),
      errors.length ? h('ul', errors.map((e) => h('li.bad', typeof e === 'string' ? e : JSON.stringify(e)))) : h('p', 'No definition error.'),
      warnings.length ? h('details', h('summary', `${warnings.length} calendar warnings`), h('ul', warnings.map((w) => h('li', typeof w === 'string' ? w : JSON.stringify(w))))) : null),
    h('section.card', {'aria-labelledby': 'h-pol'}, h('h2#h-pol', 'Policies'),
      pol ? h('p', `Version ${pol.version}; files: ${(pol.files || []).join(', ')}; ${pol.services ?? '?'} services.`) : h('p.muted', 'Not available.')),
    h('section.card', {'aria-labelledby': 'h-wf'}, h('h2#h-wf', 'Workflows'),
      h('ul.plain', list.map((w) => h('li', h('strong', w.name || String(w)), w.kind ? ` (${w.kind})` : '', w.version ? ` version ${w.version}` : '',
        w.description ? h('span.muted', ` — ${w.description}`) : null)))));
}

async function audit(body) {
  const out = h('div', {'aria-live': 'polite'});
  const run = async () => {
    mount(out, h('p.loading', 'Checking the chain…'));
    const r = await get('/v1/audit/verify');
    mount(out, r.ok ? h('p.ok.audit-result', `The chain verifies: ${r.events} events.`)
      : h('p.bad.audit-result', `The chain breaks at event ${(r.first_bad && r.first_bad.seq) || r.seq || '?'}: ${r.reason || JSON.stringify(r)}`));
  };
  mount(body, h('p', 'Recomputes the hash chain of every audit event in the database.'),
        h('p.actions', h('button.primary', {type: 'button', onclick: run}, 'Verify now')), out);
}
