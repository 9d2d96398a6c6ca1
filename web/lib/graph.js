// graph.js -- a workflow drawn as inline SVG (DOM APIs only, no markup strings): states in
// columns by their distance from the initial state, transitions as arrows, the current
// state highlighted.  The definition is GET /v1/workflows/{name}'s `definition`.
const NS = 'http://www.w3.org/2000/svg';
const W = 132, H = 34, GX = 46, GY = 16;

function s(tag, attrs, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const k of kids) if (k !== null && k !== undefined) el.append(k.nodeType ? k : document.createTextNode(String(k)));
  return el;
}

const froms = (t) => (Array.isArray(t.from) ? t.from : t.from === '*' || !t.from ? [] : [t.from]);

// Columns: breadth-first distance from `initial`.  Ends reached from several states
// (cancelled, rejected) go in a row of their own below, so arrows to them do not cross
// the main path; states not reached go in a last column.
export function layout(def) {
  const states = Object.keys(def.states || {});
  const ts = def.transitions || [];
  const preds = {};
  const outs = {};
  for (const t of ts) for (const f of froms(t)) {
    if (f === t.to) continue;
    (preds[t.to] = preds[t.to] || new Set()).add(f);
    (outs[f] = outs[f] || new Set()).add(t.to);
  }
  const sink = (st) => st !== def.initial && !outs[st] && preds[st] && preds[st].size >= 2;
  const depth = {[def.initial]: 0};
  const queue = [def.initial];
  while (queue.length) {
    const at = queue.shift();
    for (const to of outs[at] || []) {
      if (!(to in depth) && !sink(to)) { depth[to] = depth[at] + 1; queue.push(to); }
    }
  }
  const last = Math.max(0, ...Object.values(depth)) + 1;
  const cols = [];
  const ends = [];
  for (const st of states) {
    if (sink(st)) { ends.push(st); continue; }
    const c = st in depth ? depth[st] : last;
    (cols[c] = cols[c] || []).push(st);
  }
  const pos = {};
  cols.forEach((col, c) => (col || []).forEach((st, r) => { pos[st] = {x: 8 + c * (W + GX), y: 28 + r * (H + GY)}; }));
  const rows = Math.max(1, ...cols.map((c) => (c || []).length));
  ends.forEach((st, i) => { pos[st] = {x: 8 + (i + 1) * (W + GX), y: 28 + rows * (H + GY) + 24}; });
  const ncols = Math.max(cols.length, ends.length + 1);
  const width = 16 + ncols * (W + GX) - GX;
  const height = 36 + rows * (H + GY) - GY + (ends.length ? H + GY + 24 : 0);
  return {pos, width, height, states};
}

// The SVG element: `current` highlighted; its title/desc name the workflow and state.
export function workflowGraph(def, current) {
  const {pos, width, height, states} = layout(def);
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
                        'aria-labelledby': 'wf-title', class: 'wf-graph'});
  svg.append(s('title', {id: 'wf-title'}, `Workflow ${def.name || ''}: ${states.length} states, now in ${current}`));
  svg.append(s('defs', {}, s('marker', {id: 'wf-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
                                        markerHeight: 7, orient: 'auto-start-reverse'},
                             s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'wf-arrowhead'}))));
  const seen = new Set();
  for (const t of def.transitions || []) {
    for (const f of froms(t)) {
      const a = pos[f], b = pos[t.to];
      if (!a || !b || f === t.to || seen.has(`${f}>${t.to}`)) continue;
      seen.add(`${f}>${t.to}`);
      const down = b.y > a.y + H;
      const back = !down && b.x <= a.x;
      let d;
      if (down) {
        const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
        d = `M${x1},${y1} C${x1},${y1 + 24} ${x2},${y2 - 24} ${x2},${y2}`;
      } else if (back) {
        const x1 = a.x + W / 2, y1 = a.y, x2 = b.x + W / 2, y2 = b.y;
        d = `M${x1},${y1} C${x1},${y1 - 20} ${x2},${y2 - 20} ${x2},${y2}`;
      } else {
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
        d = `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
      }
      svg.append(s('path', {d, class: `wf-edge${f === current ? ' wf-edge-now' : ''}`, 'marker-end': 'url(#wf-arrow)'},
                   s('title', {}, `${t.event}: ${f} → ${t.to}`)));
    }
  }
  for (const st of states) {
    const p = pos[st];
    const now = st === current;
    svg.append(s('g', {class: `wf-state${now ? ' wf-current' : ''}`, 'data-state': st},
                 s('rect', {x: p.x, y: p.y, width: W, height: H, rx: 6}),
                 s('text', {x: p.x + W / 2, y: p.y + H / 2 + 5, 'text-anchor': 'middle'}, st.replace(/_/g, ' ')),
                 now ? s('title', {}, `${st} (current state)`) : null));
  }
  return svg;
}
