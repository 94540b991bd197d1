// sources.js — the home view (Data sources: every webhook with its last
// 24 hours) and "Connect a data source" (the kinds of source one can add).
//
// The list is built once, page by page as hookd answers, and the search box
// only hides rows: with 1,000 webhooks typing stays instant because nothing
// is rebuilt.

import * as api from './api.js';
import {h, icon, fmtNumber, perFrame, replace} from './dom.js';
import {connectedBadge} from './parts.js';

function countCell(n, cls, label) {
  return h('td', {class: 'num', 'data-label': label},
    h('span', {class: n ? cls : 'count-zero', text: fmtNumber(n)}));
}

function sourceRow(wh) {
  const st = wh.stats || {};
  return h('tr', {class: 'source', 'data-id': wh.id},
    h('td', {class: 'name', 'data-label': 'Name'},
      h('a', {href: `#/webhooks/${encodeURIComponent(wh.id)}`, text: wh.name})),
    h('td', {'data-label': 'URL'}, h('span', {class: 'url', text: wh.url})),
    h('td', {'data-label': 'Method'}, h('span', {class: 'tag', text: wh.method})),
    h('td', {'data-label': 'Status'}, connectedBadge(wh.connected)),
    countCell(st.succeeded_24h, 'count-ok', 'Succeeded (24 h)'),
    countCell(st.failed_24h, 'count-bad', 'Failed (24 h)'));
}

export function renderDataSources(root, ctx) {
  ctx.setTitle('Data sources');
  const newButton = h('button', {type: 'button', class: 'button primary',
    onclick: () => ctx.navigate('/connect')}, icon('plus'), 'New data source');
  root.append(h('div', {class: 'page-head'},
    h('div', {},
      h('h1', {text: 'Data sources', tabindex: '-1'}),
      h('p', {class: 'lede', text: 'Webhooks that send what happens to people to other applications.'})),
    newButton));

  const search = h('input', {type: 'search', id: 'source-search', autocomplete: 'off',
    placeholder: 'Name or URL'});
  const count = h('p', {class: 'count', 'aria-live': 'polite'});
  const tools = h('div', {class: 'list-tools'},
    h('div', {class: 'field search-box-field'},
      h('label', {for: 'source-search', text: 'Search data sources'}),
      h('div', {class: 'search-box'}, icon('search', 16), search)),
    count);
  const tbody = h('tbody');
  const table = h('table', {class: 'list sources'},
    h('caption', {class: 'visually-hidden', text: 'Data sources'}),
    h('thead', {}, h('tr', {},
      h('th', {scope: 'col', text: 'Name'}), h('th', {scope: 'col', text: 'URL'}),
      h('th', {scope: 'col', text: 'Method'}), h('th', {scope: 'col', text: 'Status'}),
      h('th', {scope: 'col', class: 'num', text: 'Succeeded (24 h)'}),
      h('th', {scope: 'col', class: 'num', text: 'Failed (24 h)'}))),
    tbody);
  const noMatch = h('p', {class: 'empty', hidden: true});
  const body = h('div', {class: 'card'}, h('p', {class: 'loading', text: 'Loading data sources…'}));
  root.append(body);

  const rows = []; // {tr, hay}
  let loading = true;

  const filter = perFrame(() => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const r of rows) {
      const show = !q || r.hay.includes(q);
      if (r.tr.hidden === show) r.tr.hidden = !show;
      if (show) shown += 1;
    }
    noMatch.hidden = shown > 0 || rows.length === 0;
    noMatch.textContent = `No data sources match “${search.value.trim()}”.`;
    const total = fmtNumber(rows.length) + (loading ? '+' : '');
    count.textContent = q ? `${fmtNumber(shown)} of ${total} data sources`
      : `${total} data source${rows.length === 1 ? '' : 's'}`;
  });
  search.addEventListener('input', filter);

  function showEmpty() {
    replace(body, h('div', {class: 'empty'},
      h('h2', {text: 'No data sources yet'}),
      h('p', {text: 'Choose “New data source” to send activities to a webhook.'})));
  }

  (async () => {
    let first = true;
    try {
      await api.eachWebhookPage((page) => {
        if (first && page.length) {
          replace(body, tools, h('div', {class: 'table-wrap'}, table), noMatch);
          first = false;
        }
        const frag = document.createDocumentFragment();
        for (const wh of page) {
          const tr = sourceRow(wh);
          rows.push({tr, hay: `${wh.name}\n${wh.url}`.toLowerCase()});
          frag.append(tr);
        }
        tbody.append(frag);
        filter();
      }, {signal: ctx.signal});
      loading = false;
      if (rows.length === 0) showEmpty();
      else filter();
      performance.mark('hookd:sources-rendered');
    } catch (err) {
      if (api.handledElsewhere(err)) return;
      replace(body, h('p', {class: 'form-error', role: 'alert',
        text: `The data sources could not be loaded: ${api.describe(err)}`}));
    }
  })();
}

// ---- connect a data source ----------------------------------------------

// Only the webhook is built; the rest show where the product is going.
const SOURCES = [
  {name: 'Webhook (advanced)', icon: 'webhook', route: '/new',
    about: 'Send people’s activities to any HTTP endpoint, with your own headers, auth and fields.'},
  {name: 'Salesforce', icon: 'cloud', about: 'Sync people and accounts with Salesforce.'},
  {name: 'HubSpot', icon: 'grid', about: 'Keep HubSpot contacts up to date.'},
  {name: 'Shopify', icon: 'cart', about: 'Send purchases and carts from your store.'},
  {name: 'Google Sheets', icon: 'sheet', about: 'Add a row for every activity.'},
  {name: 'Zapier', icon: 'zap', about: 'Start a Zap when something happens.'},
  {name: 'Segment', icon: 'plug', about: 'Forward activities to Segment destinations.'},
];

export function renderConnect(root, ctx) {
  ctx.setTitle('Connect a data source');
  const search = h('input', {type: 'search', id: 'connect-search', autocomplete: 'off',
    placeholder: 'Search by name'});
  const list = h('ul', {class: 'source-grid'});
  const none = h('p', {class: 'empty', hidden: true});
  root.append(
    h('nav', {class: 'crumbs', 'aria-label': 'Breadcrumb'}, h('a', {href: '#/', text: '← Data sources'})),
    h('div', {class: 'page-head'}, h('div', {},
      h('h1', {text: 'Connect a data source', tabindex: '-1'}),
      h('p', {class: 'lede', text: 'Choose where hookd should send what happens to your people.'}))),
    h('div', {class: 'field search-box-field'},
      h('label', {for: 'connect-search', text: 'Search data sources'}),
      h('div', {class: 'search-box'}, icon('search', 16), search)),
    list, none);

  const cards = SOURCES.map((src, i) => {
    const aboutId = `source-about-${i}`;
    const button = h('button', {type: 'button', 'aria-describedby': aboutId, text: src.name,
      disabled: !src.route});
    if (src.route) button.addEventListener('click', () => ctx.navigate(src.route));
    const li = h('li', {class: src.route ? 'source-card' : 'source-card soon'},
      h('span', {class: 'source-logo'}, icon(src.icon, 22)),
      button,
      h('p', {id: aboutId}, src.about, src.route ? '' : ' Coming soon.'));
    list.append(li);
    return {li, hay: `${src.name} ${src.about}`.toLowerCase()};
  });

  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const c of cards) {
      c.li.hidden = Boolean(q) && !c.hay.includes(q);
      if (!c.li.hidden) shown += 1;
    }
    none.hidden = shown > 0;
    none.textContent = `No data source matches “${search.value.trim()}”.`;
  });
  search.focus();
}
