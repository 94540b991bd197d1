// The last 24 hours at a glance on a webhook's page: the counts from the
// list's stats (succeeded, failed, pending, success rate) and the hourly
// chart drawn from GET /webhooks/{id}/stats?hours=24.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitForLogs, activity, hookBody, TEST_TIMEOUT} from './lib.mjs';

// Three deliveries succeed, then one fails for good (404).
async function deliverSome(hookd, receiver) {
  const wh = (await hookd.api('POST', '/api/v1/webhooks',
    hookBody(receiver, {name: 'Counted', activities: ['act::s']}))).body;
  const post = async (list) => assert.equal(
    (await hookd.api('POST', '/api/v1/activities', {activities: list})).status, 202);
  await post([activity(1), activity(2), activity(3)]);
  await waitForLogs(hookd, wh.id, (es) => es.filter((e) => e.kind === 'activity' && e.state === 'succeeded').length === 3);
  receiver.answer = {status: 404, body: 'no'};
  await post([activity(4)]);
  await waitForLogs(hookd, wh.id, (es) => es.some((e) => e.state === 'failed'));
  return wh;
}

const stat = (page, label) => page.locator('.stat', {hasText: label}).locator('.value');

test('the 24-hour view counts what finished', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = await deliverSome(hookd, receiver);
  await signIn(page, hookd, `#/webhooks/${wh.id}`);
  await page.getByRole('heading', {name: 'Last 24 hours'}).waitFor();
  await expectText(stat(page, 'Succeeded'), '3');
  await expectText(stat(page, 'Failed'), '1');
  await expectText(stat(page, 'Pending'), '0');
  await expectText(stat(page, 'Success rate'), '75%');
  // The same numbers as the list answer (test sends count in none).
  const listed = (await hookd.api('GET', '/api/v1/webhooks')).body.webhooks[0].stats;
  assert.equal(listed.succeeded_24h, 3);
  assert.equal(listed.failed_24h, 1);
  await env.shot('last-24-hours');

  // The Data sources list shows the same counts.
  await page.getByRole('link', {name: 'Data sources'}).first().click();
  const row = page.locator('tr.source', {hasText: 'Counted'});
  await expectText(row.locator('td').nth(4), '3');
  await expectText(row.locator('td').nth(5), '1');
  await env.finish();
});

// Needs GET /api/v1/webhooks/{id}/stats (being built on main): fails until
// hookd answers it.
test('the hourly chart draws deliveries per hour by outcome', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = await deliverSome(hookd, receiver);
  const api = await hookd.api('GET', `/api/v1/webhooks/${wh.id}/stats?hours=24`);
  assert.equal(api.status, 200, `GET /webhooks/{id}/stats answered ${api.status}`);
  await signIn(page, hookd, `#/webhooks/${wh.id}`);
  const chart = page.getByRole('img', {name: /Deliveries per hour, last 24 hours/});
  await chart.waitFor();
  const caption = page.locator('figcaption.chart-summary');
  await expectText(caption, '3 succeeded');
  await expectText(caption, '1 failed');
  const bars = await chart.evaluate((svg) => ({
    groups: svg.querySelectorAll('g.bar').length,
    succeeded: [...svg.querySelectorAll('rect[data-series="succeeded"]')].length,
    failed: [...svg.querySelectorAll('rect[data-series="failed"]')].length,
  }));
  assert.equal(bars.groups, api.body.buckets.length, 'one bar per hour');
  assert.ok(bars.succeeded >= 1 && bars.failed >= 1, JSON.stringify(bars));
  await env.shot('chart');
  await env.finish();
});

// The chart itself, against an answer of the contract's shape served by the
// browser (so the drawing is checked even before hookd answers /stats).
test('the hourly chart follows the contract\'s bucket shape', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks', hookBody(receiver, {name: 'Charted'}))).body;
  const start = Date.UTC(2026, 10, 28, 10);
  const buckets = Array.from({length: 24}, (_, i) => ({
    hour: new Date(start + i * 3600e3).toISOString().replace('.000Z', 'Z'),
    succeeded: i % 3 === 0 ? 5 + i : 0, failed: i === 20 ? 2 : 0, retried: i === 21 ? 3 : 0,
  }));
  const asked = [];
  await page.route(`**/api/v1/webhooks/${wh.id}/stats?*`, (route) => {
    asked.push(route.request().url());
    return route.fulfill({status: 200, contentType: 'application/json', body: JSON.stringify({buckets})});
  });
  await signIn(page, hookd, `#/webhooks/${wh.id}`);
  const chart = page.getByRole('img', {name: /Deliveries per hour, last 24 hours/});
  await chart.waitFor();
  assert.match(asked[0], /hours=24/);
  const total = buckets.reduce((n, b) => n + b.succeeded, 0);
  await expectText(page.locator('figcaption.chart-summary'),
    `In the last 24 hours: ${total} succeeded, 2 failed, 3 retried.`);
  const drawn = await chart.evaluate((svg) => ({
    groups: svg.querySelectorAll('g.bar').length,
    series: [...svg.querySelectorAll('rect[data-series]')].map((r) => r.dataset.series),
    titles: [...svg.querySelectorAll('g.bar > title')].map((x) => x.textContent),
    desc: svg.querySelector('desc').textContent,
  }));
  assert.equal(drawn.groups, 24);
  assert.equal(drawn.series.filter((x) => x === 'succeeded').length, 8);
  assert.deepEqual(drawn.series.filter((x) => x !== 'succeeded'), ['failed', 'retried']);
  assert.match(drawn.titles[20], /0 succeeded, 2 failed, 0 retried/);
  assert.match(drawn.desc, /2 failed/);
  // The tallest bar (hour 21 of the fixture: 5+21 succeeded) reaches the top.
  const heights = await chart.evaluate((svg) => [...svg.querySelectorAll('rect[data-series="succeeded"]')]
    .map((r) => Number(r.getAttribute('height'))));
  assert.equal(Math.max(...heights), heights.at(-1));
  await env.shot('chart-shape');
  await env.finish();
});

// A 410 disconnects the webhook: its overview says who did it and why.
test('the overview says hookd disconnected the webhook and why', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks',
    hookBody(receiver, {name: 'Gone', activities: ['act::s']}))).body;
  receiver.answer = {status: 410, body: 'gone'};
  assert.equal((await hookd.api('POST', '/api/v1/activities', {activities: [activity(1)]})).status, 202);
  await waitForLogs(hookd, wh.id, (es) => es.some((e) => e.state === 'failed'));
  await signIn(page, hookd, `#/webhooks/${wh.id}`);
  await expectText(page.locator('.title-line'), 'Disconnected');
  const row = page.locator('dl.settings dd', {hasText: 'By hookd'});
  await expectText(row, 'the endpoint answered 410 Gone to delivery');
  await env.shot('disconnected-by-hookd');
  await env.finish();
});
