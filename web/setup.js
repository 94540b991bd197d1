// setup.js — the webhook form: Setup for a new webhook (POST) and Edit for a
// stored one (PATCH). It builds the API's body from what is typed and shows
// the API's validation errors beside the input they name; hookd is the only
// judge of what is valid, so the form checks nothing itself.

import * as api from './api.js';
import {h, icon, busy, field, setError, clearError, uid, replace, perFrame} from './dom.js';
import {showTestResult, showTestError} from './parts.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const LOCKED = ['contact_id', 'email', 'campaign_id', 'campaign_name', 'action_id', 'action_name'];
const MAX_HEADERS = 20;
const MAX_FIELDS = 10;
const CUSTOM_ACTIVITY = /^act:(cm|oc):[a-z0-9_-]{1,100}$/;
// Made-up values of each field type, for the payload preview.
const SAMPLES = {
  str: 'Text', txt: 'Longer text', idt: 'id-123', sst: ['one', 'two'], bol: true, int: 42,
  tme: '2026-01-16T23:40:54Z', phn: {c: '61', n: '401234567'}, geo: {name: 'Sydney'},
  dtz: {year: 1990, month: 4, day: 12, timezone: 'Australia/Sydney'},
};
const FIELD_TYPES = [
  ['str', 'Text'], ['txt', 'Long text'], ['sst', 'List of texts'], ['bol', 'Yes / no'],
  ['int', 'Number'], ['tme', 'Date and time'], ['phn', 'Phone'], ['geo', 'Place'],
  ['dtz', 'Date with time zone'],
];

export function renderSetup(root, ctx, {id}) {
  const editing = Boolean(id);
  ctx.setTitle(editing ? 'Edit webhook' : 'Set up a webhook');
  const back = editing ? `#/webhooks/${encodeURIComponent(id)}` : '#/connect';
  root.append(h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
    h('a', {href: back, text: editing ? '← Back to the webhook' : '← Connect a data source'})));
  const holder = h('div', {}, h('p', {class: 'loading', text: 'Loading…'}));
  root.append(holder);

  Promise.all([
    api.get('/fields', {signal: ctx.signal}).then((r) => r.fields || []),
    ctx.catalog(),
    editing ? api.get(api.webhookPath(id), {signal: ctx.signal}) : null,
  ]).then(([fields, catalog, webhook]) => {
    if (ctx.signal.aborted) return;
    replace(holder, buildForm(ctx, {fields, catalog, webhook, back}));
    holder.querySelector('h1').focus();
  }).catch((err) => {
    if (api.handledElsewhere(err)) return;
    replace(holder, h('p', {class: 'form-error', role: 'alert',
      text: `The form could not be loaded: ${api.describe(err)}`}));
  });
}

function section(title, hint, ...children) {
  return h('section', {class: 'card'},
    h('h2', {text: title}),
    hint ? h('p', {class: 'section-hint', text: hint}) : null,
    children);
}

