// 1,000 data sources: the list shows every one (following next_cursor
// whenever hookd pages the list), renders in bounded time, and the search
// filters them at once.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitUntil, TEST_TIMEOUT} from './lib.mjs';

const N = 1000;
// Generous for the sanitizer build on 2 cores; a page that rebuilt the
// list per keystroke or per page would still miss them.
const RENDER_MS = 20000;
const SEARCH_MS = 2000;

async function createMany(hookd, receiver, n, parallel = 8) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await hookd.api('POST', '/api/v1/webhooks', {
        name: `Hook ${String(i).padStart(4, '0')}`, url: `${receiver.url}/h/${i}`, activities: ['act::s']});
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  };
  await Promise.all(Array.from({length: parallel}, worker));
}

test('1,000 data sources', {timeout: TEST_TIMEOUT * 2}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const made = Date.now();
  await createMany(hookd, receiver, N);
  t.diagnostic(`created ${N} webhooks in ${Date.now() - made} ms`);

  const listAnswers = [];
  page.on('response', async (res) => {
    const u = new URL(res.url());
    if (u.pathname === '/api/v1/webhooks' && res.request().method() === 'GET') {
      const body = await res.json().catch(() => ({}));
      listAnswers.push({url: res.url(), next: body.next_cursor ?? null, count: (body.webhooks || []).length});
    }
  });
  await signIn(page, hookd);
  const count = page.locator('.list-tools .count');
  await expectText(count, `${N.toLocaleString('en-US')} data sources`, RENDER_MS);
  const rendered = await page.evaluate(() => performance.getEntriesByName('hookd:sources-rendered')[0]?.startTime);
  assert.ok(rendered !== undefined, 'the page marks when the list is complete');
  assert.ok(rendered < RENDER_MS, `the list took ${rendered} ms`);
  t.diagnostic(`list complete ${Math.round(rendered)} ms after navigation`);
  assert.equal(await page.locator('tr.source').count(), N);
  await env.shot('thousand', {fullPage: false});

  // The list came in pages (hookd pages it), and every next_cursor hookd
  // answered was followed.
  assert.ok(listAnswers.length > 1, `one answer held all ${N} webhooks`);
  assert.equal(listAnswers.filter((a) => a.next === null).length, 1, 'one last page');
  for (const a of listAnswers.filter((x) => x.next)) {
    assert.ok(listAnswers.some((b) => new URL(b.url).searchParams.get('cursor') === a.next),
      `next_cursor ${a.next} was not followed`);
  }
  assert.equal(listAnswers.reduce((n, a) => n + a.count, 0), N, 'each webhook fetched once');

  // The search hides rows without rebuilding them.
  const t0 = Date.now();
  await page.getByLabel('Search data sources').fill('hook 0999');
  await expectText(count, `1 of ${N.toLocaleString('en-US')} data sources`, SEARCH_MS);
  assert.ok(Date.now() - t0 < SEARCH_MS);
  t.diagnostic(`search answered in ${Date.now() - t0} ms`);
  assert.equal(await page.locator('tr.source:visible').count(), 1);
  await page.getByLabel('Search data sources').fill('/h/12');
  await waitUntil(async () => (await page.locator('tr.source:visible').count()) === 11,
    {message: 'URL search: /h/12 and /h/120…129'});
  await env.shot('searched', {fullPage: false});
  await env.finish();
});
