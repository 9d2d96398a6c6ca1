// change_view.js -- /app/changes/{id}: one change: its state on the workflow graph, the
// actions the caller may fire (and why the others are blocked), the risk explanation,
// the approvals with quorum progress, the schedule, links and the audit history.  It
// redraws itself when a live event names the change.
import {get, post, ApiError} from '../lib/api.js';
import {h, mount, showProblem} from '../lib/dom.js';
import {when, label} from '../lib/format.js';
import {workflowGraph} from '../lib/graph.js';
import {riskBadge} from './changes_list.js';

export async function renderView(main, ctx, id) {
  const path = `/v1/changes/${encodeURIComponent(id)}`;
  const wfCache = {};
  const notice = h('div.error-box', {role: 'alert'});
  const live = h('p.sr-only#change-live', {'aria-live': 'polite'});
  let voteSlot = () => null;

  async function draw(announce) {
    const [c, risk, appr, hist, comments] = await Promise.all([
      get(path), get(`${path}/risk`).catch(() => null), get(`${path}/approvals`).catch(() => null),
      get(`${path}/history`).catch(() => null), get(`${path}/comments`).catch(() => null)]);
    if (!wfCache[c.workflow]) wfCache[c.workflow] = await get(`/v1/workflows/${encodeURIComponent(c.workflow)}`).catch(() => null);
    const wf = wfCache[c.workflow];
    ctx.title(`${c.id} ${c.title || ''}`);
    mount(main,
      h('h1', `${c.id} `, c.title || ''),
      h('p.change-meta', h(`span.badge.state#change-state`, {dataset: {state: c.state}}, label(c.state)), ' ',
        riskBadge(c.risk), ` · ${c.type} change by ${c.requester} · ${(c.services || []).join(', ')} · ${c.environment || ''}`),
      live, notice,
      actions(c),
      section('Workflow', 'h-wf', wf && wf.definition
        ? h('div.table-wrap.wf-wrap', {tabindex: 0, role: 'group', 'aria-label': 'Workflow graph (scrolls sideways)'},
            workflowGraph({...wf.definition, name: c.workflow}, c.state))
        : h('p.muted', 'The workflow is not available.'),
        wf && wf.definition && wf.definition.states[c.state] ? h('p.muted', `${label(c.state)}: ${wf.definition.states[c.state].description || ''}`) : null),
      h('div.grid',
        section('Risk', 'h-risk', riskView(risk || c.risk)),
        section('Approvals', 'h-appr', approvalsView(appr), voteSlot(appr)),
        section('Schedule', 'h-sched', scheduleView(c)),
        section('Plans', 'h-plans', ['description', 'implementation_plan', 'rollback_plan', 'test_evidence'].map((k) =>
          h('div', h('h3', label(k)), h('p.pre', c[k] || '—')))),
        section('Links', 'h-links', linksView(c.links || {}))),
      section('Comments', 'h-comments', commentsView(comments), commentForm()),
      section('History', 'h-hist', historyView(hist)));
    if (announce) mount(live, `Updated: ${c.id} is ${label(c.state)}.`);
  }

  function actions(c) {
    const fire = async (event) => {
      mount(notice);
      try {
        await post(`${path}/transitions`, {event});
        await draw(true);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        mount(notice, e.message);
      }
    };
    const blocked = c.blocked_events || [];
    return h('section.card#actions', {'aria-labelledby': 'h-actions'}, h('h2#h-actions', 'Actions'),
      h('div.actions',
        c.state === 'draft' && c.requester === ctx.session.user
          ? h('a.button', {href: `/app/changes/new?id=${encodeURIComponent(c.id)}`}, 'Edit draft') : null,
        (c.available_events || []).map((ev) => h(`button${ev === 'cancel' ? '.danger' : '.primary'}`,
          {type: 'button', dataset: {event: ev}, onclick: () => fire(ev)}, label(ev)))),
      blocked.length ? h('ul.blocked', blocked.map((b) => h('li', h('strong', label(b.event)), `: ${b.detail}`))) : null,
      !(c.available_events || []).length && !blocked.length ? h('p.muted', 'Nothing to do here in this state.') : null);
  }

  // A vote, for a member of a group still waiting on the caller (the same call as the CAB board).
  function voteBox(appr) {
    const me = ctx.session.user;
    const waiting = ((appr && appr.groups) || []).some((g) => (g.pending || []).includes(me));
    if (!waiting) return null;
    const comment = h('input', {name: 'comment', id: 'vote-comment', autocomplete: 'off'});
    const vote = async (decision) => {
      mount(notice);
      try {
        await post(`${path}/approvals`, {decision, comment: comment.value.trim() || undefined});
        await draw(true);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        mount(notice, e.message);
      }
    };
    return h('div.vote', h('label', {for: 'vote-comment'}, 'Comment with your vote (optional)'), comment,
      h('div.actions', ['approve', 'reject', 'abstain'].map((d) =>
        h(`button${d === 'approve' ? '.primary' : d === 'reject' ? '.danger' : ''}`,
          {type: 'button', dataset: {vote: d}, onclick: () => vote(d)}, d[0].toUpperCase() + d.slice(1)))));
  }
  voteSlot = voteBox;

  // Keeps what is being typed, and the refusal of the last try, across live redraws.
  let draftComment = '';
  let commentRefusal = null;
  function commentForm() {
    const text = h('textarea', {name: 'text', id: 'comment-text', rows: 3, maxlength: 4000, value: draftComment,
                                oninput: (ev) => { draftComment = ev.target.value; }});
    const err = h('p.error', {id: 'comment-text-error', 'aria-live': 'polite'});
    text.setAttribute('aria-describedby', err.id);
    const form = h('form.comment', {novalidate: true},
      h('div.field', {dataset: {field: 'text'}}, h('label', {for: text.id}, 'Add a comment'), text, err),
      h('button.primary', {type: 'submit'}, 'Comment'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await post(`${path}/comments`, {text: text.value});
        draftComment = '';
        commentRefusal = null;
        await draw(true);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        commentRefusal = e;
        showProblem(form, e, notice);
      }
    });
    if (commentRefusal) showProblem(form, commentRefusal, notice);
    return form;
  }

  await draw(false);
  let timer = null;
  ctx.live((ev) => {
    const rid = ev && (ev.id || ev.record || (ev.record && ev.record.id));
    if (rid && rid !== id) return;
    clearTimeout(timer);
    timer = setTimeout(() => draw(true).catch((e) => console.error(e)), 250);
  });
  return () => clearTimeout(timer);
}

