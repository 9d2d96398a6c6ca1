// timeline.js -- a horizontal timeline: one row per name, items placed by time as bars
// (positions set through element.style from script, which the CSP allows), day ticks on
// top.  Items with an href are links (keyboard reachable, named for screen readers); the
// others are decoration described by their title, and every page that uses this also
// lists the items in a table.
import {h} from './dom.js';

const DAY = 86400000;
const fmt = new Intl.DateTimeFormat(undefined, {weekday: 'short', day: 'numeric'});
const fmtDay = new Intl.DateTimeFormat(undefined, {day: 'numeric'});
const fmtTime = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'});

// timeline({from, to, rows: [name], items: [{kind, label, start, end, rowNames}], days:
// 'week'|'month', href(item)}) -> element
export function timeline({from, to, rows, items, days, href}) {
  const span = to - from;
  const pct = (t) => `${Math.max(0, Math.min(100, ((t - from) / span) * 100))}%`;
  const ticks = [];
  for (let t = from; t < to; t += DAY) {
    const tick = h('span.tl-tick', (days === 'month' ? fmtDay : fmt).format(new Date(t)));
    tick.style.left = pct(t);
    tick.style.width = pct(from + DAY);
    ticks.push(tick);
  }
  const now = Date.now();
  const body = rows.map((name) => {
    const track = h('div.tl-track');
    for (let t = from; t < to; t += DAY) {
      const line = h('span.tl-day');
      line.style.left = pct(t);
      track.append(line);
    }
    if (now >= from && now < to) {
      const n = h('span.tl-now', {title: 'now'});
      n.style.left = pct(now);
      track.append(n);
    }
    const mine = items.filter((it) => it.rowNames.includes(name));
    mine.sort((a, b) => (a.kind === 'booking') - (b.kind === 'booking'));
    for (const it of mine) {
      const s = Date.parse(it.start), e = Date.parse(it.end);
      const text = `${it.label}: ${fmtTime.format(new Date(s))} – ${fmtTime.format(new Date(e))}`;
      const link = href && href(it);
      const bar = link ? h(`a.tl-item.tl-${it.kind}`, {href: link, title: text, 'aria-label': text}, it.label)
        : h(`span.tl-item.tl-${it.kind}`, {title: text});
      bar.style.left = pct(Math.max(s, from));
      bar.style.width = `max(4px, calc(${pct(Math.min(e, to))} - ${pct(Math.max(s, from))}))`;
      track.append(bar);
    }
    return h('div.tl-row', h('div.tl-name', name), track);
  });
  return h('div.tl', {role: 'group', 'aria-label': 'Timeline'},
           h('div.tl-row.tl-head', {'aria-hidden': 'true'}, h('div.tl-name'), h('div.tl-track', ticks)), body);
}
