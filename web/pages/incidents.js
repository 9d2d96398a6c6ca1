// incidents.js -- /app/incidents and /app/incidents/{id}: the list by state, team
// (assignment_group) and priority, filtered and paged by the server, with each record's SLA
// clock (its armed workflow timers, `timers`) counting down; live through ctx.live, so a
// team filter is that team's queue.  One incident: its fields, SLA clocks, the change that
// caused it (caused_by), the suspected changes ranked with reasons when the API gives them,
// and its timeline (history).  problems.js renders problems with the same code.
import {get, qs} from '../lib/api.js';
import {h, mount, field} from '../lib/dom.js';
import {when, label} from '../lib/format.js';

const KINDS = {
  incidents: {one: 'incident', title: 'Incidents', states: ['new', 'assigned', 'in_progress', 'resolved', 'closed']},
  problems: {one: 'problem', title: 'Problems', states: []},
};

export async function render(main, ctx) {
  return ctx.params[0] ? renderOne(main, ctx, 'incidents', ctx.params[0]) : renderList(main, ctx, 'incidents');
}

// A countdown for the soonest timer: "responds in 12 min" / "overdue by 3 min".
function clock(timers, now) {
  const t = (timers || [])[0];
  if (!t) return h('span.muted', '—');
  const left = Date.parse(t.due_at) - now;
  const what = label(t.event).replace(/ overdue$/, '');
  const text = left >= 0 ? `${what} due in ${span(left)}` : `${what} overdue by ${span(-left)}`;
  return h(`span.sla.${left < 0 ? 'sla-over' : left < 15 * 60000 ? 'sla-soon' : 'sla-ok'}`,
           {dataset: {due: t.due_at, event: t.event}, title: `${label(t.event)} at ${when(t.due_at)}`}, text);
}

// 14 min 05 s under an hour (the clock visibly runs), 3 h 20 min under a day, else 2 d 4 h.
function span(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function tick(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('.sla[data-due]')) {
    const fresh = clock([{event: el.dataset.event, due_at: el.dataset.due}], now);
    el.className = fresh.className;
    el.textContent = fresh.textContent;
  }
}

export async function renderList(main, ctx, kind) {
  const k = KINDS[kind];
  const q = ctx.query;
  const f = {state: q.get('state') || '', assignment_group: q.get('team') || '', priority: q.get('priority') || ''};
  const state = h('select', {name: 'state'}, h('option', {value: ''}, 'Any state'),
    k.states.map((s) =>
      h('option', {value: s, selected: s === f.state}, label(s))));
  const team = h('input', {name: 'team', value: f.assignment_group, placeholder: 'e.g. payments-team'});
  const prio = h('select', {name: 'priority'}, h('option', {value: ''}, 'Any priority'),
    ['P1', 'P2', 'P3', 'P4'].map((p) => h('option', {value: p, selected: p === f.priority}, p)));
  const form = h('form.card.ops-filters', {role: 'search', 'aria-label': `Filter ${k.title.toLowerCase()}`, onsubmit: (ev) => {
    ev.preventDefault();
    ctx.go(`/app/${kind}${qs({state: state.value, team: team.value.trim(), priority: prio.value})}`);
  }}, field('State', state), field('Team', team), field('Priority', prio), h('div.ops-apply', h('button.primary', {type: 'submit'}, 'Filter')));
  const body = h('div', h('p.loading', 'Loading…'));
  const announce = h('p.sr-only', {'aria-live': 'polite'});
  mount(main, h('h1', f.assignment_group ? `${k.title}: ${f.assignment_group} queue` : k.title), form, announce, body);

  let cursor = null;
  const rows = [];
  const load = async (more) => {
    const page = await get(`/v1/${kind}${qs({...f, limit: 50, next: more ? cursor : null})}`);
    if (!more) rows.length = 0;
    rows.push(...(page.items || []));
    cursor = page.next || null;
    draw();
  };
  const draw = () => {
    const now = Date.now();
    const table = h('table',
      h('caption.sr-only', `${k.title}, newest activity last`),
      h('thead', h('tr', ['ID', 'Title', 'State', 'Priority', 'Team', 'SLA', 'Updated'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', rows.length ? rows.map((r) => h('tr', {dataset: {id: r.id}},
        h('td', h('a', {href: `/app/${kind}/${encodeURIComponent(r.id)}`}, r.id)),
        h('td', r.title || ''), h('td', label(r.state)),
        h('td', r.priority ? h(`span.badge.prio-${r.priority}`, r.priority) : '—'),
        h('td', r.assignment_group || '—'), h('td', clock(r.timers, now)), h('td', when(r.updated_at))))
        : h('tr', h('td', {colspan: 7}, `No ${k.one} matches.`))));
    mount(body, h('div.table-wrap', table),
          cursor ? h('p.actions', h('button', {type: 'button', onclick: () => load(true)}, 'Show more')) : null);
  };
  await load(false);
  const timer = setInterval(() => tick(body), 1000);
  let again = null;
  ctx.live((data) => {
    if (data && data.kind && data.kind !== k.one) return;
    clearTimeout(again);
    again = setTimeout(() => load(false).then(() => { announce.textContent = `${k.title} updated.`; }).catch(() => {}), 300);
  });
  return () => { clearInterval(timer); clearTimeout(again); };
}

