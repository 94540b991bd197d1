// webhook.js — one webhook's page: its name and Connected badge, the
// actions (Edit, Disconnect/Connect, Test, Delete), and two tabs: Overview
// (the last 24 hours, the settings, the signing secret) and Logs.

import * as api from './api.js';
import {h, icon, busy, clear, fmtDate, fmtNumber, replace} from './dom.js';
import {connectedBadge, showTestResult, showTestError} from './parts.js';
import {hourlyChart} from './chart.js';
import {mountLogs, logsQuery} from './logs.js';

const OVERVIEW_REFRESH_MS = 10000;
const TABS = [['overview', 'Overview'], ['logs', 'Logs']];

export function renderWebhook(root, ctx, {id, tab}) {
  const path = api.webhookPath(id);
  const opts = {signal: ctx.signal};
  let wh = null;
  let current = tab;
  let logs = null;
  let overviewTimer = 0;
  let names = {activities: new Map(), fields: new Map()};
  // Opened on Logs: its first page loads beside the webhook, not after it.
  let firstLogs = tab === 'logs' ? api.get(logsQuery(`${path}/logs`, '', null), opts) : null;
  if (firstLogs) firstLogs.catch(() => {}); // mountLogs reports its failure

  const holder = h('div', {}, h('p', {class: 'loading', text: 'Loading webhook…'}));
  root.append(h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'},
    h('a', {href: '#/', text: '← Data sources'})), holder);

  // ---- frame: head, actions, tabs
  const title = h('h1', {tabindex: '-1'});
  const badgeSlot = h('span');
  const lede = h('p', {class: 'lede url'});
  const editButton = h('button', {type: 'button', class: 'button', text: 'Edit',
    onclick: () => ctx.navigate(`/webhooks/${encodeURIComponent(id)}/edit`)});
  const connectButton = h('button', {type: 'button', class: 'button'});
  const testButton = h('button', {type: 'button', class: 'button', text: 'Test'});
  const deleteButton = h('button', {type: 'button', class: 'button danger', text: 'Delete'});
  const testBox = h('div', {class: 'result', hidden: true, 'aria-live': 'polite'});
  const tabList = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Webhook'});
  const panels = {};
  const tabButtons = {};
  for (const [key, label] of TABS) {
    tabButtons[key] = h('button', {type: 'button', role: 'tab', id: `tab-${key}`,
      'aria-controls': `panel-${key}`, text: label,
      onclick: () => ctx.navigate(`/webhooks/${encodeURIComponent(id)}/${key}`)});
    tabList.append(tabButtons[key]);
    panels[key] = h('div', {role: 'tabpanel', id: `panel-${key}`, 'aria-labelledby': `tab-${key}`,
      tabindex: '0', hidden: true});
  }
  // Arrow keys move between tabs, as the ARIA tabs pattern has it.
  tabList.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    const keys = TABS.map(([k]) => k);
    const next = keys[(keys.indexOf(current) + (ev.key === 'ArrowRight' ? 1 : keys.length - 1)) % keys.length];
    ctx.navigate(`/webhooks/${encodeURIComponent(id)}/${next}`);
    tabButtons[next].focus();
  });

  // ---- overview parts
  const stats = h('div', {class: 'stat-grid'});
  const chartSlot = h('div', {class: 'chart-slot'});
  const settings = h('dl', {class: 'settings'});
  const secretCode = h('code', {class: 'secret'});
  const showSecret = h('button', {type: 'button', class: 'button small', 'aria-pressed': 'false'},
    icon('eye', 16), 'Show secret');
  const copySecret = h('button', {type: 'button', class: 'button small'}, icon('copy', 16), 'Copy secret');
  const rotateSecret = h('button', {type: 'button', class: 'button small subtle', text: 'Rotate secret'});
  let secretShown = false;
  panels.overview.append(
    h('section', {class: 'card', 'aria-labelledby': 'last24-title'},
      h('div', {class: 'card-head'}, h('h2', {id: 'last24-title', text: 'Last 24 hours'}),
        h('p', {text: 'Deliveries that finished, test sends left out.'})),
      stats, chartSlot),
    h('section', {class: 'card', 'aria-labelledby': 'settings-title'},
      h('h2', {id: 'settings-title', class: 'card-head', text: 'Settings'}), settings),
    h('section', {class: 'card', 'aria-labelledby': 'secret-title'},
      h('h2', {id: 'secret-title', text: 'Signing secret'}),
      h('p', {class: 'section-hint',
        text: 'Receivers check each request’s webhook-signature header with it (Standard Webhooks).'}),
      h('div', {class: 'secret-line'}, secretCode, showSecret, copySecret, rotateSecret)));

  function renderHead() {
    ctx.setTitle(wh.name);
    title.textContent = wh.name;
    replace(badgeSlot, connectedBadge(wh.connected));
    lede.textContent = `${wh.method} ${wh.url}`;
    connectButton.textContent = wh.connected ? 'Disconnect' : 'Connect';
    renderSettings();
    renderSecret();
  }

  function renderSecret() {
    const secret = wh.secret || '';
    secretCode.textContent = secretShown ? secret : `${secret.slice(0, 6)}${'•'.repeat(24)}`;
    showSecret.setAttribute('aria-pressed', String(secretShown));
    replace(showSecret, icon('eye', 16), secretShown ? 'Hide secret' : 'Show secret');
  }

  function row(label, value) {
    return [h('dt', {text: label}), h('dd', {}, value)];
  }

  function list(items, empty) {
    return items.length ? h('ul', {}, items.map((x) => h('li', {}, x))) : empty;
  }

  // Who disconnected the webhook and why (read-only disconnected_by/_reason).
  function disconnectedText(w) {
    if (w.disconnected_by === 'hookd') {
      return `By hookd: ${w.disconnected_reason || 'no reason recorded'}. `
        + 'Waiting deliveries are held until you connect it again.';
    }
    if (w.disconnected_by === 'user') return 'By a user. Waiting deliveries are held.';
    return 'Waiting deliveries are held.';
  }

  function renderSettings() {
    const keys = wh.keys || {};
    const renamed = Object.entries(keys).filter(([k, v]) => k !== v);
    const acts = (wh.activities || []).map((a) => (a === '*' ? 'All activities'
      : `${names.activities.get(a) || a} (${a})`));
    replace(settings, ...[
      row('Endpoint', h('span', {class: 'url', text: `${wh.method} ${wh.url}`})),
      row('Send activity payload', wh.send_activity ? 'Yes' : 'No'),
      row('Update contact from response', wh.update_contact_from_response ? 'Yes' : 'No'),
      row('Basic auth', wh.basic_auth
        ? `${wh.basic_auth.username} (password ${wh.basic_auth.password_set ? 'set' : 'not set'})` : 'None'),
      row('Custom headers', list((wh.headers || []).map((x) => h('code', {text: `${x.key}: ${x.value}`})), 'None')),
      row('Locked field keys', renamed.length
        ? list(renamed.map(([k, v]) => h('span', {}, h('code', {text: k}), ' → ', h('code', {text: v}))))
        : 'Each under its own name'),
      row('Fields', list((wh.fields || []).map((f) => h('span', {},
        `${names.fields.get(f.field_id) || f.field_id} `, h('code', {text: f.field_id}), ' → ',
        h('code', {text: f.key}))), 'None')),
      row('Activities', list(acts, 'None')),
      ...(wh.connected ? [] : [row('Disconnected', disconnectedText(wh))]),
      row('Delivery pace', `${wh.rate_limit == null ? 'No rate limit'
        : `At most ${wh.rate_limit} per second`}, ${wh.max_in_flight ?? 16} at once`),
      row('Created', fmtDate(wh.created_at)),
      row('Updated', fmtDate(wh.updated_at)),
    ].flat());
  }

  function stat(label, value, cls) {
    return h('div', {class: `stat ${cls || ''}`},
      h('div', {class: 'value', text: value}), h('div', {class: 'label', text: label}));
  }

  // The list answer holds the stats; a single webhook's answer may not, so
  // look it up in the list when needed (stopping at its page).
  async function findStats() {
    const own = await api.get(path, opts);
    if (own.stats) return own.stats;
    let found = null;
    await api.eachWebhookPage((page) => {
      const w = page.find((x) => x.id === id);
      if (w) found = w.stats || null;
      return w ? false : undefined; // false: stop at its page
    }, opts);
    return found;
  }

  async function loadOverview() {
    try {
      const st = await findStats();
      if (st) {
        const done = (st.succeeded_24h || 0) + (st.failed_24h || 0);
        replace(stats,
          stat('Succeeded', fmtNumber(st.succeeded_24h), 'ok'),
          stat('Failed', fmtNumber(st.failed_24h), st.failed_24h ? 'bad' : ''),
          stat('Pending', fmtNumber(st.pending)),
          stat('Success rate', done ? `${Math.round((st.succeeded_24h / done) * 1000) / 10}%` : '—'));
      }
    } catch (err) {
      if (api.handledElsewhere(err)) return;
      replace(stats, h('p', {class: 'form-error', text: `Counts unavailable: ${api.describe(err)}`}));
    }
    try {
      const r = await api.get(`${path}/stats?hours=24`, opts);
      replace(chartSlot, hourlyChart(r.buckets || []));
    } catch (err) {
      if (api.handledElsewhere(err)) return;
      replace(chartSlot, h('p', {class: 'notice chart-missing',
        text: err instanceof api.ApiError && err.status === 404
          ? 'The hourly chart needs GET /webhooks/{id}/stats, which this hookd does not answer yet.'
          : `The hourly chart could not be loaded: ${api.describe(err)}`}));
    }
  }

  function scheduleOverview() {
    clearTimeout(overviewTimer);
    if (current !== 'overview' || document.hidden || ctx.signal.aborted) return;
    overviewTimer = setTimeout(async () => {
      await loadOverview();
      scheduleOverview();
    }, OVERVIEW_REFRESH_MS);
  }

  function showTab(key) {
    current = key;
    for (const [k] of TABS) {
      const on = k === key;
      tabButtons[k].setAttribute('aria-selected', String(on));
      tabButtons[k].tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    if (key === 'logs') {
      if (!logs) logs = mountLogs(panels.logs, ctx, wh, names, {first: firstLogs});
      firstLogs = null;
      logs.resume();
      clearTimeout(overviewTimer);
    } else {
      if (logs) logs.pause();
      loadOverview().then(scheduleOverview);
    }
  }

  // ---- actions
  connectButton.addEventListener('click', () => busy(connectButton, async () => {
    const action = wh.connected ? 'disconnect' : 'connect';
    try {
      wh = await api.post(`${path}/${action}`, undefined, opts);
      renderHead();
      ctx.toast(wh.connected ? 'Connected: waiting deliveries go out now.'
        : 'Disconnected: nothing is sent until you connect again.');
      if (logs) logs.refreshNow();
    } catch (err) {
      if (!api.handledElsewhere(err)) ctx.toast(api.describe(err));
    }
  }));

  testButton.addEventListener('click', () => busy(testButton, async () => {
    testBox.hidden = true;
    try {
      showTestResult(testBox, await api.post(`${path}/test`, undefined, opts));
      if (logs) logs.refreshNow();
    } catch (err) {
      if (!api.handledElsewhere(err)) showTestError(testBox, api.describe(err));
    }
  }));

  deleteButton.addEventListener('click', () => busy(deleteButton, async () => {
    const yes = await ctx.confirm({title: 'Delete this webhook?',
      body: `“${wh.name}” stops at once and its waiting deliveries are cancelled. This cannot be undone.`,
      confirmLabel: 'Delete webhook'});
    if (!yes) return;
    try {
      await api.del(path, opts);
      ctx.toast(`Deleted “${wh.name}”.`);
      ctx.navigate('/');
    } catch (err) {
      if (!api.handledElsewhere(err)) ctx.toast(api.describe(err));
    }
  }));

  showSecret.addEventListener('click', () => {
    secretShown = !secretShown;
    renderSecret();
  });
  copySecret.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(wh.secret);
      ctx.toast('Secret copied.');
    } catch {
      // No clipboard (permission refused): show it selected for a manual copy.
      secretShown = true;
      renderSecret();
      getSelection().selectAllChildren(secretCode);
      ctx.toast('Copy the selected secret with Ctrl+C.');
    }
  });
  rotateSecret.addEventListener('click', () => busy(rotateSecret, async () => {
    const yes = await ctx.confirm({title: 'Rotate the signing secret?',
      body: 'hookd signs with a new secret from the next request, and with the current one too ' +
        'for the rotation overlap (24 h unless --rotation-overlap says otherwise): give receivers ' +
        'the new secret within it.',
      confirmLabel: 'Rotate secret'});
    if (!yes) return;
    try {
      wh = await api.post(`${path}/rotate-secret`, undefined, opts);
      renderHead();
      ctx.toast('A new secret is in use.');
    } catch (err) {
      if (!api.handledElsewhere(err)) ctx.toast(api.describe(err));
    }
  }));

  // ---- load
  (async () => {
    try {
      const [w, catalog, fields] = await Promise.all([
        api.get(path, opts), ctx.catalog(), api.get('/fields', opts).then((r) => r.fields || []),
      ]);
      wh = w;
      names = {activities: new Map(catalog.map((a) => [a.field_id, a.name])),
        fields: new Map(fields.map((f) => [f.id, f.name]))};
    } catch (err) {
      if (api.handledElsewhere(err)) return;
      replace(holder, h('div', {class: 'card empty'},
        h('h1', {text: err.status === 404 ? 'No such webhook' : 'The webhook could not be loaded'}),
        h('p', {text: api.describe(err)}), h('p', {}, h('a', {href: '#/', text: 'Go to Data sources'}))));
      return;
    }
    clear(holder).append(
      h('div', {class: 'page-head'},
        h('div', {},
          h('div', {class: 'title-line'}, title, badgeSlot),
          lede),
        h('div', {class: 'actions'}, editButton, connectButton, testButton, deleteButton)),
      testBox, tabList, panels.overview, panels.logs);
    renderHead();
    showTab(current);
    title.focus();
  })();

  return {
    update([, newTab]) {
      if (wh) showTab(newTab || 'overview');
      else current = newTab || 'overview';
    },
    visibility(visible) {
      if (logs && current === 'logs') {
        if (visible) logs.resume();
        else logs.pause();
      }
      if (visible) scheduleOverview();
      else clearTimeout(overviewTimer);
    },
    destroy() {
      clearTimeout(overviewTimer);
      if (logs) logs.destroy();
    },
  };
}
