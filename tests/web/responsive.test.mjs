// At 390 px wide (a phone) every view stays usable without sideways
// scrolling: Data sources, Setup with its rows and pickers open, and a
// webhook's Logs with an entry open.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, waitForLogs, activity, hookBody, TEST_TIMEOUT} from './lib.mjs';

async function noSideways(page, where) {
  const [scrollWidth, innerWidth] = await page.evaluate(
    () => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scrollWidth <= innerWidth, `${where}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

test('390 px wide without horizontal scroll', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t, {viewport: {width: 390, height: 844}});
  const {page, hookd, receiver} = env;
  const long = `${receiver.url}/a/very/long/path/that/would/push/the/page/wider/than/a/phone?with=query&and=more`;
  const wh = (await hookd.api('POST', '/api/v1/webhooks', hookBody(receiver, {
    name: 'A webhook with a rather long name to wrap', url: long, activities: ['act::s'],
    headers: [{key: 'X-Very-Long-Header-Name-For-Testing', value: 'x'.repeat(120)}]}))).body;
  await hookd.api('POST', '/api/v1/activities', {activities: [activity(1)]});
  await waitForLogs(hookd, wh.id, (es) => es.some((e) => e.kind === 'activity' && e.state === 'succeeded'));

  await signIn(page, hookd);
  await page.locator('tr.source').first().waitFor();
  await noSideways(page, 'Data sources');
  await env.shot('data-sources');

  await page.getByRole('button', {name: 'New data source'}).click();
  await page.getByRole('button', {name: 'Webhook (advanced)'}).click();
  await page.getByLabel('Webhook name').waitFor();
  await page.getByRole('button', {name: 'Add basic auth'}).click();
  await page.getByRole('button', {name: 'Add header'}).click();
  await page.getByRole('button', {name: 'Add field'}).click();
  await page.getByLabel('Search activities').fill('email');
  await noSideways(page, 'Setup');
  await env.shot('setup');

  await page.goto(`${hookd.url}/#/webhooks/${wh.id}`);
  await page.getByRole('heading', {name: 'Last 24 hours'}).waitFor();
  await noSideways(page, 'Overview');
  await env.shot('overview');

  await page.getByRole('tab', {name: 'Logs'}).click();
  const row = page.locator('tr.entry', {hasText: 'Person: Sent email'});
  await row.click();
  await page.locator('tr.detail pre.payload').waitFor();
  await noSideways(page, 'Logs with an entry open');
  await env.shot('logs');
  await env.finish();
});