function buildForm(ctx, {fields, catalog, webhook, back}) {
  const editing = Boolean(webhook);
  const wh = webhook || {};
  const inputs = {}; // API field path → input, for the one-to-one ones

  // ---- name and endpoint
  inputs.name = h('input', {type: 'text', autocomplete: 'off', value: wh.name || ''});
  inputs.url = h('input', {type: 'text', inputmode: 'url', autocomplete: 'off',
    spellcheck: 'false', placeholder: 'https://example.com/hooks/hookd', value: wh.url || ''});
  inputs.method = h('select', {},
    METHODS.map((m) => h('option', {value: m, text: m, selected: m === (wh.method || 'POST')})));
  inputs.send_activity = h('input', {type: 'checkbox', id: uid('send-activity'),
    checked: wh.send_activity ?? true});
  const sendHint = h('p', {class: 'hint', id: uid('hint'),
    text: 'Adds the activity that triggered the webhook (its id, type, time and attributes) ' +
      'to the payload.'});
  inputs.send_activity.setAttribute('aria-describedby', sendHint.id);
  const sendError = h('p', {class: 'error-text', id: `${inputs.send_activity.id}-error`});
  inputs.update_contact_from_response = h('input', {type: 'checkbox',
    id: uid('update-contact'), checked: wh.update_contact_from_response ?? false});
  const updateHint = h('p', {class: 'hint', id: uid('hint'),
    text: 'A 2xx answer {"fields":{…}} updates the person; an answer that is not JSON is ' +
      'retried.'});
  inputs.update_contact_from_response.setAttribute('aria-describedby', updateHint.id);
  const updateError = h('p', {class: 'error-text',
    id: `${inputs.update_contact_from_response.id}-error`});

  const nameSection = section('Name', null,
    field({label: 'Webhook name', input: inputs.name,
      hint: 'Shown in Data sources, e.g. “CRM sync”.'}).wrap);
  const endpoint = section('Endpoint', 'Where hookd sends each payload, and how.',
    h('div', {class: 'field-row'},
      field({label: 'Webhook URL', input: inputs.url}).wrap,
      field({label: 'HTTP method', input: inputs.method}).wrap),
    h('div', {class: 'field'},
      h('label', {class: 'checkbox', for: inputs.send_activity.id}, inputs.send_activity,
        'Send activity payload if relevant'),
      sendHint, sendError),
    h('div', {class: 'field'},
      h('label', {class: 'checkbox', for: inputs.update_contact_from_response.id},
        inputs.update_contact_from_response, 'Update the contact from the response'),
      updateHint, updateError));

  // ---- basic auth
  const ba = basicAuth(wh.basic_auth);
  // ---- custom headers
  const headers = headerList(wh.headers || []);
  // ---- fields
  const flds = fieldSection(fields, wh);
  // ---- activities
  const acts = activityPicker(catalog, wh.activities || []);
  // ---- delivery pace
  const pace = paceSection(wh, inputs);

  // ---- actions
  const formError = h('p', {class: 'form-error general-error', role: 'alert'});
  const testButton = h('button', {type: 'button', class: 'button'}, 'Test');
  const submit = h('button', {type: 'submit', class: 'button primary',
    text: editing ? 'Save changes' : 'Create'});
  const testBox = h('div', {class: 'result', hidden: true, 'aria-live': 'polite'});
  const actions = h('div', {class: 'setup-actions'},
    h('a', {href: back, class: 'button subtle', text: 'Cancel'}),
    h('span', {class: 'spacer'}), testButton, submit);

  const form = h('form', {class: 'setup stack', novalidate: true},
    nameSection, endpoint, ba.section, headers.section, flds.section, acts.section,
    pace.section, formError, testBox, actions);
  const preview = h('pre', {class: 'code', tabindex: '0', 'aria-labelledby': 'preview-title'});
  const previewNote = h('p', {class: 'hint'});
  const page = h('div', {},
    h('div', {class: 'page-head'}, h('div', {},
      h('h1', {tabindex: '-1', text: editing ? `Edit ${wh.name}` : 'Set up a webhook'}),
      h('p', {class: 'lede', text: editing
        ? 'Changes apply to the next delivery.'
        : 'Webhook (advanced): send people’s activities to your endpoint.'}))),
    h('div', {class: 'setup-layout'}, form,
      h('aside', {class: 'card preview', 'aria-labelledby': 'preview-title'},
        h('h2', {id: 'preview-title', text: 'Payload preview'}),
        h('p', {class: 'section-hint', text: 'What an activity delivery looks like with these ' +
          'settings (sample values).'}),
        preview, previewNote)));

  // The payload's shape (docs/payload.md) with the form's keys and sample values.
  const showPreview = perFrame(() => {
    const b = body();
    const p = {};
    if (b.send_activity) {
      p.activity = {id: 'evt-1', field_id: b.activities.find((a) => a !== '*') || 'act::s',
        created: '2026-01-16T23:40:54Z', attr: {'str::s': 'Welcome!'}};
    }
    p.contact = {[b.keys.contact_id]: '0190b2c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d',
      [b.keys.email]: 'ann@example.com'};
    for (const [key, type] of flds.previewKeys()) p.contact[key] = SAMPLES[type] ?? 'value';
    p.id = '0190b2c4-0000-7000-8000-000000000001';
    p.time = '2026-01-16T23:41:18.948713601Z';
    p.webhook_id = wh.id || '0190b2c4-0000-7000-8000-000000000002';
    preview.textContent = JSON.stringify(p, null, 2);
    previewNote.textContent = b.method === 'GET' || b.method === 'DELETE'
      ? `With ${b.method} there is no body: these keys travel as URL query parameters ` +
        '(contact.email=…).'
      : `Sent as the ${b.method} request’s JSON body.`;
  });
  for (const ev of ['input', 'change', 'click']) form.addEventListener(ev, showPreview);
  showPreview();

  function body() {
    return {
      name: inputs.name.value,
      url: inputs.url.value.trim(),
      method: inputs.method.value,
      send_activity: inputs.send_activity.checked,
      basic_auth: ba.value(),
      headers: headers.value(),
      keys: flds.keys(),
      fields: flds.value(),
      activities: acts.value(),
      rate_limit: pace.rateLimit(),
      max_in_flight: pace.maxInFlight(),
      update_contact_from_response: inputs.update_contact_from_response.checked,
    };
  }

  function clearErrors() {
    formError.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid="true"]')) clearError(el);
  }

  // Puts an API error beside the input its field names, or above the buttons.
  function showError(err) {
    const msg = api.describe(err);
    if (msg === null) return;
    const target = err instanceof api.ApiError ? inputFor(err.field) : null;
    if (target) {
      setError(target.input, target.prefix ? `${target.prefix}${msg}` : msg);
      target.input.scrollIntoView({block: 'center'});
      target.input.focus({preventScroll: true});
    } else {
      formError.textContent = err.field ? `${err.field}: ${msg}` : msg;
    }
  }

  function inputFor(path) {
    if (!path) return null;
    if (inputs[path]) return {input: inputs[path]};
    let m;
    if ((m = path.match(/^basic_auth(?:\.(\w+))?$/))) {
      return ba.input(m[1]);
    }
    if ((m = path.match(/^headers\[(\d+)\](?:\.(key|value))?$/))) {
      return headers.input(Number(m[1]), m[2]);
    }
    if ((m = path.match(/^keys\.(\w+)$/))) return flds.lockedInput(m[1]);
    if ((m = path.match(/^fields\[(\d+)\]/))) return flds.input(Number(m[1]));
    if ((m = path.match(/^activities(?:\[(\d+)\])?$/))) return acts.input(m[1]);
    return null;
  }

  testButton.addEventListener('click', () => busy(testButton, async () => {
    clearErrors();
    testBox.hidden = true;
    try {
      const r = await api.post('/webhooks/test', body(), {signal: ctx.signal});
      showTestResult(testBox, r);
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 400) showError(err);
      else if (!api.handledElsewhere(err)) showTestError(testBox, api.describe(err));
    }
  }));

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      clearErrors();
      try {
        const saved = editing
          ? await api.patch(api.webhookPath(wh.id), body(), {signal: ctx.signal})
          : await api.post('/webhooks', body(), {signal: ctx.signal});
        if (editing) {
          ctx.toast('Changes saved.');
        } else {
          const t = saved.test || {};
          ctx.toast(t.ok ? `Webhook created. The test payload got status ${t.status_code}.`
            : 'Webhook created, but its test payload failed: see Logs.');
        }
        ctx.navigate(`/webhooks/${encodeURIComponent(saved.id)}`);
      } catch (err) {
        showError(err);
      }
    });
  });

  return page;
}

