// cab.js -- /app/cab, the CAB board: what waits for my vote and for the board, as the
// agenda of the next CAB meeting (GET /v1/cab/meetings; every change awaiting a decision
// is on the next meeting's agenda), with risk, services, slot and one-click approve /
// reject / abstain with an optional comment (POST /v1/changes/{id}/approvals); and what
// was decided since the last meeting.  Live events redraw it.
import {get, post, qs, ApiError} from '../lib/api.js';
import {h, mount} from '../lib/dom.js';
import {when, label} from '../lib/format.js';
import {riskBadge} from './changes_list.js';

const DAY = 86400000;

export async function render(main, ctx) {
  const me = ctx.session.user;
  const live = h('p.sr-only#cab-live', {'aria-live': 'polite'});
  const mineBox = h('section.card#cab-mine', {'aria-labelledby': 'h-cab-mine'});
  const agendaBox = h('section.card#cab-agenda', {'aria-labelledby': 'h-cab-agenda'});
  const decidedBox = h('section.card#cab-decided', {'aria-labelledby': 'h-cab-decided'});
  // Shown once filled: empty cards growing under the reader's eyes push each other down
  // (Lighthouse measured a layout shift of 0.83 with 10,000 changes).
  for (const box of [mineBox, agendaBox, decidedBox]) box.hidden = true;
  mount(main, h('h1', 'CAB board'), live, mineBox, agendaBox, decidedBox);
  const errors = {}; // change id -> last vote error, kept across redraws

  // The board and my queue come a page at a time: a busy CAB (or a test database of
  // 10,000 changes) must not make one big request or one huge page.
  const PAGE = 50;
  let shown = PAGE;
  async function load(announce) {
    const now = Date.now();
    const [meetings, pending, first] = await Promise.all([
      get(`/v1/cab/meetings${qs({from: new Date(now - 21 * DAY).toISOString(), to: new Date(now + 35 * DAY).toISOString()})}`)
        .catch(() => ({meetings: []})),
      get(`/v1/approvals/pending${qs({limit: PAGE})}`),
      get(`/v1/changes${qs({state: 'authorize', limit: PAGE})}`)]);
    const board = {items: first.items || [], next: first.next};
    while (board.next && board.items.length < shown) { // pages the user asked for already
      const more = await get(`/v1/changes${qs({state: 'authorize', limit: PAGE, next: board.next})}`);
      board.items.push(...(more.items || []));
      board.next = more.next;
    }
    const list = meetings.meetings || [];
    const next = list.find((m) => new Date(m.end).getTime() > now);
    const last = [...list].reverse().find((m) => new Date(m.end).getTime() <= now);
    const mine = new Map((pending.items || []).map((p) => [p.id, p]));
    const items = board.items;
    const total = pending.total ?? mine.size;

    const waiting = items.filter((c) => mine.has(c.id));
    for (const p of mine.values()) if (!items.some((c) => c.id === p.id)) waiting.push(p);
    mount(mineBox, h('h2#h-cab-mine', 'Waiting for your vote'),
          total > mine.size ? h('p.agenda-count', `${total} changes wait for your vote; the ${mine.size} oldest are shown.`) : null,
          waiting.length ? h('ul.plain.cab-items', waiting.map((c) => item(c, mine.get(c.id), true)))
            : h('p.muted', 'Nothing waits for your vote.'));
    mount(agendaBox, h('h2#h-cab-agenda', next ? `Next CAB meeting: ${when(next.start)}` : 'Next CAB meeting'),
          next && next.summary ? h('p.muted', next.summary) : null,
          !next ? h('p.muted', 'No CAB meeting in the next five weeks (policies/cab.ics).') : null,
          h('p.agenda-count', `On the agenda: ${items.length}${board.next ? '+' : ''} change${items.length === 1 ? '' : 's'} awaiting a decision`),
          items.length ? h('ul.plain.cab-items', items.map((c) => item(c, mine.get(c.id), false))) : h('p.muted', 'The agenda is empty.'),
          board.next ? h('button', {type: 'button', onclick: () => { shown += PAGE; load(false); }}, `Show ${PAGE} more`) : null);
    mineBox.hidden = agendaBox.hidden = false;

    let decided = [];
    if (last) {
      const since = await get(`/v1/changes${qs({updated_since: last.start, limit: 200})}`).catch(() => ({items: []}));
      decided = (since.items || []).filter((c) => c.approvals && c.state !== 'authorize' &&
                                                  (c.approvals.satisfied || c.approvals.rejected));
    }
    mount(decidedBox, h('h2#h-cab-decided', last ? `Decided since the last meeting (${when(last.start)})` : 'Decided lately'),
          decided.length ? h('ul.plain', decided.map((c) => h('li',
            h('a', {href: `/app/changes/${encodeURIComponent(c.id)}`}, c.id), ` ${c.title || ''} — `,
            h(c.approvals.rejected ? 'strong.bad' : 'strong.ok', c.approvals.rejected ? 'rejected' : 'approved'),
            ` · now ${label(c.state)}`)))
            : h('p.muted', 'Nothing decided since then.'));
    decidedBox.hidden = false;
    if (announce) mount(live, 'The board was updated.');
  }

  function item(c, pend, top) {
    const groups = (c.approvals && c.approvals.groups) || (pend && pend.groups) || [];
    const cid = `vote-${top ? 'mine' : 'agenda'}-${c.id}`;
    const err = h('p.error-box', {role: 'alert'}, errors[cid] || '');
    const member = groups.some((g) => (g.pending || []).includes(me));
    const comment = h('input', {id: `${cid}-comment`, name: 'comment', autocomplete: 'off'});
    const vote = async (decision, btn) => {
      btn.disabled = true;
      mount(err);
      try {
        await post(`/v1/changes/${encodeURIComponent(c.id)}/approvals`, {decision, comment: comment.value.trim() || undefined});
        delete errors[cid];
        ctx.status(`${{approve: 'Approved', reject: 'Rejected', abstain: 'Abstained on'}[decision]} ${c.id}.`);
        await load(true);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        errors[cid] = e.message;
        mount(err, e.message);
        btn.disabled = false;
      }
    };
    return h('li.cab-item', {dataset: {id: c.id}},
      h('h3', h('a', {href: `/app/changes/${encodeURIComponent(c.id)}`}, c.id), ` ${c.title || ''}`),
      h('p', riskBadge(c.risk), c.services ? ` · ${c.services.join(', ')}` : '',
        c.schedule && c.schedule.start ? ` · slot ${when(c.schedule.start)}` : '',
        c.requester ? ` · by ${c.requester}` : ''),
      c.risk && (c.risk.factors || []).length ? h('p.muted', c.risk.factors.map((f) => f.reason).join('; ')) : null,
      h('p.muted', groups.map((g) => `${g.group}: ${g.approvals || 0}/${g.quorum}${g.rejections ? `, ${g.rejections} rejected` : ''}`).join(' · ')),
      pend && !top ? h('p.muted', 'Waiting for your vote (above).') : null,
      top || (!pend && member) ? h('div.vote',
        !pend ? h('p.warn', 'Transom does not expect your vote here (segregation of duties may apply): ' +
                  'a vote is checked and refused with the reason.') : null,
        h('label', {for: comment.id}, `Comment on ${c.id} (optional)`), comment,
        h('div.actions',
          h('button.primary', {type: 'button', dataset: {vote: 'approve'}, onclick: (ev) => vote('approve', ev.currentTarget)}, 'Approve'),
          h('button.danger', {type: 'button', dataset: {vote: 'reject'}, onclick: (ev) => vote('reject', ev.currentTarget)}, 'Reject'),
          h('button', {type: 'button', dataset: {vote: 'abstain'}, onclick: (ev) => vote('abstain', ev.currentTarget)}, 'Abstain')))
        : (groups.some((g) => (g.voted || []).some((v) => (v.user || v) === me)) ? h('p.ok', 'You have voted.') : null),
      err);
  }

  await load(false);
  let timer = null;
  ctx.live((ev) => {
    if (ev && ev.kind && ev.kind !== 'change') return;
    clearTimeout(timer);
    timer = setTimeout(() => load(true).catch(() => {}), 300);
  });
  return () => clearTimeout(timer);
}
