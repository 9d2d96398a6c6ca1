// chart.js -- small SVG charts drawn with DOM APIs (no library, no inline style: colours
// come from classes in app.css).  bars(): stacked bars per bucket; line(): one or more
// lines.  Each chart is role="img" with a label saying what it shows; pages also give
// the figures as a table.
const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, ...kids) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
  for (const k of kids) if (k) e.append(k.nodeType ? k : document.createTextNode(String(k)));
  return e;
}

const W = 640, H = 260, L = 44, R = 8, T = 12, B = 40;

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(label, labels, max, unit) {
  const svg = el('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart'});
  svg.append(el('title', {}, label));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(el('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'chart-grid'}));
    svg.append(el('text', {x: L - 4, y: y(v) + 4, class: 'chart-axis', 'text-anchor': 'end'}, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  if (unit) svg.append(el('text', {x: 2, y: T + 2, class: 'chart-axis'}, unit));
  const step = (W - L - R) / Math.max(1, labels.length);
  const every = Math.ceil(labels.length / 8);
  labels.forEach((t, i) => {
    if (i % every === 0) svg.append(el('text', {x: L + step * (i + 0.5), y: H - B + 16, class: 'chart-axis', 'text-anchor': 'middle'}, t.slice(5)));
  });
  return {svg, y, step};
}

// bars({label, labels, series: [{name, values, cls}], unit}) -> svg (stacked)
export function bars({label, labels, series, unit}) {
  const totals = labels.map((_, i) => series.reduce((a, s) => a + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(4, ...totals));
  const {svg, y, step} = frame(label, labels, max, unit);
  labels.forEach((t, i) => {
    let base = 0;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (v > 0) {
        const r = el('rect', {x: L + step * i + step * 0.15, width: step * 0.7, y: y(base + v), height: y(base) - y(base + v), class: s.cls},
                     el('title', {}, `${t}: ${s.name} ${v}`));
        svg.append(r);
      }
      base += v;
    }
  });
  return svg;
}

// line({label, labels, series: [{name, values, cls}], unit}) -> svg (nulls break the line)
export function line({label, labels, series, unit}) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const {svg, y, step} = frame(label, labels, max, unit);
  for (const s of series) {
    let d = '';
    s.values.forEach((v, i) => {
      if (v === null || v === undefined) { d += ' '; return; }
      const x = L + step * (i + 0.5);
      d += `${/\d\s*$/.test(d) ? 'L' : 'M'}${x.toFixed(1)},${y(v).toFixed(1)} `;
      svg.append(el('circle', {cx: x, cy: y(v), r: 3, class: s.cls}, el('title', {}, `${labels[i]}: ${s.name} ${v}`)));
    });
    svg.append(el('path', {d: d.trim(), class: `${s.cls} chart-line`, fill: 'none'}));
  }
  return svg;
}

// A legend: <ul> of swatches with the series' names.
export function legend(series, h) {
  return h('ul.chart-legend', series.map((s) => h('li', h(`span.chart-swatch.${s.cls}`), s.name)));
}