// ---- basic auth ------------------------------------------------------------

function basicAuth(stored) {
  const user = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
    value: (stored && stored.username) || ''});
  const pass = h('input', {type: 'password', autocomplete: 'new-password',
    placeholder: stored && stored.password_set ? 'Leave empty to keep the stored password' : ''});
  const add = h('button', {type: 'button', class: 'button'}, icon('plus'), 'Add basic auth');
  const remove = h('button', {type: 'button', class: 'button subtle small', text: 'Remove basic auth'});
  const group = h('div', {hidden: true},
    h('div', {class: 'field-row two'},
      field({label: 'Username', input: user}).wrap,
      field({label: 'Password', input: pass}).wrap),
    h('div', {class: 'actions'}, remove));
  let on = false;
  function set(value) {
    on = value;
    group.hidden = !on;
    add.hidden = on;
  }
  add.addEventListener('click', () => {
    set(true);
    user.focus();
  });
  remove.addEventListener('click', () => {
    set(false);
    add.focus();
  });
  set(Boolean(stored));
  const section = h('section', {class: 'card'},
    h('h2', {text: 'Basic auth'}),
    h('p', {class: 'section-hint',
      text: 'Sends an Authorization: Basic header with every request. The password is never shown again.'}),
    add, group);
  return {
    section,
    value() {
      if (!on) return null;
      const v = {username: user.value};
      // An empty password on a stored one keeps it (PATCH rule).
      if (pass.value !== '' || !(stored && stored.password_set)) v.password = pass.value;
      return v;
    },
    input(which) {
      if (!on) set(true);
      return {input: which === 'password' ? pass : user};
    },
  };
}

