// logs_page.mjs — the client of bench/run_logs_page.sh (see bench/README.md).
//
//   node bench/logs_page.mjs BASE_URL API_KEY
//
// With hookd already running at BASE_URL: starts a receiver answering 200
// (in a worker thread), makes one webhook pointed at it, fills it with
// LOGS_N deliveries through POST /api/v1/activities (1,000 activities per
// request, LOGS_CONNECTIONS keep-alive connections), waits until hookd has
// delivered them all, then times
//   - the first page of GET /api/v1/webhooks/{id}/logs,
//   - the same with ?state=succeeded,
//   - the page after following one next_cursor,
// LOGS_RUNS times each (after 3 untimed warm-up calls), and the Logs tab's
// first page rendering in Chromium (LOGS_BROWSER_RUNS page loads, and as many
// clicks on the Logs tab). The results are the last lines printed.
// Exit status 1 if any call fails.

import http from 'node:http';
import {performance} from 'node:perf_hooks';
import {Worker} from 'node:worker_threads';
import {chromium} from 'playwright-core';

const [BASE, KEY] = process.argv.slice(2);
const N = Number(process.env.LOGS_N || 1000000);
const RUNS = Number(process.env.LOGS_RUNS || 50);
const BROWSER_RUNS = Number(process.env.LOGS_BROWSER_RUNS || 10);
const CONNECTIONS = Number(process.env.LOGS_CONNECTIONS || 4);
const DRAIN_TIMEOUT_S = Number(process.env.LOGS_DRAIN_TIMEOUT || 3600);
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const BATCH = 1000;
const GOAL_MS = 200;

if (!BASE || !KEY || !(N > 0)) {
  console.error('usage: node bench/logs_page.mjs BASE_URL API_KEY   (LOGS_N > 0)');
  process.exit(2);
}

const agent = new http.Agent({keepAlive: true, maxSockets: CONNECTIONS});

// One call: resolves {status, body (parsed JSON or null), ms}.
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = {Authorization: `Bearer ${KEY}`};
    if (data) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(data);
    }
    const t0 = performance.now();
    const req = http.request(`${BASE}${path}`, {method, headers, agent}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        resolve({status: res.statusCode, body: parsed, ms});
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function must(method, path, body, want) {
  const r = await call(method, path, body);
  if (r.status !== want) {
    throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  return r;
}

// The receiver: its own thread, so answering never waits on this client.
function startReceiver() {
  const code = `
    const http = require('node:http');
    const {parentPort} = require('node:worker_threads');
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(200, {'Content-Length': '2'}); res.end('ok'); });
    });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`;
  const worker = new Worker(code, {eval: true});
  return new Promise((resolve) => worker.once('message', (port) => resolve({worker, port})));
}

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  return {p50: percentile(s, 50), p99: percentile(s, 99), n: s.length};
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function fill(contactId) {
  const activities = Array.from({length: BATCH}, (_, i) => ({
    field_id: 'act::s', contact: {contact_id: contactId}, attr: {'str::s': `Hello ${i}`}}));
  const full = JSON.stringify({activities});
  const requests = Math.ceil(N / BATCH);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      const left = N - i * BATCH;
      const body = left >= BATCH ? full : JSON.stringify({activities: activities.slice(0, left)});
      await must('POST', '/api/v1/activities', body, 202);
      done += 1;
      if (done % Math.max(1, Math.floor(requests / 10)) === 0) {
        const s = (performance.now() - t0) / 1000;
        console.error(`  filled ${Math.min(done * BATCH, N)} of ${N} in ${s.toFixed(1)} s`);
      }
    }
  };
  await Promise.all(Array.from({length: CONNECTIONS}, worker));
  return (performance.now() - t0) / 1000;
}

// Until hookd holds nothing pending for the webhook (all delivered).
async function drain(webhookId) {
  const t0 = performance.now();
  for (;;) {
    const r = await must('GET', '/api/v1/webhooks', undefined, 200);
    const wh = r.body.webhooks.find((w) => w.id === webhookId);
    const pending = wh.stats.pending;
    const s = (performance.now() - t0) / 1000;
    if (pending === 0) return s;
    if (s > DRAIN_TIMEOUT_S) throw new Error(`still ${pending} pending after ${DRAIN_TIMEOUT_S} s`);
    console.error(`  ${pending} deliveries pending after ${s.toFixed(0)} s`);
    await new Promise((res) => setTimeout(res, 5000));
  }
}

async function timeQuery(path) {
  for (let i = 0; i < 3; i++) await must('GET', path, undefined, 200);
  const times = [];
  let entries = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await must('GET', path, undefined, 200);
    times.push(r.ms);
    entries = r.body.entries.length;
  }
  return {...summary(times), entries};
}

