// change_form.js -- /app/changes/new (and ?id=CHG-n to go on with a draft): the RFC form.
// Services come from the catalog (GET /v1/policies: catalog, templates) with their
// dependencies; while typing, a live preview from POST /v1/simulate says the risk and
// why, who must approve, the slot it would get and why earlier windows do not fit, and
// the freezes in the way.  "Save draft" creates (POST /v1/changes) then edits (PATCH with
// If-Match); "Submit" saves and fires `submit`.  Errors appear at the field they name.
import {get, post, patch, ApiError} from '../lib/api.js';
import {h, mount, field, showProblem} from '../lib/dom.js';
import {when, minutes, label} from '../lib/format.js';

const DURATIONS = [15, 30, 60, 90, 120, 180, 240, 360, 480];
const TEXTS = [['description', 'Description', 'What changes and why.'],
               ['implementation_plan', 'Implementation plan', 'The steps, in order.'],
               ['rollback_plan', 'Backout plan', 'How to undo it if it goes wrong.'],
               ['test_evidence', 'Test plan and evidence', 'How it was tested (a staging run, a ticket).']];

const iso = (min) => `PT${Math.floor(min / 60) ? `${Math.floor(min / 60)}H` : ''}${min % 60 ? `${min % 60}M` : ''}`;
const fromIso = (d) => { const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(d || ''); return m ? (+m[1] || 0) * 60 + (+m[2] || 0) : 60; };
const localValue = (isoTime) => {
  if (!isoTime) return '';
  const d = new Date(isoTime);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

export async function renderForm(main, ctx) {
  const draftId = ctx.query.get('id');
  const [policies, draft] = await Promise.all([
    get('/v1/policies'),
    draftId ? get(`/v1/changes/${encodeURIComponent(draftId)}`) : Promise.resolve(null)]);
  const catalog = policies.catalog || [];
  const templates = policies.templates || [];
  let id = draft ? draft.id : null;
  let version = draft ? draft.version : null;
  ctx.title(id ? `Edit ${id}` : 'New change');

  const v = (k) => (draft && draft[k]) || '';
  const title = h('input', {name: 'title', required: true, maxlength: 200, value: v('title'), autocomplete: 'off'});
  const type = h('select', {name: 'type', disabled: draft ? true : null}, ['normal', 'standard', 'emergency'].map((t) =>
    h('option', {value: t, selected: (v('type') || 'normal') === t ? true : null}, t)));
  const template = h('select', {name: 'template'});
  const templateField = field('Template', template, 'Only the templates that cover every service picked.');
  const environment = h('select', {name: 'environment'}, ['production', 'staging'].map((e) =>
    h('option', {value: e, selected: (v('environment') || 'production') === e ? true : null}, e)));
  const duration = h('select', {name: 'duration'}, DURATIONS.map((m) =>
    h('option', {value: iso(m), selected: fromIso(v('duration') || 'PT1H') === m ? true : null}, minutes(m))));
  const notBefore = h('input', {name: 'not_before', type: 'datetime-local', value: localValue(v('not_before'))});
  const notAfter = h('input', {name: 'not_after', type: 'datetime-local', value: localValue(v('not_after'))});
  const chosen = new Set(draft ? draft.services || [] : []);
  const byName = Object.fromEntries(catalog.map((s) => [s.name, s]));
  const serviceBoxes = catalog.map((s) => h('li',
    h('label.check', h('input', {type: 'checkbox', name: 'services', value: s.name, checked: chosen.has(s.name) ? true : null}),
      ' ', h('strong', s.name), ' ', h(`span.badge.crit-${s.criticality}`, s.criticality)),
    h('span.hint', s.team, s.depends_on.length ? ` · depends on ${s.depends_on.join(', ')}` : '',
      s.description ? ` · ${s.description}` : '')));
  const servicesField = h('div.field', {dataset: {field: 'services'}},
    h('fieldset.services', h('legend', 'Services'), h('ul.plain.service-list', serviceBoxes)),
    h('p.hint#svc-deps', {'aria-live': 'polite'}),
    h('p.error', {'aria-live': 'polite'}));
  const texts = TEXTS.map(([name, text, hint]) => field(text, h('textarea', {name, rows: 4, value: v(name)}), hint));
  const formError = h('div.error-box', {role: 'alert'});
  const saved = h('p.muted#saved', {'aria-live': 'polite'});
  const form = h('form.rfc', {novalidate: true},
    field('Title', title), field('Type', type), templateField, servicesField,
    h('div.row', field('Environment', environment), field('Duration', duration)),
    h('div.row', field('Not before', notBefore, 'Earliest start (your time zone); empty: as soon as possible.'),
      field('Not after', notAfter, 'Latest end; empty: no limit.')),
    texts, formError,
    h('p.actions',
      h('button', {type: 'button', name: 'save', onclick: () => save(false)}, 'Save draft'),
      h('button.primary', {type: 'submit'}, 'Submit for approval')),
    saved);
  const preview = h('section.card.preview#preview', {'aria-labelledby': 'h-preview', 'aria-live': 'polite'},
    h('h2#h-preview', 'Preview'), h('p.muted', 'Pick a service to see the risk, the approvers and the slot.'));
  mount(main, h('h1', id ? `Edit ${id}` : 'New change'), h('div.rfc-layout', form, preview));

  function body() {
    const services = [...form.querySelectorAll('input[name=services]:checked')].map((c) => c.value);
    const b = {title: title.value.trim(), type: type.value, services, environment: environment.value,
               duration: duration.value};
    if (type.value === 'standard' && template.value) b.template = template.value;
    if (notBefore.value) b.not_before = new Date(notBefore.value).toISOString();
    if (notAfter.value) b.not_after = new Date(notAfter.value).toISOString();
    for (const [name] of TEXTS) {
      const t = form.elements[name].value.trim();
      if (t) b[name] = t;
    }
    return b;
  }

  function syncTemplates() {
    const services = body().services;
    const fits = templates.filter((t) => services.length && services.every((s) => t.services.includes(s)) &&
                                          fromIso(duration.value) * 60 <= t.max_duration);
    const was = template.value || v('template');
    mount(template, h('option', {value: ''}, fits.length ? 'Choose a template' : 'No template covers these services'),
          fits.map((t) => h('option', {value: t.id, selected: t.id === was ? true : null}, t.title)));
    templateField.hidden = type.value !== 'standard';
    const deps = [...new Set(services.flatMap((s) => (byName[s] ? byName[s].depends_on : [])))].filter((d) => !services.includes(d));
    mount(form.querySelector('#svc-deps'), deps.length ? `These depend on ${deps.join(', ')}: bookings there count as conflicts.` : '');
  }

  let timer = null;
  let asked = 0;
  async function refreshPreview() {
    const b = body();
    if (!b.services.length) return;
    const mine = ++asked;
    try {
      const sim = await post('/v1/simulate', {...b, title: b.title || 'untitled'});
      if (mine === asked) drawPreview(preview, sim);
    } catch (e) {
      if (mine === asked) mount(preview, h('h2#h-preview', 'Preview'), h('p.error-box', e.message));
    }
  }
  const later = () => { clearTimeout(timer); timer = setTimeout(refreshPreview, 350); };
  form.addEventListener('input', later);
  form.addEventListener('change', () => { syncTemplates(); later(); });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); save(true); });
  syncTemplates();
  if (chosen.size) refreshPreview();

  async function save(submit) {
    const b = body();
    mount(formError);
    showProblem(form, {message: '', field: null});
    try {
      let rec;
      if (!id) {
        rec = await post('/v1/changes', b);
        id = rec.id;
        history.replaceState(null, '', `/app/changes/new?id=${encodeURIComponent(id)}`);
      } else {
        const p = {...b};
        delete p.type; // fixed when the change is created
        for (const k of ['not_before', 'not_after', 'template', ...TEXTS.map((t) => t[0])]) if (!(k in p)) p[k] = null;
        rec = await patch(`/v1/changes/${encodeURIComponent(id)}`, p, {headers: {'If-Match': `"${version}"`}});
      }
      version = rec.version;
      type.disabled = true;
      mount(saved, `Draft ${id} saved.`);
      if (submit) {
        await post(`/v1/changes/${encodeURIComponent(id)}/transitions`, {event: 'submit'});
        ctx.go(`/app/changes/${encodeURIComponent(id)}`);
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const missing = e.problem && e.problem.missing;
      const f = e.field || (missing && missing[0]) || null;
      showProblem(form, {message: e.message, field: f}, formError);
      if (!f || !form.querySelector(`.field[data-field="${CSS.escape(f)}"]`)) mount(formError, e.message);
    }
  }
  return () => clearTimeout(timer);
}