// ---- custom headers --------------------------------------------------------

function headerList(initial) {
  const rows = [];
  const list = h('div', {class: 'rows'});
  const add = h('button', {type: 'button', class: 'button'}, icon('plus'), 'Add header');
  const note = h('p', {class: 'limit-note', hidden: true,
    text: `A webhook can carry at most ${MAX_HEADERS} custom headers.`});

  function renumber() {
    rows.forEach((r, i) => {
      r.legend.textContent = `Header ${i + 1}`;
      r.remove.setAttribute('aria-label', `Remove header ${i + 1}`);
    });
    add.disabled = rows.length >= MAX_HEADERS;
    note.hidden = rows.length < MAX_HEADERS;
  }

  function addRow(k = '', v = '') {
    if (rows.length >= MAX_HEADERS) return null;
    const key = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'X-Team', value: k});
    const value = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'growth', value: v});
    const legend = h('legend', {class: 'visually-hidden'});
    const remove = h('button', {type: 'button', class: 'button subtle icon-only'}, icon('x'));
    const row = h('fieldset', {class: 'kv-row'}, legend,
      field({label: 'Key', input: key}).wrap, field({label: 'Value', input: value}).wrap, remove);
    const entry = {row, key, value, legend, remove};
    remove.addEventListener('click', () => {
      const i = rows.indexOf(entry);
      rows.splice(i, 1);
      row.remove();
      renumber();
      (rows[i] || rows[i - 1] || {key: add}).key.focus();
    });
    rows.push(entry);
    list.append(row);
    renumber();
    return entry;
  }

  add.addEventListener('click', () => {
    const r = addRow();
    if (r) r.key.focus();
  });
  for (const hd of initial) addRow(hd.key, hd.value);
  renumber();

  return {
    section: h('section', {class: 'card'},
      h('h2', {text: 'Custom headers'}),
      h('p', {class: 'section-hint', text: 'Sent with every request, after hookd’s own headers.'}),
      list, add, note),
    value: () => rows.map((r) => ({key: r.key.value, value: r.value.value})),
    input(i, which) {
      const r = rows[i];
      return r ? {input: which === 'value' ? r.value : r.key} : null;
    },
  };
}

// ---- fields ----------------------------------------------------------------

