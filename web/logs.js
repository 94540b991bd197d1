// logs.js — a webhook's Logs tab: its deliveries newest first, one page
// (50) at a time, with a state filter; an entry opens to show the request as
// sent and the answers; failed ones can be retried, finished ones resent as
// new deliveries, and every failed one since a time retried at once.
//
// While the tab is open and visible it refreshes itself every few seconds
// without rebuilding the table: rows are updated in place and newer entries
// are slotted in above, so an open entry stays open and the scroll position
// stays put. Pages loaded with "Load more" are refreshed only while they
// hold an entry that can still change (pending, retrying, held), so a long
// list costs one request per refresh in the common case.

import * as api from './api.js';
import {h, icon, busy, field, fmtTime, fmtRelative, prettyJson, uid, replace} from './dom.js';
import {STATES, stateBadge} from './parts.js';

const PAGE = 50;
const REFRESH_MS = 4000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const COLUMNS = ['Time', 'Activity', 'State', 'Status code', 'Attempts', 'Next retry'];

// GET path of one page of a webhook's logs.
export function logsQuery(base, state, cursor) {
  const q = new URLSearchParams({limit: String(PAGE)});
  if (state) q.set('state', state);
  if (cursor) q.set('cursor', cursor);
  return `${base}?${q}`;
}

