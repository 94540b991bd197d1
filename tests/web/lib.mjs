// lib.mjs — what every browser test of the operator page shares: a real
// hookd (HOOKD_BIN, default build/hookd) on a free loopback port with a
// temporary database, a real receiver (a Node http server on 127.0.0.1 whose
// answer a test can change), Debian's chromium driven by playwright-core,
// and small waiting helpers (playwright-core has no `expect`).
//
// Every hookd is stopped with SIGTERM and must exit 0; every page records the
// requests it makes, its script errors and console errors so tests can assert
// that nothing failed quietly.

import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtempSync, mkdirSync, rmSync} from 'node:fs';
import http from 'node:http';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HOOKD_BIN = process.env.HOOKD_BIN || path.join(ROOT, 'build/hookd');
export const OUT = process.env.WEB_TEST_OUT || path.join(ROOT, 'build/web-tests');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Sanitizer builds are several times slower: every wait is generous, and
// bounded.
export const TIMEOUT = 20000;
export const TEST_TIMEOUT = 180000;

const START_TIMEOUT = 30000;
const STOP_TIMEOUT = 30000;

export function randomKey() {
  return `test-${randomBytes(18).toString('base64url')}`;
}

// ---- hookd --------------------------------------------------------------

// Starts `hookd serve` on 127.0.0.1:0 with a fresh database; resolves once
// it logs "listening on 127.0.0.1:<port>".
export async function startHookd({args = [], key = randomKey()} = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hookd-web-'));
  const argv = ['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'hookd.db'),
    '--api-key', key, '--allow-private-networks', ...args];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOOKD_')));
  const proc = spawn(HOOKD_BIN, argv, {cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe']});
  const hookd = {proc, key, dir, stderr: '', exit: null, port: 0, url: ''};
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    hookd.exit = {code, signal};
    resolve(hookd.exit);
  }));
  proc.stdout.resume();
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hookd did not say where it listens: ${hookd.stderr}`)),
      START_TIMEOUT);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      hookd.stderr += chunk;
      const m = hookd.stderr.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`hookd exited at start (${JSON.stringify(e)}): ${hookd.stderr}`));
    });
  });
  hookd.port = port;
  hookd.url = `http://127.0.0.1:${port}`;
  // SIGTERM and wait; the exit status must be 0 (the e2e suite's rule).
  hookd.stop = async () => {
    if (!hookd.exit) proc.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, STOP_TIMEOUT, 'timeout');
    });
    const result = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      proc.kill('SIGKILL');
      await exited;
      assert.fail(`hookd did not stop within ${STOP_TIMEOUT} ms of SIGTERM`);
    }
    rmSync(dir, {recursive: true, force: true});
    assert.equal(hookd.exit.code, 0,
      `hookd exited ${JSON.stringify(hookd.exit)} after SIGTERM; stderr:\n${hookd.stderr}`);
  };
  hookd.api = (method, p, body) => callApi(hookd, method, p, body);
  return hookd;
}

