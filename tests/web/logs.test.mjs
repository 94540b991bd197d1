// A webhook's page through its life: deliveries in Logs with the payload
// formatted, a final failure retried, Disconnect holding what waits,
// Connect sending it, Delete after a confirmation. Then the Logs tab's
// paging and its refresh, which must keep an open entry open and in place,
// and pause while the browser tab is hidden.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitUntil, waitForLogs, activity, hookBody, TEST_TIMEOUT}
  from './lib.mjs';

const byId = (page, id) => page.locator(`tr.entry[data-id="${id}"]`);

async function postActivities(hookd, list) {
  const r = await hookd.api('POST', '/api/v1/activities', {activities: list});
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

test('logs, retry, disconnect, connect and delete', {timeout: TEST_TIMEOUT}, async (t) => {
  // Retries wait an hour: a 500 leaves a delivery waiting for Disconnect.
  const env = await setup(t, {hookdArgs: ['--retry-schedule', '1h', '--max-retries', '3']});
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks',
    hookBody(receiver, {name: 'Logs hook', activities: ['act::s']}))).body;
  const path = `/api/v1/webhooks/${wh.id}`;

  const a1 = activity(1);
  await postActivities(hookd, [a1]);
  const [e1] = (await waitForLogs(hookd, wh.id,
    (es) => es.some((e) => e.activity_id === a1.id && e.state === 'succeeded')))
    .filter((e) => e.activity_id === a1.id);

  await signIn(page, hookd, `#/webhooks/${wh.id}/logs`);
  const row1 = byId(page, e1.id);
  await expectText(row1, 'Person: Sent email');
  await expectText(row1, 'Succeeded');
  await expectText(row1, '200');
  await row1.click();
  const payload = page.locator(`#${await row1.getByRole('button').first().getAttribute('aria-controls')} pre.payload`);
  await expectText(payload, '"field_id": "act::s"');
  const detail = (await hookd.api('GET', `${path}/logs/${e1.id}`)).body;
  assert.equal(await payload.innerText(), JSON.stringify(JSON.parse(detail.request.body), null, 2),
    'the payload is the request body, formatted');
  assert.match(await payload.innerText(), /\n {2}"contact": \{\n {4}"contact_id"/, 'indented');
  await expectText(page.locator('section.response'), 'Status 200');
  await expectText(page.locator('section.request'), `POST ${receiver.url}/hook`);
  await expectText(page.locator('section.attempts-section'), 'Attempts (1)');
  await env.shot('entry-open');

  // A final failure (404), seen without reloading, then retried.
  receiver.answer = {status: 404, body: '{"error":"gone"}'};
  const a2 = activity(2);
  await postActivities(hookd, [a2]);
  const failed = page.locator('tr.entry', {hasText: 'Failed'});
  await failed.waitFor();
  const id2 = await failed.getAttribute('data-id');
  await expectText(byId(page, id2), '404');
  await env.shot('failed');
  receiver.answer = {status: 200, body: '{"ok":true}'};
  await byId(page, id2).getByRole('button', {name: 'Retry', exact: true}).click();
  await expectText(byId(page, id2), 'Succeeded');
  await expectText(byId(page, id2).locator('td').nth(4), '2');
  const e2 = (await hookd.api('GET', `${path}/logs/${id2}`)).body;
  assert.equal(e2.state, 'succeeded');
  assert.equal(e2.attempts, 2);
  assert.equal(e2.activity_id, a2.id);

  // A 500 leaves the next one retrying; Disconnect holds it.
  receiver.answer = {status: 500, body: 'busy'};
  const a3 = activity(3);
  await postActivities(hookd, [a3]);
  const retrying = page.locator('tr.entry', {hasText: 'Retrying'});
  await retrying.waitFor();
  const id3 = await retrying.getAttribute('data-id');
  await expectText(byId(page, id3), /in (60 min|1 h)/);
  await page.getByRole('button', {name: 'Disconnect'}).click();
  await expectText(page.locator('.title-line'), 'Disconnected');
  await page.getByRole('button', {name: 'Connect', exact: true}).waitFor();
  await expectText(byId(page, id3), 'Held');
  assert.equal((await hookd.api('GET', `${path}/logs/${id3}`)).body.state, 'held');
  await page.getByLabel('State').selectOption('held');
  await waitUntil(async () => (await page.locator('tr.entry').count()) === 1, {message: 'only held rows'});
  await expectText(byId(page, id3), 'Held');
  await env.shot('disconnected-held');
  await page.getByLabel('State').selectOption('');
  await byId(page, e1.id).waitFor();

  // Connect: the held delivery goes out.
  receiver.answer = {status: 200, body: '{"ok":true}'};
  await page.getByRole('button', {name: 'Connect', exact: true}).click();
  await expectText(page.locator('.title-line'), 'Connected');
  await expectText(byId(page, id3), 'Succeeded');
  assert.equal((await hookd.api('GET', `${path}/logs/${id3}`)).body.state, 'succeeded');

  // Delete: Cancel keeps it, confirming removes it.
  await page.getByRole('button', {name: 'Delete', exact: true}).click();
  const dialog = page.getByRole('dialog', {name: 'Delete this webhook?'});
  await dialog.waitFor();
  await env.shot('delete-dialog');
  await dialog.getByRole('button', {name: 'Cancel'}).click();
  await dialog.waitFor({state: 'detached'});
  assert.equal((await hookd.api('GET', path)).status, 200, 'Cancel deletes nothing');
  await page.getByRole('button', {name: 'Delete', exact: true}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Delete webhook'}).click();
  await page.getByText('No data sources yet').waitFor();
  assert.equal((await hookd.api('GET', path)).status, 404);
  await env.shot('deleted');
  await env.finish();
});

test('logs page by page; the refresh keeps the open entry', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks',
    hookBody(receiver, {name: 'Busy hook', activities: ['act::s']}))).body;
  await postActivities(hookd, Array.from({length: 60}, (_, i) => activity(i)));
  // 60 activities and the creation's test send.
  await waitForLogs(hookd, wh.id, (es) => es.length === 61 && es.every((e) => e.state === 'succeeded'));

  const logRequests = [];
  page.on('request', (r) => {
    if (r.url().includes(`/webhooks/${wh.id}/logs?`)) logRequests.push(r.url());
  });
  await signIn(page, hookd, `#/webhooks/${wh.id}/logs`);
  await waitUntil(async () => (await page.locator('tr.entry').count()) === 50, {message: '50 rows'});
  assert.match(logRequests[0], /limit=50/);
  await page.getByRole('button', {name: 'Load more'}).click();
  await waitUntil(async () => (await page.locator('tr.entry').count()) === 61, {message: '61 rows'});
  assert.ok(logRequests.some((u) => /cursor=/.test(u)), 'Load more follows next_cursor');
  await page.getByRole('button', {name: 'Load more'}).waitFor({state: 'hidden'});

  // Open the oldest entry (the test send) by keyboard, far down the page.
  const last = page.locator('tr.entry').last();
  await expectText(last, 'Test payload');
  const toggle = last.getByRole('button').first();
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.locator('tr.detail pre.payload').waitFor();
  await last.scrollIntoViewIfNeeded();
  const top = async () => last.evaluate((el) => el.getBoundingClientRect().top);
  const before = await top();
  await env.shot('open-far-down');

  // Two new deliveries arrive; the refresh puts them on top and nothing moves.
  await postActivities(hookd, [activity(100), activity(101)]);
  await waitUntil(async () => (await page.locator('tr.entry').count()) === 63,
    {message: 'the new entries to appear without a reload'});
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true', 'the entry is still open');
  assert.equal(await page.locator('tr.detail pre.payload').count(), 1);
  assert.ok(Math.abs((await top()) - before) <= 2, `the open entry stays in place (${before} → ${await top()})`);

  // Hidden tab: no refresh. Visible again: refreshes.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
    Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await page.waitForTimeout(500);
  const quiet = logRequests.length;
  await page.waitForTimeout(9000);
  assert.equal(logRequests.length, quiet, 'no refresh while the tab is hidden');
  await page.evaluate(() => {
    delete document.hidden;
    delete document.visibilityState;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitUntil(() => logRequests.length > quiet, {message: 'a refresh once visible again'});
  await env.finish();
});
