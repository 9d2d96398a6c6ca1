// home.js -- /app: what needs the signed-in person now: votes waiting for them, their
// open changes, and open incidents of high priority.
import {get, qs} from '../lib/api.js';
import {h, mount} from '../lib/dom.js';
import {when, label} from '../lib/format.js';

export async function render(main, ctx) {
  const s = ctx.session;
  const votes = h('section.card', {'aria-labelledby': 'h-votes'}, h('h2#h-votes', 'Waiting for your vote'));
  const mine = h('section.card', {'aria-labelledby': 'h-mine'}, h('h2#h-mine', 'Your changes'));
  const incidents = h('section.card', {'aria-labelledby': 'h-inc'}, h('h2#h-inc', 'Open incidents'));
  mount(main, h('h1', `Hello, ${s.display_name || s.user}`),
        h('p.actions', h('a.button.primary', {href: '/app/changes/new'}, 'New change')),
        h('div.grid', votes, mine, incidents));
  const refresh = async () => {
    const [pending, changes, open] = await Promise.all([
      get('/v1/approvals/pending').catch(() => null),
      get(`/v1/changes${qs({created_by: s.user, limit: 10})}`).catch(() => null),
      get(`/v1/incidents${qs({limit: 10})}`).catch(() => null),
    ]);
    list(votes, 'h-votes', items(pending, 'changes'), (c) => [link(c, 'changes'), ` — ${label(c.state)}`],
         'Nothing waits for your vote.');
    list(mine, 'h-mine', items(changes), (c) => [link(c, 'changes'), ` — ${label(c.state)}`, c.updated_at ? ` · ${when(c.updated_at)}` : ''],
         'You have not filed a change yet.');
    list(incidents, 'h-inc', items(open).filter((i) => !/resolved|closed/.test(i.state)),
         (i) => [link(i, 'incidents'), ` — ${label(i.state)}`, i.fields && i.fields.priority ? ` · ${i.fields.priority}` : ''],
         'No open incident.');
  };
  await refresh();
  let timer = null;
  ctx.live(() => { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  return () => clearTimeout(timer);
}

const items = (data, key) => (data && (data[key] || data.items || data.records || (Array.isArray(data) ? data : []))) || [];

function link(rec, kind) {
  const title = (rec.fields && rec.fields.title) || rec.title || '';
  return h('a', {href: `/app/${kind}/${encodeURIComponent(rec.id)}`}, rec.id, title ? ` ${title}` : '');
}

function list(section, hid, rows, fmt, empty) {
  mount(section, h('h2', {id: hid}, section.querySelector('h2').textContent),
        rows.length ? h('ul.plain', rows.map((r) => h('li', fmt(r)))) : h('p.muted', empty));
}
