// changes_list.js -- /app/changes: the changes, filtered and paged by the API
// (GET /v1/changes: state, type, service, requester, environment, limit, next cursor),
// the filters kept in the address so a view can be bookmarked; refreshed on live events.
import {get, qs} from '../lib/api.js';
import {h, mount, field} from '../lib/dom.js';
import {when, label} from '../lib/format.js';

const STATES = ['draft', 'assess', 'authorize', 'approved', 'scheduled', 'implementing', 'failed', 'review',
                'closed', 'rejected', 'cancelled'];
const TYPES = ['normal', 'standard', 'emergency'];
const LIMITS = ['25', '50', '100'];
const RISKS = ['low', 'medium', 'high', 'critical'];

function select(name, options, value, any = 'Any') {
  return h('select', {name},
           h('option', {value: ''}, any),
           options.map(([v, text]) => h('option', {value: v, selected: v === value ? true : null}, text)));
}

export async function renderList(main, ctx) {
  ctx.title('Changes');
  const q = ctx.query;
  const policies = await get('/v1/policies').catch(() => ({catalog: []}));
  const services = (policies.catalog || []).map((s) => [s.name, s.name]);
  const form = h('form.filters', {role: 'search', 'aria-label': 'Filter changes'},
    field('State', select('state', STATES.map((s) => [s, label(s)]), q.get('state'))),
    field('Type', select('type', TYPES.map((t) => [t, t]), q.get('type'))),
    field('Service', select('service', services, q.get('service'))),
    field('Risk', select('risk', RISKS.map((r) => [r, r]), q.get('risk'))),
    field('Environment', select('environment', [['production', 'production'], ['staging', 'staging']], q.get('environment'))),
    field('Requester', select('mine', [['1', 'Only mine']], q.get('mine'), 'Anyone')),
    field('Order', h('select', {name: 'sort'},
      h('option', {value: '-updated', selected: q.get('sort') !== 'updated' ? true : null}, 'Newest update first'),
      h('option', {value: 'updated', selected: q.get('sort') === 'updated' ? true : null}, 'Oldest update first'))),
    field('Per page', h('select', {name: 'limit'}, LIMITS.map((l) =>
      h('option', {value: l, selected: l === (q.get('limit') || '25') ? true : null}, l)))));
  const count = h('p.muted#changes-count', {'aria-live': 'polite'});
  const tableBox = h('div.table-wrap');
  const pager = h('nav.pager', {'aria-label': 'Pages'});
  mount(main, h('h1', 'Changes'),
        h('p.actions', h('a.button.primary', {href: '/app/changes/new'}, 'New change')),
        form, count, tableBox, pager);

  // Each filter change reloads the first page, keeping the filters in the address.
  form.addEventListener('change', () => {
    const params = {};
    for (const el of form.elements) if (el.name && el.value) params[el.name] = el.value;
    history.replaceState(null, '', `/app/changes${qs(params)}`);
    cursors.length = 0;
    load(null);
  });
  form.addEventListener('submit', (ev) => ev.preventDefault());

  const cursors = []; // cursors of the pages before this one (for "Previous")
  let current = null;
  let timer = null;

  async function load(cursor) {
    const f = Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value]));
    const params = {state: f.state, type: f.type, service: f.service, environment: f.environment,
                    risk: f.risk, sort: f.sort || '-updated',
                    requester: f.mine ? ctx.session.user : '', limit: f.limit || '25', next: cursor};
    const page = await get(`/v1/changes${qs(params)}`);
    current = cursor;
    const rows = page.items || [];
    mount(count, rows.length ? `${rows.length} change${rows.length === 1 ? '' : 's'} on this page` : '');
    mount(tableBox, rows.length ? table(rows, params.sort) : h('p.muted', 'No change matches these filters.'));
    mount(pager,
          cursors.length ? h('button', {type: 'button', onclick: () => load(cursors.pop())}, 'Previous page') : null,
          page.next ? h('button', {type: 'button', onclick: () => { cursors.push(current); load(page.next); }},
                        'Next page') : null);
  }
  await load(null);
  ctx.live((ev) => {
    if (ev && ev.kind && ev.kind !== 'change') return;
    clearTimeout(timer);
    timer = setTimeout(() => load(current).catch(() => {}), 300);
  });
  return () => clearTimeout(timer);
}

export function riskBadge(risk) {
  if (!risk || !risk.level) return h('span.muted', '—');
  return h(`span.badge.risk-${risk.level}`, `${risk.level}${risk.score !== undefined ? ` ${risk.score}` : ''}`);
}

function table(rows, sort) {
  return h('table.changes',
    h('caption.sr-only', `Changes, ${sort === 'updated' ? 'oldest' : 'newest'} update first`),
    h('thead', h('tr', ['Change', 'State', 'Type', 'Risk', 'Services', 'Slot', 'Updated'].map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', rows.map((c) => h('tr', {dataset: {id: c.id}},
      h('td', h('a', {href: `/app/changes/${encodeURIComponent(c.id)}`}, c.id), ' ', c.title || ''),
      h('td', label(c.state)),
      h('td', c.type || ''),
      h('td', riskBadge(c.risk)),
      h('td', (c.services || []).join(', ')),
      h('td', c.schedule && c.schedule.start ? when(c.schedule.start) : '—'),
      h('td', when(c.updated_at))))));
}
