// calendar.js -- /app/calendar: a week or a month of maintenance windows, freezes (hard and
// soft) and bookings, one timeline row per service (or window group), from GET /v1/windows,
// /v1/freezes and /v1/schedule.  The same items are listed in a table for screen readers
// and keyboards; a booking opens its change, and a change manager may reschedule it
// (POST /v1/changes/{id}/reschedule): a refusal shows the API's detail and rule.
import {get, post, qs, ApiError} from '../lib/api.js';
import {h, mount, field} from '../lib/dom.js';
import {when, day} from '../lib/format.js';
import {timeline} from '../lib/timeline.js';

const DAY = 86400000;

function startOf(view, ref) {
  const d = new Date(ref);
  d.setHours(0, 0, 0, 0);
  if (view === 'month') d.setDate(1);
  else d.setDate(d.getDate() - ((d.getDay() + 6) % 7)); // Monday
  return d;
}

function endOf(view, start) {
  const d = new Date(start);
  if (view === 'month') d.setMonth(d.getMonth() + 1);
  else d.setDate(d.getDate() + 7);
  return d;
}

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

export async function render(main, ctx) {
  const q = ctx.query;
  const view = q.get('view') === 'month' ? 'month' : 'week';
  const ref = q.get('date') ? new Date(`${q.get('date')}T00:00:00`) : new Date();
  const start = startOf(view, isNaN(ref) ? new Date() : ref);
  const end = endOf(view, start);
  const service = q.get('service') || '';
  const manager = ctx.can('change_manager', 'admin');

  const nav = (params) => {
    const next = {view, date: isoDay(start), service, ...params};
    ctx.go(`/app/calendar${qs(next)}`);
  };
  const shift = (n) => {
    const d = new Date(start);
    if (view === 'month') d.setMonth(d.getMonth() + n);
    else d.setDate(d.getDate() + 7 * n);
    nav({date: isoDay(d)});
  };

  const svcInput = h('input', {name: 'service', value: service});
  const viewSel = h('select', {name: 'view'}, h('option', {value: 'week', selected: view === 'week'}, 'Week'),
                    h('option', {value: 'month', selected: view === 'month'}, 'Month'));
  const dateInput = h('input', {type: 'date', name: 'date', value: isoDay(start)});
  const filters = h('form.card.cal-filters', {role: 'search', 'aria-label': 'Calendar filters', onsubmit: (ev) => {
    ev.preventDefault();
    nav({view: viewSel.value, date: dateInput.value || isoDay(start), service: svcInput.value.trim()});
  }}, field('View', viewSel), field('From', dateInput), field('Service', svcInput, 'Leave empty for every service.'),
     h('div.cal-apply', h('button.primary', {type: 'submit'}, 'Show')));

  const head = h('div.actions',
    h('button', {type: 'button', onclick: () => shift(-1)}, view === 'month' ? '← Previous month' : '← Previous week'),
    h('button', {type: 'button', onclick: () => nav({date: isoDay(new Date())})}, 'Today'),
    h('button', {type: 'button', onclick: () => shift(1)}, view === 'month' ? 'Next month →' : 'Next week →'));
  const body = h('div', h('p.loading', 'Loading…'));
  const live = h('div.sr-only', {'aria-live': 'polite'});
  mount(main, h('h1', 'Change calendar'),
        h('p.muted', `${day(start.toISOString())} – ${day(new Date(end - 1).toISOString())}`),
        filters, head, live, body);

  const range = qs({from: start.toISOString(), to: end.toISOString(), service});
  const load = async () => {
    const [w, f, s] = await Promise.all([get(`/v1/windows${range}`), get(`/v1/freezes${range}`),
                                          get(`/v1/schedule${range}`)]);
    const items = [];
    for (const x of w.windows || []) items.push({kind: 'window', label: x.summary, start: x.start, end: x.end, rows: x.services});
    for (const x of f.freezes || []) {
      items.push({kind: x.hard ? 'freeze-hard' : 'freeze-soft', label: x.summary, start: x.start, end: x.end, rows: x.services});
    }
    for (const b of s.bookings || []) {
      items.push({kind: 'booking', label: `${b.change} ${b.title || ''}`.trim(), start: b.start, end: b.end,
                  rows: b.services, change: b.change, state: b.state});
    }
    draw(items);
    return items;
  };

  const kindName = {window: 'Maintenance window', 'freeze-hard': 'Hard freeze', 'freeze-soft': 'Soft freeze', booking: 'Booking'};
  const draw = (items) => {
    const names = new Set();
    for (const it of items) {
      const rows = service ? [service] : Array.isArray(it.rows) ? it.rows : ['all services'];
      it.rowNames = rows.length ? rows : ['all services'];
      it.rowNames.forEach((n) => names.add(n));
    }
    const rows = [...names].sort((a, b) => (a === 'all services' ? -1 : b === 'all services' ? 1 : a.localeCompare(b)));
    const legend = h('ul.cal-legend', Object.entries(kindName).map(([k, v]) => h('li', h(`span.cal-swatch.cal-${k}`), v)));
    const tl = timeline({from: start.getTime(), to: end.getTime(), rows, items, days: view === 'month' ? 'month' : 'week',
                         href: (it) => it.change ? `/app/changes/${encodeURIComponent(it.change)}` : null});
    const cols = ['What', 'Kind', 'Services', 'Start', 'End'].concat(manager ? ['Action'] : []);
    const row = (it) => h('tr', {dataset: {kind: it.kind}},
      h('td', it.change ? h('a', {href: `/app/changes/${encodeURIComponent(it.change)}`}, it.label) : it.label),
      h('td', kindName[it.kind]),
      h('td', Array.isArray(it.rows) ? it.rows.join(', ') : 'all'),
      h('td', when(it.start)), h('td', when(it.end)),
      manager ? h('td', it.change ? h('button', {type: 'button', dataset: {reschedule: it.change},
                                                 onclick: () => openReschedule(it)}, 'Reschedule') : '') : null);
    const sorted = items.slice().sort((a, b) => a.start.localeCompare(b.start));
    const table = h('table', h('caption', 'Everything in this period'),
      h('thead', h('tr', cols.map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', sorted.length ? sorted.map(row)
        : h('tr', h('td', {colspan: cols.length}, 'Nothing booked, no window and no freeze in this period.'))));
    mount(body, legend, tl, h('div.table-wrap', table));
  };

  const dialog = h('section.card.cal-resched', {hidden: true, 'aria-labelledby': 'h-resched'});
  main.append(dialog);
  const openReschedule = (it) => {
    const nb = h('input', {type: 'datetime-local', name: 'not_before', required: true});
    const reason = h('input', {name: 'reason', required: true});
    const box = h('div.error-box', {role: 'alert'});
    const form = h('form', {onsubmit: async (ev) => {
      ev.preventDefault();
      mount(box);
      const t = new Date(nb.value);
      if (!nb.value || isNaN(t)) { showRefusal(box, form, {message: 'Give the earliest time it may start.', field: 'not_before'}); return; }
      try {
        const out = await post(`/v1/changes/${encodeURIComponent(it.change)}/reschedule`,
                               {not_before: t.toISOString(), reason: reason.value});
        const sched = (out && out.schedule) || {};
        dialog.hidden = true;
        live.textContent = `${it.change} rescheduled${sched.start ? ` to ${when(sched.start)}` : ''}.`;
        ctx.status(live.textContent, 'info');
        await load();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        showRefusal(box, form, e);
      }
    }},
      field('Not before', nb, 'The change is booked into the first legal slot from then on.'),
      field('Reason', reason),
      box,
      h('div.actions', h('button.primary', {type: 'submit'}, 'Reschedule'),
        h('button', {type: 'button', onclick: () => { dialog.hidden = true; }}, 'Cancel')));
    mount(dialog, h('h2#h-resched', `Reschedule ${it.change}`), h('p.muted', `Now booked ${when(it.start)} – ${when(it.end)}.`), form);
    dialog.hidden = false;
    nb.focus();
  };

  await load();
  let timer = null;
  ctx.live((data, type) => {
    if (!/^change\.|resync|record\.transitioned/.test(type || '')) return;
    clearTimeout(timer);
    timer = setTimeout(() => load().catch(() => {}), 400);
  });
  return () => clearTimeout(timer);
}

// The refusal in words: the detail, the rule or code it broke, and the field it names.
function showRefusal(box, form, e) {
  for (const p of form.querySelectorAll('.field .error')) p.textContent = '';
  const p = e.problem || {};
  const rule = p.rule || e.code;
  mount(box, h('strong', 'Not rescheduled: '), e.message,
        rule ? h('span.cal-rule', ` (rule: ${rule})`) : null);
  const name = e.field || p.field;
  const f = name && form.querySelector(`.field[data-field="${CSS.escape(name)}"] .error`);
  if (f) f.textContent = e.message;
}