// first: an optional promise of the first page (unfiltered), already asked
// for by the caller so it loads beside the webhook itself.
export function mountLogs(panel, ctx, wh, names, {first = null} = {}) {
  const base = `${api.webhookPath(wh.id)}/logs`;
  const opts = {signal: ctx.signal};
  const rows = new Map(); // delivery id → row (see makeRow)
  let pages = []; // [{cursor, ids}]: what each "Load more" brought, in order
  let nextCursor = null;
  let filter = '';
  let timer = 0;
  let running = false;
  let inFlight = null;
  let generation = 0; // bumped by a reset; answers of an older one are dropped
  let marked = false;
  let prefetched = first;

  const stateSelect = h('select', {},
    h('option', {value: '', text: 'Any state'}),
    STATES.map((st) => h('option', {value: st, text: st[0].toUpperCase() + st.slice(1)})));
  const liveText = h('span', {text: `Refreshes every ${REFRESH_MS / 1000} s`});
  const live = h('p', {class: 'live'}, h('span', {class: 'live-dot', 'aria-hidden': 'true'}), liveText);
  const status = h('p', {class: 'error-text', role: 'status'});
  const newer = h('p', {class: 'notice', hidden: true}, 'Newer deliveries arrived. ',
    h('button', {type: 'button', class: 'button small', text: 'Show newest', onclick: () => reset()}));
  const tbody = h('tbody');
  const table = h('table', {class: 'list logs'},
    h('caption', {class: 'visually-hidden', text: 'Deliveries, newest first'}),
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', {scope: 'col', text: c})))),
    tbody);
  const empty = h('div', {class: 'empty', hidden: true});
  const more = h('button', {type: 'button', class: 'button', text: 'Load more', hidden: true});
  // "Retry all failed since…": a day back unless the person picks a time.
  const sinceInput = h('input', {type: 'datetime-local', value: localInput(Date.now() - 864e5)});
  const recoverButton = h('button', {type: 'button', class: 'button small recover',
    text: 'Retry all failed since…'});
  recoverButton.addEventListener('click', () => recoverSince());
  const loading = h('p', {class: 'loading', text: 'Loading deliveries…'});

  panel.append(h('section', {class: 'card'},
    h('div', {class: 'logs-tools'}, field({label: 'State', input: stateSelect}).wrap,
      field({label: 'Failed since', input: sinceInput}).wrap, recoverButton, live),
    newer, status, loading, h('div', {class: 'table-wrap'}, table), empty,
    h('div', {class: 'more'}, more)));

  function query(cursor) {
    return logsQuery(base, filter, cursor);
  }

  // ---- rows

  function activity(e) {
    if (e.kind === 'test') return [h('span', {class: 'activity-name', text: 'Test payload'})];
    const name = e.kind === 'action' ? 'Action' : names.activities.get(e.field_id) || e.field_id || 'Activity';
    return [h('span', {class: 'activity-name', text: name}),
      e.field_id ? h('span', {class: 'activity-id', text: e.field_id}) : null];
  }

  function makeRow(e) {
    const detailId = uid('delivery');
    const toggle = h('button', {type: 'button', 'aria-expanded': 'false', 'aria-controls': detailId,
      title: e.created_at}, icon('chevron', 14), h('span', {text: fmtTime(e.created_at)}));
    const cells = COLUMNS.map((c) => h('td', {'data-label': c}));
    cells[0].className = 'when';
    cells[0].append(toggle);
    cells[3].className = 'num';
    cells[4].className = 'num';
    const tr = h('tr', {class: 'entry', 'data-id': e.id}, cells);
    const r = {entry: e, tr, toggle, cells, detailId, detail: null, sig: ''};
    // The whole row opens the entry; its own buttons (Retry) do their job.
    tr.addEventListener('click', (ev) => {
      const b = ev.target.closest('button, a');
      if (b && b !== toggle) return;
      if (r.detail) closeRow(r);
      else openRow(r);
    });
    fill(r, e);
    rows.set(e.id, r);
    return r;
  }

  const signature = (e) => [e.state, e.attempts, e.status_code, e.next_attempt_at, e.error].join('|');

  // Writes e into the row's cells; reloads the open detail if e changed.
  function fill(r, e) {
    const changed = signature(e) !== r.sig;
    r.entry = e;
    const [, act, state, code, attempts, next] = r.cells;
    if (changed) {
      replace(act, ...activity(e));
      replace(state, stateBadge(e.state));
      if (e.state === 'failed') {
        const retry = h('button', {type: 'button', class: 'button small retry', text: 'Retry'});
        retry.addEventListener('click', () => retryRow(r, retry));
        state.append(' ', retry);
      }
      if ((e.state === 'failed' || e.state === 'succeeded') && e.kind !== 'test') {
        const again = h('button', {type: 'button', class: 'button small resend', text: 'Resend'});
        again.addEventListener('click', () => resendRow(r, again));
        state.append(' ', again);
      }
      code.textContent = e.status_code ?? '—';
      code.title = e.error || '';
      attempts.textContent = e.attempts;
    }
    const due = (e.state === 'pending' || e.state === 'retrying') && e.next_attempt_at;
    next.textContent = due ? fmtRelative(e.next_attempt_at) : '—';
    next.title = due ? fmtTime(e.next_attempt_at) : '';
    if (changed && r.sig && r.detail) loadDetail(r);
    r.sig = signature(e);
  }

  function removeRow(r) {
    r.tr.remove();
    if (r.detail) r.detail.tr.remove();
    rows.delete(r.entry.id);
    for (const p of pages) p.ids = p.ids.filter((x) => x !== r.entry.id);
  }

  // ---- an open entry

  function openRow(r) {
    const box = h('div', {class: 'detail-box'}, h('p', {class: 'loading', text: 'Loading…'}));
    const tr = h('tr', {class: 'detail', id: r.detailId}, h('td', {colspan: COLUMNS.length}, box));
    r.detail = {tr, box};
    r.tr.after(tr);
    r.tr.classList.add('open');
    r.toggle.setAttribute('aria-expanded', 'true');
    loadDetail(r);
  }

  function closeRow(r) {
    if (!r.detail) return;
    r.detail.tr.remove();
    r.detail = null;
    r.tr.classList.remove('open');
    r.toggle.setAttribute('aria-expanded', 'false');
  }

  async function loadDetail(r) {
    const detail = r.detail;
    try {
      const d = await api.get(`${base}/${encodeURIComponent(r.entry.id)}`, opts);
      if (r.detail === detail) replace(detail.box, ...detailView(d));
    } catch (err) {
      if (!api.handledElsewhere(err) && r.detail === detail) {
        replace(detail.box, h('p', {class: 'form-error', text: api.describe(err)}));
      }
    }
  }

  function detailView(d) {
    const req = d.request || {};
    const res = d.response;
    const headerRows = Object.entries(req.headers || {}).map(([k, v]) =>
      h('tr', {}, h('th', {scope: 'row', text: k}), h('td', {text: v})));
    const request = h('section', {class: 'request'},
      h('h3', {text: 'Request'}),
      h('p', {class: 'detail-line'}, h('span', {class: 'mono', text: req.method}), ' ',
        h('span', {class: 'url', text: req.url})),
      h('table', {class: 'headers'}, h('caption', {class: 'visually-hidden', text: 'Request headers'}),
        h('tbody', {}, headerRows)),
      req.body
        ? [h('p', {class: 'label', text: 'Payload'}),
          h('pre', {class: 'code payload', tabindex: '0', 'aria-label': 'Payload', text: prettyJson(req.body)})]
        : h('p', {class: 'hint', text: 'No body: the payload travels in the URL’s query.'}));
    const response = h('section', {class: 'response'},
      h('h3', {text: 'Response'}),
      res
        ? [h('p', {class: 'detail-line'},
          `Status ${res.status_code ?? '—'}`, res.duration_ms != null ? ` · ${res.duration_ms} ms` : ''),
        res.body
          ? h('pre', {class: 'code', tabindex: '0', 'aria-label': 'Response body', text: prettyJson(res.body)})
          : h('p', {class: 'hint', text: 'Empty body.'})]
        : h('p', {class: 'hint', text: 'No attempt yet.'}),
      d.error ? h('p', {class: 'error-text', text: `Error: ${d.error}`}) : null);
    const tries = d.attempts_detail || [];
    const attempts = h('section', {class: 'attempts-section'},
      h('h3', {text: `Attempts (${tries.length})`}),
      tries.length
        ? h('ol', {class: 'attempts'}, tries.map((a) => h('li', {},
          `${fmtTime(a.time)} · ${a.status_code != null ? `status ${a.status_code}` : 'no answer'}` +
          `${a.duration_ms != null ? ` · ${a.duration_ms} ms` : ''}`,
          a.error ? h('span', {class: 'error-text', text: ` · ${a.error}`}) : null)))
        : h('p', {class: 'hint', text: 'None yet.'}));
    return [h('div', {class: 'detail-grid'}, request, response), attempts];
  }

  function retryRow(r, button) {
    busy(button, async () => {
      try {
        const e = await api.post(`${base}/${encodeURIComponent(r.entry.id)}/retry`, undefined, opts);
        fill(r, e);
        ctx.toast('Retry sent.');
        refreshSoon();
      } catch (err) {
        if (!api.handledElsewhere(err)) ctx.toast(`Retry refused: ${api.describe(err)}`);
      }
    });
  }

  // A new delivery with the same body and webhook-id; it shows on top.
  function resendRow(r, button) {
    busy(button, async () => {
      try {
        await api.post(`${base}/${encodeURIComponent(r.entry.id)}/resend`, undefined, opts);
        ctx.toast('Resend queued as a new delivery.');
        reset();
      } catch (err) {
        if (!api.handledElsewhere(err)) ctx.toast(`Resend refused: ${api.describe(err)}`);
      }
    });
  }

  function recoverSince() {
    const since = new Date(sinceInput.value);
    if (Number.isNaN(since.getTime())) {
      ctx.toast('Pick the time to retry failed deliveries from.');
      return;
    }
    busy(recoverButton, async () => {
      try {
        const res = await api.post(`${api.webhookPath(wh.id)}/recover`,
          {since: since.toISOString()}, opts);
        const n = res.recovered;
        ctx.toast(n ? `${n} failed ${n === 1 ? 'delivery' : 'deliveries'} sent again.`
          : 'No failed deliveries since then.');
        if (n) refreshSoon();
      } catch (err) {
        if (!api.handledElsewhere(err)) ctx.toast(`Retry refused: ${api.describe(err)}`);
      }
    });
  }

  // ---- pages

  function showEmpty() {
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
    replace(empty, h('h2', {text: filter ? `No ${filter} deliveries` : 'No deliveries yet'}),
      h('p', {text: filter ? 'Choose another state to see more.'
        : 'Deliveries show here as soon as activities reach this webhook.'}));
    more.hidden = !nextCursor;
  }

  function appendPage(entries, page) {
    const frag = document.createDocumentFragment();
    for (const e of entries) {
      if (rows.has(e.id)) continue;
      frag.append(makeRow(e).tr);
      page.ids.push(e.id);
    }
    tbody.append(frag);
  }

  async function reset() {
    generation += 1;
    const gen = generation;
    rows.clear();
    pages = [];
    nextCursor = null;
    replace(tbody);
    newer.hidden = true;
    loading.hidden = false;
    empty.hidden = true;
    more.hidden = true;
    try {
      const page = await (prefetched && !filter ? prefetched : api.get(query(null), opts));
      prefetched = null;
      if (gen !== generation) return;
      pages = [{cursor: null, ids: []}];
      appendPage(page.entries || [], pages[0]);
      nextCursor = page.next_cursor ?? null;
      status.textContent = '';
      if (!marked) {
        marked = true;
        performance.mark('hookd:logs-rendered');
      }
    } catch (err) {
      if (!api.handledElsewhere(err)) status.textContent = `The logs could not be loaded: ${api.describe(err)}`;
    } finally {
      if (gen === generation) {
        loading.hidden = true;
        showEmpty();
      }
    }
  }

  more.addEventListener('click', () => busy(more, async () => {
    const gen = generation;
    const cursor = nextCursor;
    try {
      const page = await api.get(query(cursor), opts);
      if (gen !== generation) return;
      const p = {cursor, ids: []};
      pages.push(p);
      appendPage(page.entries || [], p);
      nextCursor = page.next_cursor ?? null;
      showEmpty();
    } catch (err) {
      if (!api.handledElsewhere(err)) status.textContent = `More could not be loaded: ${api.describe(err)}`;
    }
  }));

  // The first row on screen, to keep it where it is while rows go in above.
  function anchorRow() {
    for (const r of rows.values()) {
      if (r.tr.getBoundingClientRect().bottom > 0) return r.tr;
    }
    return null;
  }

  // Merges the newest page into what is shown.
  function mergeHead(page) {
    const fresh = page.entries || [];
    const overlaps = rows.size === 0 || !page.next_cursor || fresh.some((e) => rows.has(e.id));
    if (!overlaps) {
      // More than a page arrived since the last look: say so rather than
      // leave a hole between the newest page and what is loaded.
      newer.hidden = false;
      return;
    }
    const anchor = anchorRow();
    const before = anchor ? anchor.getBoundingClientRect().top : 0;
    let prev = null;
    for (const e of fresh) {
      let r = rows.get(e.id);
      if (r) {
        fill(r, e);
      } else {
        r = makeRow(e);
        if (prev) prev.after(r.tr);
        else tbody.prepend(r.tr);
        pages[0].ids.push(e.id);
      }
      prev = r.detail ? r.detail.tr : r.tr;
    }
    if (filter) dropLeavers(fresh, page.next_cursor);
    if (anchor && anchor.isConnected) {
      const delta = anchor.getBoundingClientRect().top - before;
      if (delta) window.scrollBy(0, delta);
    }
  }

  // With a state filter, entries that changed state leave the newest page's
  // span; drop them (unless open) so the list shows what the filter says.
  function dropLeavers(fresh, more_) {
    const keep = new Set(fresh.map((e) => e.id));
    const last = fresh.length ? rows.get(fresh[fresh.length - 1].id) : null;
    for (const r of [...rows.values()]) {
      if (keep.has(r.entry.id) || r.detail) continue;
      const inSpan = !more_ || (last &&
        (r.tr.compareDocumentPosition(last.tr) & Node.DOCUMENT_POSITION_FOLLOWING));
      if (inSpan) removeRow(r);
    }
  }

  async function refreshOnce() {
    const gen = generation;
    if (!pages.length) return reset();
    try {
      const head = await api.get(query(null), opts);
      if (gen !== generation) return undefined;
      mergeHead(head);
      for (const p of pages.slice(1)) {
        const moving = p.ids.some((x) => rows.has(x) && !FINAL.has(rows.get(x).entry.state));
        if (!moving) continue;
        const page = await api.get(query(p.cursor), opts);
        if (gen !== generation) return undefined;
        for (const e of page.entries || []) {
          if (rows.has(e.id)) fill(rows.get(e.id), e);
        }
      }
      status.textContent = '';
      showEmpty();
    } catch (err) {
      if (!api.handledElsewhere(err)) status.textContent = `Refresh failed: ${api.describe(err)}`;
    }
    return undefined;
  }

  // One refresh at a time; a caller during one waits for it.
  function refresh() {
    if (!inFlight) inFlight = refreshOnce().finally(() => { inFlight = null; });
    return inFlight;
  }

  function schedule(ms = REFRESH_MS) {
    clearTimeout(timer);
    if (!running || document.hidden) return;
    timer = setTimeout(() => refresh().then(() => schedule()), ms);
  }

  function refreshSoon() {
    schedule(1000);
  }

  stateSelect.addEventListener('change', () => {
    filter = stateSelect.value;
    reset().then(() => schedule());
  });

  return {
    resume() {
      running = true;
      live.classList.remove('paused');
      liveText.textContent = `Refreshes every ${REFRESH_MS / 1000} s`;
      refresh().then(() => schedule());
    },
    pause() {
      running = false;
      clearTimeout(timer);
      live.classList.add('paused');
      liveText.textContent = 'Paused';
    },
    refreshNow() {
      refresh().then(() => schedule());
    },
    destroy() {
      running = false;
      clearTimeout(timer);
    },
  };
}

// ms as a datetime-local input's value, in the browser's time zone.
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}
