// The Setup form's "Delivery pace": rate_limit and max_in_flight are optional,
// a refused value is shown beside its input, and what was typed is stored
// (read back through the API) and shown on the webhook's Overview.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitUntil, TEST_TIMEOUT} from './lib.mjs';

test('delivery pace in the setup form', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const list = async () => (await hookd.api('GET', '/api/v1/webhooks')).body.webhooks;
  await signIn(page, hookd, '#/new');
  await page.getByRole('heading', {name: 'Set up a webhook'}).waitFor();
  const rate = page.getByLabel('Rate limit (deliveries per second)');
  const atOnce = page.getByLabel('Requests at once');
  assert.equal(await rate.inputValue(), '', 'no rate limit by default');
  assert.equal(await atOnce.inputValue(), '16', '16 at once by default');

  await page.getByLabel('Webhook name').fill('Paced');
  await page.getByLabel('Webhook URL').fill(`${receiver.url}/paced`);
  await rate.fill('0');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await waitUntil(async () => (await rate.getAttribute('aria-invalid')) === 'true',
    {message: 'rate limit marked invalid'});
  const msg = await rate.evaluate((el) => document.getElementById(`${el.id}-error`).textContent);
  assert.match(msg, /rate_limit/);
  assert.equal((await list()).length, 0, 'nothing is created');

  await rate.fill('5');
  await atOnce.fill('2');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await waitUntil(async () => (await list()).length === 1, {message: 'webhook created'});
  const [wh] = await list();
  assert.equal(wh.rate_limit, 5);
  assert.equal(wh.max_in_flight, 2);
  await page.getByRole('heading', {name: 'Paced', level: 1}).waitFor();
  await expectText(page.locator('body'), /At most 5 per second, 2 at once/);
  await env.shot('pace-overview');
});