async function timeBrowser(webhookId) {
  const browser = await chromium.launch({executablePath: CHROMIUM, args: ['--headless=new',
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']});
  try {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}});
    await context.addInitScript((k) => sessionStorage.setItem('hookd.apiKey', k), KEY);
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    const markTime = () => page.evaluate(() => {
      const m = performance.getEntriesByName('hookd:logs-rendered');
      return m.length ? m[0].startTime : null;
    });
    // A first load fills the browser cache (assets are then revalidated,
    // 304, as a returning operator's would be).
    await page.goto(`${BASE}/#/webhooks/${webhookId}/logs`);
    await page.waitForFunction(() => performance.getEntriesByName('hookd:logs-rendered').length > 0);
    const load = [];
    const tab = [];
    let rows = 0;
    for (let i = 0; i < BROWSER_RUNS; i++) {
      // Navigation start → the first 50 rows in the table.
      await page.goto('about:blank');
      await page.goto(`${BASE}/#/webhooks/${webhookId}/logs`);
      await page.waitForFunction(() => performance.getEntriesByName('hookd:logs-rendered').length > 0);
      load.push(await markTime());
      rows = await page.locator('tr.entry').count();
      // The Logs tab clicked on the webhook's page → its first 50 rows.
      await page.goto('about:blank');
      await page.goto(`${BASE}/#/webhooks/${webhookId}`);
      await page.getByRole('tab', {name: 'Logs'}).waitFor();
      await page.waitForLoadState('networkidle');
      // Timed from the click as the page sees it, not from the driver's call.
      await page.evaluate(() => document.addEventListener('click', () => {
        window.hookdClickAt = performance.now();
      }, {capture: true, once: true}));
      await page.getByRole('tab', {name: 'Logs'}).click();
      await page.waitForFunction(() => performance.getEntriesByName('hookd:logs-rendered').length > 0);
      tab.push((await markTime()) - (await page.evaluate(() => window.hookdClickAt)));
    }
    return {load: summary(load), tab: summary(tab), rows};
  } finally {
    await browser.close();
  }
}

async function main() {
  const receiver = await startReceiver();
  try {
    const person = await must('POST', '/api/v1/people/merge',
      {people: [{fields: {'str::email': 'bench@example.com', 'str::first': 'Bench'}}]}, 200);
    const contactId = person.body.people[0].contact_id;
    const wh = await must('POST', '/api/v1/webhooks', {name: 'Logs bench',
      url: `http://127.0.0.1:${receiver.port}/hook`, activities: ['act::s']}, 201);
    const id = wh.body.id;
    console.log(`filling ${N} deliveries: ${Math.ceil(N / BATCH)} requests of up to ${BATCH} ` +
      `activities over ${CONNECTIONS} connections`);
    const fillS = await fill(contactId);
    console.log(`fill: ${fillS.toFixed(1)} s (${Math.round(N / fillS)} activities/s)`);
    const drainS = await drain(id);
    console.log(`delivered: all ${N} within ${drainS.toFixed(1)} s after the fill`);

    const first = await timeQuery(`/api/v1/webhooks/${id}/logs`);
    const cursor = (await must('GET', `/api/v1/webhooks/${id}/logs`, undefined, 200)).body.next_cursor;
    if (!cursor && N > 50) throw new Error('the first page has no next_cursor');
    const succeeded = await timeQuery(`/api/v1/webhooks/${id}/logs?state=succeeded`);
    const second = cursor ? await timeQuery(`/api/v1/webhooks/${id}/logs?cursor=${encodeURIComponent(cursor)}`)
      : null;
    const browser = await timeBrowser(id);

    const verdict = (ms) => (ms < GOAL_MS ? 'met' : 'MISSED');
    const line = (label, r) => `${label.padEnd(44)} p50 ${fmt(r.p50).padStart(9)}  p99 ${fmt(r.p99).padStart(9)}` +
      `  (${r.n} runs)  goal < ${GOAL_MS} ms: ${verdict(r.p99)}`;
    console.log(`== logs timing, ${N} deliveries in one webhook (${browser.rows} rows on the first page) ==`);
    console.log(line('GET …/logs (first page)', first));
    console.log(line('GET …/logs?state=succeeded', succeeded));
    if (second) console.log(line('GET …/logs?cursor=<next_cursor> (page 2)', second));
    console.log(line('Chromium: navigation → Logs first page drawn', browser.load));
    console.log(line('Chromium: Logs tab click → first page drawn', browser.tab));
  } finally {
    await receiver.worker.terminate();
    agent.destroy();
  }
}

main().catch((err) => {
  console.error(`logs_page: FAILED: ${err.message}`);
  process.exit(1);
});