function section(title, hid, ...body) {
  return h('section.card', {'aria-labelledby': hid}, h(`h2#${hid}`, title), body);
}

function riskView(r) {
  if (!r || !r.level) return h('p.muted', 'Not assessed yet: the risk is scored on submit.');
  return [h('p', riskBadge(r), ` score ${r.score}`),
    (r.factors || []).length ? h('ul.factors', r.factors.map((f) => h('li', h('span.points', `+${f.points}`), ' ', f.reason)))
      : h('p.muted', 'No factor applies.'),
    r.history ? h('p.muted', `Failure rate on ${r.history.service || 'its services'}: ${Math.round((r.history.failure_rate || 0) * 100)}% ` +
                  `(${r.history.changes} changes, ${r.history.failures} failed)`) : null];
}

function approvalsView(a) {
  if (!a || !(a.groups || []).length) return h('p.muted', 'No approval requested.');
  return [
    h('ul.plain', a.groups.map((g) => h('li',
      h('strong', g.group), ` ${g.approvals} of ${g.quorum} approvals`,
      h('progress', {max: g.quorum, value: Math.min(g.approvals, g.quorum), 'aria-label': `${g.group}: ${g.approvals} of ${g.quorum}`}),
      g.rejections ? h('span.bad', ` ${g.rejections} rejected`) : null,
      g.abstentions ? ` · ${g.abstentions} abstained` : '',
      g.satisfied ? h('span.ok', ' · satisfied') : ''))),
    a.expires_at ? h('p.muted', `Expires ${when(new Date(a.expires_at * 1000).toISOString())}`) : null,
    (a.votes || []).length ? h('table.votes', h('caption', 'Votes'),
      h('thead', h('tr', ['Who', 'Decision', 'Channel', 'When', 'Comment'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', a.votes.map((v) => h('tr', h('td', v.user || ''), h('td', v.decision || ''),
        h('td', v.channel || 'api'), h('td', when(v.at)), h('td', v.comment || '')))))
      : h('p.muted', 'No vote yet.')];
}