function fieldSection(allFields, wh) {
  const byId = new Map(allFields.map((f) => [f.id, f]));
  const keys = wh.keys || {};
  const locked = {};
  const lockedList = h('div', {class: 'locked-list'});
  for (const name of LOCKED) {
    const input = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
      value: keys[name] ?? name, id: uid(`key-${name}`)});
    locked[name] = input;
    lockedList.append(h('div', {class: 'locked-row'},
      h('label', {for: input.id, title: 'Locked field: always sent; its key can be renamed'},
        icon('lock', 16), name),
      input,
      h('p', {class: 'error-text row-error', id: `${input.id}-error`})));
  }

  const added = []; // {def, row, input}
  const addedList = h('div', {class: 'field-list'});
  const addButton = h('button', {type: 'button', class: 'button', 'aria-expanded': 'false'},
    icon('plus'), 'Add field');
  const note = h('p', {class: 'limit-note', id: uid('fields-limit'), hidden: true,
    text: `A webhook can send at most ${MAX_FIELDS} fields. Remove one to add another.`});
  addButton.setAttribute('aria-describedby', note.id);

  function refresh() {
    const full = added.length >= MAX_FIELDS;
    addButton.disabled = full;
    note.hidden = !full;
    if (full) picker.close();
  }

  function addField(def, key) {
    if (added.length >= MAX_FIELDS) return null;
    const input = h('input', {type: 'text', autocomplete: 'off', spellcheck: 'false',
      value: key ?? def.default_key ?? '', id: uid('field-key')});
    const remove = h('button', {type: 'button', class: 'button subtle icon-only',
      'aria-label': `Remove field ${def.name}`}, icon('x'));
    const row = h('div', {class: 'added-row'},
      h('label', {for: input.id}, h('span', {}, def.name,
        h('span', {class: 'field-id', text: `${def.id} · ${def.object || 'person'}`}))),
      input, remove,
      h('p', {class: 'error-text row-error', id: `${input.id}-error`}));
    const entry = {def, row, input};
    remove.addEventListener('click', () => {
      added.splice(added.indexOf(entry), 1);
      row.remove();
      refresh();
      addButton.focus();
    });
    added.push(entry);
    addedList.append(row);
    refresh();
    return entry;
  }

  const picker = fieldPicker(allFields, byId, {
    taken: (fid) => added.some((a) => a.def.id === fid),
    choose: (def) => {
      const entry = addField(def);
      picker.close();
      if (entry) entry.input.focus();
    },
    toggle: addButton,
  });
  addButton.addEventListener('click', () => picker.toggle());

  for (const f of wh.fields || []) {
    addField(byId.get(f.field_id) || {id: f.field_id, name: f.field_id}, f.key);
  }
  refresh();

  return {
    section: h('section', {class: 'card'},
      h('h2', {text: 'Fields'}),
      h('p', {class: 'section-hint',
        text: 'What the payload’s contact holds. Each key is the name it has in the payload.'}),
      h('h3', {class: 'subhead', text: 'Locked fields'}),
      lockedList,
      h('h3', {class: 'subhead', text: 'Added fields'}),
      addedList,
      h('div', {class: 'actions'}, addButton),
      note, picker.el),
    keys: () => Object.fromEntries(LOCKED.map((n) => [n, locked[n].value])),
    value: () => added.map((a) => ({field_id: a.def.id, key: a.input.value === '' ? null : a.input.value})),
    lockedInput: (name) => (locked[name] ? {input: locked[name]} : null),
    input: (i) => (added[i] ? {input: added[i].input} : null),
    // [key, type] of each added field, an empty key meaning its default.
    previewKeys: () => added.map((a) => [a.input.value || a.def.default_key || a.def.id,
      a.def.type || a.def.id.split(':')[0]]),
  };
}

