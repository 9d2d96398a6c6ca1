// dom.js -- building the page without innerHTML: every text from the API goes in as text,
// never as markup, so a change title cannot inject script.

// h('tag.class#id', {attr: value, onclick: fn}, ...children): an element.  Children are
// nodes, strings (text), arrays (flattened), or null/false (skipped).  Attributes whose
// value is null/false are left out; `true` sets them empty (e.g. {disabled: true}).
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][A-Za-z0-9_-]+)*)$/.exec(spec);
  if (!m) throw new Error(`bad element spec '${spec}'`);
  const el = document.createElement(m[1] || 'div');
  for (const part of m[2].match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (attrs.nodeType || typeof attrs !== 'object' || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c.nodeType ? c : document.createTextNode(String(c)));
  }
}

// Replaces the children of `el` with `children`.
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A labelled form field: <div class="field"><label for=id>label</label>control<p error></div>.
// The error paragraph (`.error`, aria-live) shows a problem's detail for this field.
let fieldSeq = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const err = h('p.error', {id: `${id}-error`, 'aria-live': 'polite'});
  const hintEl = hint ? h('p.hint', {id: `${id}-hint`}, hint) : null;
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  return h('div.field', {dataset: {field: control.name || ''}},
           h('label', {for: id}, label), control, hintEl, err);
}

// Shows `problem` (an ApiError) next to the field it names (problem+json `field`), or
// in `fallback` when no field of `form` has that name.  Clears earlier errors first.
export function showProblem(form, problem, fallback) {
  for (const p of form.querySelectorAll('.field .error')) p.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  const name = problem.field ? problem.field.replace(/\[.*$/, '').split('.')[0] : '';
  const box = name && form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (box) {
    box.querySelector('.error').textContent = problem.message;
    const c = box.querySelector('input, select, textarea');
    if (c) { c.setAttribute('aria-invalid', 'true'); c.focus(); }
  } else if (fallback) {
    mount(fallback, problem.message);
  }
}