// The simulate answer, in words.
export function drawPreview(box, sim) {
  const r = sim.risk || {};
  const a = sim.approvals || {};
  const sch = sim.schedule || {};
  const slots = (sim.slots && sim.slots.slots) || [];
  const skipped = (sch.skipped && sch.skipped.length ? sch.skipped : (sim.slots && sim.slots.skipped)) || [];
  const blocked = sim.workflow && sim.workflow.blocked;
  mount(box, h('h2#h-preview', 'Preview'),
    h('p.preview-risk', 'Risk: ', h(`strong.badge.risk-${r.level || 'none'}#preview-level`, r.level || 'not assessed'),
      r.score !== undefined ? ` score ${r.score}` : ''),
    (r.factors || []).length ? h('ul.factors', r.factors.map((f) => h('li', h('span.points', `+${f.points}`), ' ', f.reason)))
      : h('p.muted', 'No risk factor applies.'),
    h('h3', 'Who must approve'),
    (a.groups || []).length ? h('ul.plain#preview-groups', a.groups.map((g) => h('li', {dataset: {group: g.group}},
      h('strong', g.group), ` — ${g.quorum} vote${g.quorum === 1 ? '' : 's'} of ${(g.eligible || []).join(', ')}`,
      g.service_owner_of ? ` (owners of ${g.service_owner_of.join(', ')})` : '')))
      : h('p#preview-groups', sim.template && sim.template.preapproved ? 'Nobody: the template pre-approves it.' : 'No approval needed.'),
    sim.template ? h('p', `Template ${sim.template.id || ''}: ${sim.template.preapproved ? 'pre-approved' : 'not pre-approved'}`,
                     sim.template.reason ? ` — ${sim.template.reason}` : '') : null,
    h('h3', 'When it would run'),
    sch.start ? h('p#preview-slot', h('strong', when(sch.start)), ` to ${when(sch.end)}`,
                  sch.window ? ` in ${windowName(sch.window)}` : '')
      : h('p#preview-slot.warn', sch.reason || sch.detail || 'No slot found.'),
    sch.soft_freeze ? h('p.warn', `Inside the soft freeze ${windowName(sch.soft_freeze)}: extra approval is needed.`) : null,
    skipped.length ? h('div', h('p', 'Earlier windows that do not fit:'),
                       h('ul.skipped', skipped.map((s) => h('li', s.start ? `${when(s.start)}: ` : '', s.reason || s.detail || JSON.stringify(s)))))
      : null,
    slots.length > 1 ? h('p.muted', 'Next slots: ', slots.slice(1).map((s) => when(s.start)).join(' · ')) : null,
    (sim.errors || []).length ? h('ul.bad', sim.errors.map((e) => h('li', e.detail || e.message || String(e)))) : null,
    blocked ? h('p.muted', `Before submitting: ${blocked.detail}`) : null,
    sim.workflow && sim.workflow.path ? h('p.muted', `Path on submit: ${sim.workflow.path.map(label).join(' → ')}`) : null);
}

// A window or freeze as the API gives it: its UID (a string) or an object with a summary.
export function windowName(w) {
  if (!w) return '';
  if (typeof w === 'string') return w.replace(/@.*$/, '');
  return w.summary || (w.uid || '').replace(/@.*$/, '') || '';
}
