// reports.js -- /app/reports: change success, lead time, risk levels, change-caused
// incidents, approval latency and the deployment gate's decisions over time (GET /v1/reports/{name}), each drawn as an SVG chart (lib/chart.js)
// with its figures in a table and a CSV download of the same figures.
import {get, qs} from '../lib/api.js';
import {h, mount, field} from '../lib/dom.js';
import {bars, line, legend} from '../lib/chart.js';

const CHARTS = [
  {name: 'change-success', draw: bars, series: {succeeded: 's-ok', failed: 's-bad'}},
  {name: 'lead-time', draw: line, unit: 'hours', series: {mean_hours: 's-a', median_hours: 's-b'}},
  {name: 'risk-levels', draw: bars, series: {low: 's-low', medium: 's-medium', high: 's-high', critical: 's-critical', unassessed: 's-none'}},
  {name: 'change-incidents', draw: bars, series: {change_caused: 's-bad', other: 's-none'}},
  {name: 'approval-latency', draw: line, unit: 'hours', series: {mean_hours: 's-a', median_hours: 's-b'}},
  {name: 'gate-decisions', draw: bars, series: {succeeded: 's-ok', failed: 's-bad', denied: 's-critical', expired: 's-medium', open: 's-none'}},
];

const isoDay = (d) => d.toISOString().slice(0, 10);

export async function render(main, ctx) {
  const q = ctx.query;
  const today = new Date();
  const to = q.get('to') || isoDay(new Date(today.getTime() + 86400000));
  const from = q.get('from') || isoDay(new Date(today.getTime() - 84 * 86400000));
  const bucket = ['day', 'week', 'month'].includes(q.get('bucket')) ? q.get('bucket') : 'week';
  const fromIn = h('input', {type: 'date', name: 'from', value: from});
  const toIn = h('input', {type: 'date', name: 'to', value: to});
  const bucketIn = h('select', {name: 'bucket'}, ['day', 'week', 'month'].map((b) => h('option', {value: b, selected: b === bucket}, b)));
  const form = h('form.card.rep-filters', {'aria-label': 'Report period', onsubmit: (ev) => {
    ev.preventDefault();
    ctx.go(`/app/reports${qs({from: fromIn.value, to: toIn.value, bucket: bucketIn.value})}`);
  }}, field('From', fromIn), field('To (not included)', toIn), field('Per', bucketIn),
     h('div.rep-apply', h('button.primary', {type: 'submit'}, 'Show')));
  const grid = h('div.rep-grid');
  mount(main, h('h1', 'Reports'), form, grid);
  const args = {from, to, bucket};
  const reports = await Promise.all(CHARTS.map((c) => get(`/v1/reports/${c.name}${qs(args)}`)));
  mount(grid, reports.map((r, i) => card(CHARTS[i], r, args)));
}

function card(def, r, args) {
  const idx = Object.fromEntries(r.columns.map((c, i) => [c.name, i]));
  const labels = r.rows.map((row) => row[0]);
  const col = (name) => r.rows.map((row) => row[idx[name]]);
  const title = (name) => (r.columns[idx[name]] || {}).title || name;
  let series = Object.entries(def.series).filter(([n]) => n in idx).map(([n, cls]) => ({name: title(n), values: col(n), cls}));
  if (def.name === 'change-incidents') {
    const all = col('incidents'), caused = col('change_caused');
    series = [{name: 'Caused by a change', values: caused, cls: 's-bad'},
              {name: 'Other incidents', values: all.map((v, i) => v - caused[i]), cls: 's-none'}];
  }
  const summary = def.name === 'change-success' ? rate(col('carried_out'), col('succeeded')) : null;
  const hid = `h-${def.name}`;
  const csv = `/v1/reports/${def.name}${qs({...args, format: 'csv'})}`;
  const table = h('table.rep-table', h('caption', `${r.title}: the figures`),
    h('thead', h('tr', r.columns.map((c) => h('th', {scope: 'col'}, c.unit && c.unit !== 'date' && c.unit !== c.title.toLowerCase() ? `${c.title} (${c.unit})` : c.title)))),
    h('tbody', r.rows.map((row) => h('tr', row.map((v, i) => (i === 0 ? h('th', {scope: 'row'}, v) : h('td', v === null ? '—' : String(v))))))));
  return h('section.card.rep-card', {'aria-labelledby': hid, dataset: {report: def.name}},
    h('h2', {id: hid}, r.title),
    summary ? h('p.rep-summary', summary) : null,
    def.draw({label: `${r.title}, per ${r.bucket} from ${labels[0] || '—'}`, labels, series, unit: def.unit}),
    legend(series, h),
    h('details', h('summary', 'Figures'), h('div.table-wrap', table)),
    h('p', h('a.rep-csv', {href: csv, download: `${def.name}.csv`}, `Download ${r.title.toLowerCase()} as CSV`)));
}

function rate(total, ok) {
  const t = total.reduce((a, b) => a + b, 0), s = ok.reduce((a, b) => a + b, 0);
  return t ? `${Math.round((s / t) * 1000) / 10}% of ${t} changes carried out succeeded.` : 'No change was carried out in this period.';
}
