// app.js — the page's frame: asks for the API key, routes the URL's hash to
// a view, and owns what every view shares (the unreachable banner, the
// toast, the confirmation dialog, the activity catalog).
//
// Routes live in the hash (#/webhooks/<id>/logs) so hookd serves one page at
// "/" and a reload or a shared link lands on the same view.

import * as api from './api.js';
import {h, busy, clear, field, setError, clearError} from './dom.js';
import {renderDataSources, renderConnect} from './sources.js';
import {renderSetup} from './setup.js';
import {renderWebhook} from './webhook.js';

const ROUTES = [
  {name: 'sources', re: /^\/?$/, render: (root, ctx) => renderDataSources(root, ctx)},
  {name: 'connect', re: /^\/connect$/, render: (root, ctx) => renderConnect(root, ctx)},
  {name: 'new', re: /^\/new$/, render: (root, ctx) => renderSetup(root, ctx, {})},
  {name: 'edit', re: /^\/webhooks\/([^/]+)\/edit$/,
    render: (root, ctx, [id]) => renderSetup(root, ctx, {id})},
  {name: 'webhook', re: /^\/webhooks\/([^/]+)(?:\/(overview|logs))?$/,
    render: (root, ctx, [id, tab]) => renderWebhook(root, ctx, {id, tab: tab || 'overview'}),
    key: ([id]) => id},
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const bannerText = document.getElementById('banner-text');
const toastEl = document.getElementById('toast');
const forgetKey = document.getElementById('forget-key');

let current = null; // {route, key, view, ac}
let catalogPromise = null;
let toastTimer = 0;

function parseHash() {
  let raw;
  try {
    raw = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  } catch {
    return {route: null, params: []}; // a malformed %-escape names no page
  }
  for (const route of ROUTES) {
    const m = raw.match(route.re);
    if (m) return {route, params: m.slice(1)};
  }
  return {route: null, params: []};
}

// What views get from the frame. signal aborts the view's requests when it
// is replaced.
function context(ac) {
  return {
    signal: ac.signal,
    navigate: (path) => {
      location.hash = `#${path}`;
    },
    toast,
    confirm,
    catalog,
    setTitle: (text) => {
      document.title = text ? `${text} · hookd` : 'hookd';
    },
  };
}

function stopCurrent() {
  if (!current) return;
  current.ac.abort();
  if (current.view && current.view.destroy) current.view.destroy();
  current = null;
}

function route() {
  if (!api.apiKey.get()) {
    askKey();
    return;
  }
  forgetKey.hidden = false;
  const {route: r, params} = parseHash();
  const key = r && r.key ? r.key(params) : null;
  // The same webhook with another tab: let the view switch without reloading.
  if (current && r && current.route === r && current.key === key && current.view &&
      current.view.update) {
    current.view.update(params);
    return;
  }
  stopCurrent();
  clear(main);
  markNav(r);
  const ac = new AbortController();
  current = {route: r, key, ac, view: null};
  if (!r) {
    notFound();
    return;
  }
  current.view = r.render(main, context(ac), params) || null;
}

function markNav(r) {
  const nav = document.getElementById('nav-sources');
  if (r && (r.name === 'sources' || r.name === 'connect')) nav.setAttribute('aria-current', 'page');
  else nav.removeAttribute('aria-current');
}

function notFound() {
  document.title = 'Not found · hookd';
  main.append(h('div', {class: 'card empty'},
    h('h1', {text: 'Nothing here'}),
    h('p', {}, 'This address names no page. ', h('a', {href: '#/', text: 'Go to Data sources'}))));
}

// ---- the API key ---------------------------------------------------------

function askKey({refused = false} = {}) {
  stopCurrent();
  forgetKey.hidden = true;
  clear(main);
  markNav(null);
  document.title = 'API key · hookd';
  const input = h('input', {type: 'password', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off', required: true});
  const f = field({label: 'API key', input,
    hint: 'hookd printed it when it first started (“api key: hk_…”), or use the one given ' +
      'with --api-key. It is kept for this browser session only.'});
  const submit = h('button', {type: 'submit', class: 'button primary', text: 'Continue'});
  const form = h('form', {novalidate: true}, f.wrap, submit);
  const card = h('div', {class: 'card key-card'},
    h('h1', {text: 'Enter your API key', tabindex: '-1'}),
    h('p', {class: 'lede', text: 'The page talks to hookd’s API with it.'}),
    form);
  main.append(card);
  if (refused) setError(input, 'The API key was refused. Check it and try again.');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, () => tryKey(input));
  });
  input.focus();
}

async function tryKey(input) {
  const key = input.value.trim();
  if (!key) {
    setError(input, 'Enter the API key.');
    input.focus();
    return;
  }
  clearError(input);
  try {
    // A light call that needs the key: says whether hookd takes it.
    await api.get('/fields', {key});
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) {
      setError(input, 'The API key was refused. Check it and try again.');
    } else if (!(err instanceof api.Unreachable)) {
      setError(input, api.describe(err) || 'hookd did not accept the key.');
    }
    input.focus();
    return;
  }
  api.apiKey.set(key);
  route();
}

forgetKey.addEventListener('click', () => {
  api.apiKey.clear();
  askKey();
});

// ---- what every view shares --------------------------------------------

function showUnreachable() {
  bannerText.textContent = 'hookd cannot be reached. Check that it is running and that ' +
    'this computer can reach it, then try again.';
  banner.hidden = false;
}

document.getElementById('banner-retry').addEventListener('click', (ev) => {
  busy(ev.currentTarget, async () => {
    try {
      await fetch('/healthz', {cache: 'no-store'});
      banner.hidden = true;
      route();
    } catch {
      showUnreachable();
    }
  });
});

api.setHandlers({
  onUnauthorized: () => askKey({refused: true}),
  onUnreachable: showUnreachable,
  onReachable: () => {
    banner.hidden = true;
  },
});

function toast(text) {
  toastEl.textContent = text;
  toastEl.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastEl.classList.remove('show'), 4000);
}

// A modal confirmation; resolves true when the person confirms.
function confirm({title, body, confirmLabel, danger = true}) {
  return new Promise((resolve) => {
    const titleId = 'confirm-title';
    const ok = h('button', {type: 'button', class: danger ? 'button danger solid' : 'button primary',
      text: confirmLabel});
    const cancel = h('button', {type: 'button', class: 'button', text: 'Cancel'});
    const dialog = h('dialog', {'aria-labelledby': titleId},
      h('h2', {id: titleId, text: title}),
      h('p', {text: body}),
      h('div', {class: 'actions'}, cancel, ok));
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

// The activity catalog, asked once per page load (it is hookd's, fixed).
function catalog() {
  if (!catalogPromise) {
    catalogPromise = api.get('/catalog/activities').then((r) => r.activities || []);
    catalogPromise.catch(() => {
      catalogPromise = null;
    });
  }
  return catalogPromise;
}

// The skip link moves focus without touching the hash the router reads.
document.getElementById('skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

document.addEventListener('visibilitychange', () => {
  if (current && current.view && current.view.visibility) current.view.visibility(!document.hidden);
});

window.addEventListener('hashchange', route);
route();