// One JSON call to hookd's API with its key: {status, body}.
export async function callApi(hookd, method, p, body, key = hookd.key) {
  const headers = {Authorization: `Bearer ${key}`};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(hookd.url + p, {method, headers,
    body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

// ---- the receiver -------------------------------------------------------

// A webhook endpoint on 127.0.0.1 that records every request and answers
// with receiver.answer ({status, body}), which a test may change at any time.
export async function startReceiver() {
  const receiver = {requests: [], answer: {status: 200, body: '{"received":true}'}};
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      receiver.requests.push({method: req.method, url: req.url, headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8')});
      const {status, body} = receiver.answer;
      res.writeHead(status, {'Content-Type': 'application/json'});
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}`;
  receiver.close = () => new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
  return receiver;
}

// ---- the browser --------------------------------------------------------

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Records what a page does that a test should know about.
export function watchPage(page) {
  const seen = {requests: [], errors: [], console: []};
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.console.push(m.text());
  });
  return seen;
}

// Everything one test needs, torn down by t.after whatever happens. The test
// itself calls env.finish() at its end, which checks that the page raised no
// script error and that hookd stops cleanly (exit 0).
export async function setup(t, {hookdArgs = [], viewport = {width: 1280, height: 900}} = {}) {
  const name = t.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  const outDir = path.join(OUT, name);
  rmSync(outDir, {recursive: true, force: true});
  mkdirSync(outDir, {recursive: true});
  const receiver = await startReceiver();
  const hookd = await startHookd({args: hookdArgs});
  const browser = await launchBrowser();
  const context = await browser.newContext({viewport});
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const seen = watchPage(page);
  let shots = 0;
  const env = {
    receiver, hookd, browser, context, page, seen, outDir,
    // Saves a screenshot as <n>-<label>.png in the test's folder: the whole
    // page, or only the viewport for pages too tall to capture whole.
    async shot(label, {fullPage = true} = {}) {
      shots += 1;
      await page.screenshot({path: path.join(outDir, `${String(shots).padStart(2, '0')}-${label}.png`),
        fullPage});
    },
    // allowConsole: patterns of console errors the test provokes on purpose.
    // HTTP error statuses are the API answering (400, 401, 404 …) and are
    // checked by the tests themselves; anything else (a refused connection,
    // a CSP violation, an uncaught error) fails the test.
    async finish({allowConsole = []} = {}) {
      assert.deepEqual(seen.errors, [], 'the page raised script errors');
      const allowed = [/^Failed to load resource: the server responded with a status of \d+/, ...allowConsole];
      const unexpected = seen.console.filter((m) => !allowed.some((re) => re.test(m)));
      assert.deepEqual(unexpected, [], 'the page logged console errors');
      await hookd.stop();
    },
  };
  t.after(async () => {
    // The page as it was when the test ended, passed or failed.
    await page.screenshot({path: path.join(outDir, 'zz-end.png'), timeout: 10000}).catch(() => {});
    await browser.close().catch(() => {});
    await receiver.close();
    if (!hookd.exit) {
      hookd.proc.kill('SIGKILL');
    }
    rmSync(hookd.dir, {recursive: true, force: true});
  });
  return env;
}

// Opens the page and gives it the API key through its own prompt.
export async function signIn(page, hookd, pathHash = '') {
  await page.goto(`${hookd.url}/${pathHash}`);
  await page.getByLabel('API key').fill(hookd.key);
  await page.getByRole('button', {name: 'Continue'}).click();
  await page.getByRole('heading', {level: 1}).first().waitFor();
  await page.getByLabel('API key').waitFor({state: 'detached'});
}

// ---- waiting --------------------------------------------------------------

// Polls fn until it returns a truthy value (returned) or the time is up.
export async function waitUntil(fn, {timeout = TIMEOUT, interval = 100, message = 'condition'} = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeout} ms waiting for ${message} (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

// Waits until the locator's visible text matches (a string it contains, or
// a RegExp).
export async function expectText(locator, expected, timeout = TIMEOUT) {
  const ok = (t) => (expected instanceof RegExp ? expected.test(t) : t.includes(expected));
  let text = '';
  await waitUntil(async () => {
    text = await locator.innerText();
    return ok(text);
  }, {timeout, message: `text ${expected} (last: ${JSON.stringify(text)})`});
  return text;
}

// Waits for a webhook's deliveries (through the API) to satisfy pred.
export async function waitForLogs(hookd, id, pred, {timeout = TIMEOUT, query = 'limit=200'} = {}) {
  return waitUntil(async () => {
    const r = await hookd.api('GET', `/api/v1/webhooks/${id}/logs?${query}`);
    return r.status === 200 && pred(r.body.entries) ? r.body.entries : null;
  }, {timeout, message: `logs of ${id} to match`});
}

// An activity of the catalog for a fresh person.
export function activity(n, fieldId = 'act::s') {
  return {id: `evt-${n}-${randomBytes(4).toString('hex')}`, field_id: fieldId,
    contact: {fields: {'str::email': `person${n}@example.com`, 'str::first': `Person ${n}`}},
    attr: {'str::s': `Welcome ${n}!`}};
}

// A minimal webhook body pointing at the receiver.
export function hookBody(receiver, extra = {}) {
  return {name: 'Receiver', url: `${receiver.url}/hook`, activities: ['*'], ...extra};
}