function scheduleView(c) {
  const s = c.schedule;
  if (!s) return h('p.muted', 'Not scheduled.');
  return [h('p', h('strong', label(s.status || '')), s.start ? ` ${when(s.start)} – ${when(s.end)}` : ''),
    s.window ? h('p.muted', `Window ${windowName(s.window)}`) : null,
    c.not_before || c.not_after ? h('p.muted', `Between ${when(c.not_before)} and ${when(c.not_after)}`) : null,
    s.soft_freeze ? h('p.warn', `Soft freeze: ${windowName(s.soft_freeze)}`) : null,
    (s.skipped || []).length ? h('ul.skipped', s.skipped.map((k) => h('li', k.start ? `${when(k.start)}: ` : '', k.reason || ''))) : null,
    s.conflicts ? h('p.warn', `Conflicts: ${JSON.stringify(s.conflicts)}`) : null];
}

function linksView(links) {
  const rows = [];
  for (const [rel, v] of Object.entries(links)) {
    for (const rid of [].concat(v || [])) {
      const ident = typeof rid === 'string' ? rid : rid.id;
      const kind = /^INC/.test(ident) ? 'incidents' : /^PRB/.test(ident) ? 'problems' : 'changes';
      rows.push(h('li', `${label(rel)}: `, h('a', {href: `/app/${kind}/${encodeURIComponent(ident)}`}, ident)));
    }
  }
  return rows.length ? h('ul.plain', rows) : h('p.muted', 'No incident or problem is linked.');
}

function historyView(hist) {
  const evs = (hist && hist.events) || [];
  if (!evs.length) return h('p.muted', 'No history.');
  return h('ol.history', evs.map((e) => h('li',
    h('time', {datetime: e.at}, when(e.at)), ' ', h('strong', e.actor), ' ', describe(e))));
}

function describe(e) {
  const d = e.detail || {};
  if (e.action === 'transitioned') return `${d.event}: ${d.from ? label(d.from) : 'new'} → ${label(d.to)}${d.comment ? ` (${d.comment})` : ''}`;
  if (e.action === 'updated') return `edited ${(d.changed || []).map(label).join(', ')}`;
  if (e.action === 'note') return d.text || 'note';
  if (e.action === 'created') return 'created the change';
  if (e.action === 'commented') return `commented: ${d.text || ''}`;
  return `${label(e.action)}${d.decision ? `: ${d.decision}` : ''}${d.comment ? ` (${d.comment})` : ''}`;
}

// A window or freeze as the API gives it: its UID (a string) or an object with a summary.
export function windowName(w) {
  if (!w) return '';
  if (typeof w === 'string') return w.replace(/@.*$/, '');
  return w.summary || (w.uid || '').replace(/@.*$/, '') || '';
}

function commentsView(data) {
  const items = (data && data.items) || [];
  if (!items.length) return h('p.muted', 'No comment yet.');
  return h('ol.plain.comments', items.map((c) => h('li',
    h('p.comment-meta', h('strong', c.user), ' · ', h('time', {datetime: c.at}, when(c.at))),
    h('p.pre', c.text))));
}