export async function renderOne(main, ctx, kind, id) {
  const paint = async () => {
    const [rec, hist] = await Promise.all([get(`/v1/${kind}/${encodeURIComponent(id)}`),
                                           get(`/v1/${kind}/${encodeURIComponent(id)}/history`)]);
    mount(main, ...detail(ctx, kind, rec, hist));
    return rec;
  };
  const rec = await paint();
  const timer = setInterval(() => tick(main), 1000);
  let again = null;
  ctx.live((data) => {
    if (!data || data.record !== rec.id) return;
    clearTimeout(again);
    again = setTimeout(() => paint().catch(() => {}), 300);
  });
  return () => { clearInterval(timer); clearTimeout(again); };
}

function detail(ctx, kind, rec, hist) {
  const k = KINDS[kind];
  ctx.title(`${rec.id} ${rec.title || ''}`);
  const links = rec.links || {};
  const causedBy = [].concat(links.caused_by || rec.caused_by || []).filter(Boolean);
  const facts = [['State', label(rec.state)], ['Priority', rec.priority || '—'], ['Team', rec.assignment_group || '—'],
                 ['Service', rec.service || (rec.services || []).join(', ') || '—'], ['Opened', when(rec.created_at)],
                 ['Requester', rec.requester || '—']];
  const timers = rec.timers || [];
  const sla = h('section.card', {'aria-labelledby': 'h-sla'}, h('h2#h-sla', 'SLA'),
    timers.length ? h('ul.plain', timers.map((t) => h('li', clock([t], Date.now()), ` (${when(t.due_at)})`)))
      : h('p.muted', rec.escalated ? 'Escalated: the clock ran out.' : 'No clock is running in this state.'));
  const related = kind === 'incidents'
    ? h('section.card', {'aria-labelledby': 'h-cause'}, h('h2#h-cause', 'Caused by'),
        causedBy.length ? h('ul.plain', causedBy.map((c) => h('li', h('a', {href: `/app/changes/${encodeURIComponent(c)}`}, c))))
          : h('p.muted', 'No change is named as its cause.'))
    : h('section.card', {'aria-labelledby': 'h-rel'}, h('h2#h-rel', 'Related'),
        h('ul.plain', [].concat((links.incident || []).map((i) => h('li', 'Incident ', h('a', {href: `/app/incidents/${encodeURIComponent(i)}`}, i))),
          (links.fixed_by || []).map((c) => h('li', 'Fixed by ', h('a', {href: `/app/changes/${encodeURIComponent(c)}`}, c))))),
        (links.incident || []).length || (links.fixed_by || []).length ? null : h('p.muted', 'Nothing linked yet.'));
  const suspects = Array.isArray(rec.suspected_changes) && rec.suspected_changes.length
    ? h('section.card', {'aria-labelledby': 'h-susp'}, h('h2#h-susp', 'Suspected changes'),
        h('ol', rec.suspected_changes.map((s) => h('li',
          h('a', {href: `/app/changes/${encodeURIComponent(s.change || s.id)}`}, s.change || s.id),
          s.title ? ` ${s.title}` : '', s.score !== undefined ? h('span.muted', ` score ${s.score}`) : null,
          (s.reasons || []).length ? h('ul', s.reasons.map((r) => h('li', typeof r === 'string' ? r : r.detail || r.reason || JSON.stringify(r)))) : null))))
    : null;
  const events = (hist.events || []).slice().reverse();
  const says = (e) => {
    const d = e.detail || {};
    return [d.event ? ` ${label(d.event)}` : '', d.from && d.to ? ` (${label(d.from)} → ${label(d.to)})` : '',
            d.comment ? h('p.muted', d.comment) : null];
  };
  const timeline = h('section.card', {'aria-labelledby': 'h-tl'}, h('h2#h-tl', 'Timeline'),
    events.length ? h('ol.ops-timeline', events.map((e) => h('li',
      h('time', {datetime: e.at || ''}, when(e.at)), ' ', h('strong', label(e.action || 'event')),
      e.actor ? ` by ${e.actor}` : '', says(e))))
      : h('p.muted', 'Nothing recorded yet.'));
  return [h('p', h('a', {href: `/app/${kind}`}, `← ${k.title}`)),
          h('h1', `${rec.id} ${rec.title || ''}`),
          h('dl.ops-facts', facts.map(([a, b]) => [h('dt', a), h('dd', b)])),
          rec.description ? h('p', rec.description) : null,
          rec.resolution ? h('p', h('strong', 'Resolution: '), rec.resolution) : null,
          h('div.grid', sla, related), suspects, timeline];
}