// The "Add field" panel: search the fields hookd knows, or create one.
function fieldPicker(allFields, byId, {taken, choose, toggle}) {
  const search = h('input', {type: 'search', autocomplete: 'off', placeholder: 'Name or id'});
  const list = h('ul', {class: 'picker-list', 'aria-label': 'Fields'});
  const newName = h('input', {type: 'text', autocomplete: 'off', placeholder: 'Job title'});
  const newType = h('select', {}, FIELD_TYPES.map(([v, t]) => h('option', {value: v, text: `${t} (${v})`})));
  const newObject = h('select', {},
    h('option', {value: 'person', text: 'Person'}), h('option', {value: 'account', text: 'Account'}));
  const createButton = h('button', {type: 'button', class: 'button', text: 'Create field'});
  const createError = h('p', {class: 'form-error', role: 'alert'});
  const closeButton = h('button', {type: 'button', class: 'button subtle small', text: 'Close'});
  const el = h('div', {class: 'picker', hidden: true, id: uid('field-picker')},
    h('div', {class: 'card-head'}, h('h3', {text: 'Add a field'}), closeButton),
    field({label: 'Search fields', input: search}).wrap,
    list,
    h('div', {class: 'create-field'},
      h('h3', {text: 'Or create a custom field'}),
      h('div', {class: 'field-row'},
        field({label: 'Field name', input: newName}).wrap,
        field({label: 'Type', input: newType}).wrap,
        field({label: 'Belongs to', input: newObject}).wrap),
      h('div', {class: 'actions'}, createButton), createError));
  toggle.setAttribute('aria-controls', el.id);

  function render() {
    const q = search.value.trim().toLowerCase();
    const matches = allFields.filter((f) => !taken(f.id) &&
      (!q || f.name.toLowerCase().includes(q) || f.id.toLowerCase().includes(q)));
    replace(list, ...matches.map((f) => h('li', {},
      h('button', {type: 'button', onclick: () => choose(f)},
        h('span', {text: f.name}), h('span', {class: 'meta', text: `${f.id} · ${f.object}`})))));
    if (!matches.length) {
      list.append(h('li', {class: 'picker-empty',
        text: q ? `No field matches “${search.value.trim()}”. Create it below.` : 'Every field is added.'}));
    }
  }
  search.addEventListener('input', render);

  const api_ = {
    el,
    open() {
      el.hidden = false;
      toggle.setAttribute('aria-expanded', 'true');
      search.value = '';
      render();
      search.focus();
    },
    close() {
      if (el.hidden) return;
      el.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
    },
    toggle() {
      if (el.hidden) api_.open();
      else api_.close();
    },
  };
  closeButton.addEventListener('click', () => {
    api_.close();
    toggle.focus();
  });
  el.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      api_.close();
      toggle.focus();
    }
  });
  // Enter inside the panel acts on the panel, never submits the webhook.
  search.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const first = list.querySelector('button');
    if (first) first.click();
  });
  newName.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    createButton.click();
  });
  createButton.addEventListener('click', () => busy(createButton, async () => {
    createError.textContent = '';
    for (const i of [newName, newType, newObject]) clearError(i);
    try {
      const f = await api.post('/fields',
        {name: newName.value, type: newType.value, object: newObject.value});
      allFields.push(f);
      byId.set(f.id, f);
      newName.value = '';
      choose(f);
    } catch (err) {
      const msg = api.describe(err);
      if (msg === null) return;
      const target = {name: newName, type: newType, object: newObject}[err.field];
      if (target) {
        setError(target, msg);
        target.focus();
      } else {
        createError.textContent = msg;
      }
    }
  }));
  return api_;
}

// ---- activities -------------------------------------------------------------

