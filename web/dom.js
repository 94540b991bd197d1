// dom.js — the few DOM helpers every view uses. Nothing here touches
// innerHTML: text always goes in as text nodes, so data from the API can
// never turn into markup.

// h('button', {class: 'button', onclick: fn}, 'Save') builds an element.
// Props: class, text, on<event> listeners, value/checked/disabled/hidden/
// selected as properties, anything else as an attribute (true → present,
// false/null/undefined → left out). Children: nodes, strings, arrays, or
// nothing (null/false are skipped).
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// The same for SVG elements.
export function s(tag, props, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected']);

function build(el, props, children) {
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') el.textContent = v == null ? '' : String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPERTIES.has(k)) el[k] = v;
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v != null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces el's children, with h()'s rules for what a child may be.
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function clear(el) {
  return replace(el);
}

let counter = 0;
// A page-unique id for label/aria wiring.
export function uid(prefix = 'id') {
  counter += 1;
  return `${prefix}-${counter}`;
}

// Small stroke icons (24×24), decorative: hidden from assistive technology.
const ICONS = {
  lock: ['M7 11V8a5 5 0 0 1 10 0v3', 'M5 11h14v10H5z'],
  plus: ['M12 5v14', 'M5 12h14'],
  x: ['M6 6l12 12', 'M18 6L6 18'],
  search: ['M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z', 'M21 21l-5-5'],
  chevron: ['M9 6l6 6-6 6'],
  webhook: ['M9 17a4 4 0 1 1-4-4', 'M15 7a4 4 0 1 1 4 4', 'M12 3l-3 6h6l-3 6', 'M19 17h-6'],
  plug: ['M9 2v6', 'M15 2v6', 'M6 8h12v4a6 6 0 0 1-12 0z', 'M12 18v4'],
  grid: ['M4 4h7v7H4z', 'M13 4h7v7h-7z', 'M4 13h7v7H4z', 'M13 13h7v7h-7z'],
  cart: ['M3 4h2l2.5 11h11L21 7H7', 'M9 20h.01', 'M18 20h.01'],
  cloud: ['M7 18a5 5 0 0 1 0-10 6 6 0 0 1 11.3 2A4 4 0 0 1 18 18z'],
  sheet: ['M6 3h9l4 4v14H6z', 'M9 12h7', 'M9 16h7', 'M9 8h3'],
  zap: ['M13 2L4 14h7l-1 8 9-12h-7z'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  eye: ['M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z', 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z'],
};

export function icon(name, size = 18) {
  return s('svg', {
    viewBox: '0 0 24 24', width: size, height: size, fill: 'none', stroke: 'currentColor',
    'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
    'aria-hidden': 'true', focusable: 'false',
  }, (ICONS[name] || []).map((d) => s('path', {d})));
}

// Runs fn while button is disabled, so a double click cannot send a request
// twice. Gives keyboard focus back to the button when the request ends.
export async function busy(button, fn) {
  if (button.disabled) return undefined;
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (hadFocus && button.isConnected &&
        (document.activeElement === document.body || document.activeElement === null)) {
      button.focus();
    }
  }
}

// A labelled input with a hint and an error slot. Returns {wrap, input, error}.
export function field({label, input, hint, id = uid('f')}) {
  input.id = id;
  const error = h('p', {class: 'error-text', id: `${id}-error`});
  const wrap = h('div', {class: 'field'}, h('label', {for: id, text: label}));
  if (hint) {
    const hintEl = h('p', {class: 'hint', id: `${id}-hint`, text: hint});
    input.setAttribute('aria-describedby', hintEl.id);
    wrap.append(hintEl);
  }
  wrap.append(input, error);
  return {wrap, input, error};
}

// Shows msg beside input (in its "<id>-error" slot) and marks it invalid.
export function setError(input, msg) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) slot.textContent = msg;
  input.setAttribute('aria-invalid', 'true');
  const ids = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  if (slot) ids.add(slot.id);
  input.setAttribute('aria-describedby', [...ids].join(' '));
}

export function clearError(input) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) slot.textContent = '';
  input.removeAttribute('aria-invalid');
  const ids = (input.getAttribute('aria-describedby') || '').split(' ')
    .filter((x) => x && (!slot || x !== slot.id));
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

// ---- formatting ---------------------------------------------------------

const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const DATE_TIME_YEAR = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DATE_TIME.format(d);
}

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DATE_TIME_YEAR.format(d);
}

// "in 4 min", "2 h ago", "now".
export function fmtRelative(iso, now = Date.now()) {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const secs = Math.round((t - now) / 1000);
  const abs = Math.abs(secs);
  let text;
  if (abs < 5) return 'now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.round(abs / 3600)} h`;
  else text = `${Math.round(abs / 86400)} d`;
  return secs > 0 ? `in ${text}` : `${text} ago`;
}

export function fmtNumber(n) {
  return Number(n || 0).toLocaleString();
}

// The text as indented JSON when it is JSON, else unchanged.
export function prettyJson(text) {
  if (typeof text !== 'string' || text === '') return text || '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// Calls fn at most once per animation frame, with the latest arguments.
export function perFrame(fn) {
  let queued = false;
  let last = [];
  return (...args) => {
    last = args;
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn(...last);
    });
  };
}
