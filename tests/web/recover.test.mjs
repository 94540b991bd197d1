// The Logs tab's "Retry all failed since…" (POST …/recover) and a row's
// "Resend" (POST …/logs/{id}/resend): failed deliveries go out again at once,
// and a resend is a new entry the receiver sees with the same webhook-id.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitUntil, waitForLogs, activity, hookBody, TEST_TIMEOUT}
  from './lib.mjs';

const byId = (page, id) => page.locator(`tr.entry[data-id="${id}"]`);

test('retry all failed since, and resend', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t, {hookdArgs: ['--retry-schedule', '1h', '--max-retries', '0']});
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks',
    hookBody(receiver, {name: 'Recover hook', activities: ['act::s']}))).body;

  // Two deliveries fail for good (404, no retries).
  receiver.answer = {status: 404, body: '{"error":"gone"}'};
  const acts = [activity(1), activity(2)];
  const r = await hookd.api('POST', '/api/v1/activities', {activities: acts});
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const failed = (await waitForLogs(hookd, wh.id,
    (es) => es.filter((e) => e.kind === 'activity' && e.state === 'failed').length === 2))
    .filter((e) => e.kind === 'activity');
  const sent = receiver.requests.length;

  await signIn(page, hookd, `#/webhooks/${wh.id}/logs`);
  for (const e of failed) await expectText(byId(page, e.id), 'Failed');
  receiver.answer = {status: 200, body: '{"ok":true}'};
  await page.getByRole('button', {name: 'Retry all failed since…'}).click();
  await expectText(page.locator('#toast'), '2 failed deliveries sent again.');
  for (const e of failed) {
    await expectText(byId(page, e.id), 'Succeeded');
    await expectText(byId(page, e.id).locator('td').nth(4), '2');
  }
  assert.equal(receiver.requests.length, sent + 2);
  await env.shot('recovered');

  // Resend the first: a new entry on top, the same webhook-id on the wire.
  const first = failed[0];
  await byId(page, first.id).getByRole('button', {name: 'Resend', exact: true}).click();
  await expectText(page.locator('#toast'), 'Resend queued as a new delivery.');
  const entries = await waitForLogs(hookd, wh.id, (es) =>
    es.filter((e) => e.activity_id === first.activity_id && e.state === 'succeeded').length === 2);
  const copy = entries.find((e) => e.activity_id === first.activity_id && e.id !== first.id);
  await expectText(byId(page, copy.id), 'Succeeded');
  await waitUntil(() => receiver.requests.length === sent + 3, {message: 'the resend arrived'});
  const last = receiver.requests[receiver.requests.length - 1];
  assert.equal(last.headers['webhook-id'], first.id);
  const original = (await hookd.api('GET', `/api/v1/webhooks/${wh.id}/logs/${first.id}`)).body;
  assert.equal(last.body, original.request.body);
  await env.shot('resent');
});