function activityPicker(catalog, initial) {
  const names = new Map(catalog.map((a) => [a.field_id, a.name]));
  names.set('*', 'All activities');
  let chosen = [...initial];
  const search = h('input', {type: 'search', autocomplete: 'off',
    placeholder: 'e.g. clicked, act::c, act:cm:signup'});
  const searchField = field({label: 'Search activities', input: search,
    hint: 'By name or id. A custom activity id (act:cm:… or act:oc:…) can be added too.'});
  const chips = h('div', {class: 'chips', 'aria-label': 'Chosen activities', role: 'group'});
  const addCustom = h('button', {type: 'button', class: 'button small', hidden: true});
  const list = h('div', {class: 'activity-list', role: 'group', 'aria-label': 'Activities'});
  const boxes = new Map(); // field_id → {input, label, hay}

  function box(fid, name, hay) {
    const input = h('input', {type: 'checkbox', value: fid, checked: chosen.includes(fid)});
    const label = h('label', {}, input, h('span', {text: name}), h('code', {text: fid}));
    input.addEventListener('change', () => toggle(fid, input.checked));
    boxes.set(fid, {input, label, hay: hay.toLowerCase()});
    return label;
  }

  const groups = new Map();
  groups.set('Any', [box('*', 'All activities', 'all activities * every any')]);
  for (const a of catalog) {
    if (!groups.has(a.group)) groups.set(a.group, []);
    groups.get(a.group).push(box(a.field_id, a.name, `${a.name} ${a.field_id} ${a.group}`));
  }
  const customGroup = h('div', {class: 'activity-group'}, h('h3', {text: 'Custom'}));
  for (const [g, labels] of groups) list.append(h('div', {class: 'activity-group'}, h('h3', {text: g}), labels));
  list.append(customGroup);
  for (const fid of chosen) {
    if (!boxes.has(fid)) customGroup.append(box(fid, fid, fid));
  }

  // "All activities" stands alone: choosing it clears the others, and
  // choosing another clears it.
  function toggle(fid, on) {
    if (on) {
      chosen = fid === '*' ? ['*'] : chosen.filter((x) => x !== '*').concat(chosen.includes(fid) ? [] : [fid]);
    } else {
      chosen = chosen.filter((x) => x !== fid);
    }
    sync();
  }

  function sync() {
    for (const [fid, b] of boxes) b.input.checked = chosen.includes(fid);
    replace(chips, ...chosen.map((fid) => {
      const name = names.get(fid) || fid;
      return h('span', {class: 'chip'}, h('span', {text: name}),
        h('button', {type: 'button', 'aria-label': `Remove activity ${name}`,
          onclick: () => toggle(fid, false)}, icon('x', 14)));
    }));
    if (!chosen.length) chips.append(h('span', {class: 'hint', text: 'No activity chosen: this webhook sends only actions and tests.'}));
    customGroup.hidden = ![...customGroup.querySelectorAll('label')].length;
    filter();
  }

  function filter() {
    const q = search.value.trim().toLowerCase();
    for (const b of boxes.values()) b.label.hidden = Boolean(q) && !b.hay.includes(q);
    for (const g of list.children) {
      g.hidden = ![...g.querySelectorAll('label')].some((l) => !l.hidden);
    }
    const custom = CUSTOM_ACTIVITY.test(q) && !boxes.has(q);
    addCustom.hidden = !custom;
    if (custom) addCustom.textContent = `Add custom activity ${q}`;
  }

  addCustom.addEventListener('click', () => {
    const fid = search.value.trim().toLowerCase();
    if (!CUSTOM_ACTIVITY.test(fid)) return;
    if (!boxes.has(fid)) customGroup.append(box(fid, fid, fid));
    toggle(fid, true);
    search.value = '';
    sync();
    search.focus();
  });
  search.addEventListener('input', filter);
  search.addEventListener('keydown', (ev) => {
    // Enter in the search box picks the custom id instead of submitting.
    if (ev.key === 'Enter') {
      ev.preventDefault();
      if (!addCustom.hidden) addCustom.click();
    }
  });
  sync();

  return {
    section: h('section', {class: 'card'},
      h('h2', {text: 'Activities'}),
      h('p', {class: 'section-hint', text: 'The activities that trigger this webhook.'}),
      searchField.wrap, addCustom, chips, list),
    value: () => [...chosen],
    input(i) {
      const prefix = i !== undefined && chosen[Number(i)] ? `${names.get(chosen[Number(i)]) || chosen[Number(i)]}: ` : '';
      return {input: search, prefix};
    },
  };
}

// ---- delivery pace (rate_limit, max_in_flight) ----------------------------------

// Optional limits for a receiver that throttles. An empty rate means no limit
// (null). What is not a number is sent as typed, so the API's error names the
// field and shows beside it.
function paceSection(wh, inputs) {
  inputs.rate_limit = h('input', {type: 'text', inputmode: 'decimal', autocomplete: 'off',
    placeholder: 'No limit', value: wh.rate_limit == null ? '' : String(wh.rate_limit)});
  inputs.max_in_flight = h('input', {type: 'text', inputmode: 'numeric', autocomplete: 'off',
    value: String(wh.max_in_flight ?? 16)});
  const section = h('section', {class: 'card'},
    h('h2', {text: 'Delivery pace'}),
    h('p', {class: 'section-hint', text: 'For an endpoint that can only take so much: ' +
      'deliveries over these limits wait their turn, in order.'}),
    h('div', {class: 'field-row'},
      field({label: 'Rate limit (deliveries per second)', input: inputs.rate_limit,
        hint: '0.1 to 10000; empty for no limit.'}).wrap,
      field({label: 'Requests at once', input: inputs.max_in_flight,
        hint: '1 to 256 (default 16).'}).wrap));
  const asNumber = (text) => {
    const t = text.trim();
    return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
  };
  return {
    section,
    rateLimit: () => (inputs.rate_limit.value.trim() === '' ? null
      : asNumber(inputs.rate_limit.value)),
    maxInFlight: () => asNumber(inputs.max_in_flight.value),
  };
}
