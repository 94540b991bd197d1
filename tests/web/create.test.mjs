// Creating a webhook through the page: Connect a data source → Webhook
// (advanced) → Setup with every kind of setting, Test against a real
// receiver, Create (double-clicked: it must create one webhook, not two),
// then checks through the API that what was stored is what was typed.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, waitUntil, TEST_TIMEOUT} from './lib.mjs';

test('create a webhook through the form', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  await signIn(page, hookd);
  await page.getByText('No data sources yet').waitFor();

  await page.getByRole('button', {name: 'New data source'}).click();
  await page.getByRole('heading', {name: 'Connect a data source'}).waitFor();
  await page.getByLabel('Search data sources').fill('webhook');
  await page.getByRole('button', {name: 'Webhook (advanced)'}).waitFor();
  assert.equal(await page.getByRole('button', {name: 'Salesforce'}).isVisible(), false,
    'the search hides sources that do not match');
  await env.shot('connect-search');
  await page.getByRole('button', {name: 'Webhook (advanced)'}).click();

  // Setup
  await page.getByRole('heading', {name: 'Set up a webhook'}).waitFor();
  assert.equal(await page.getByLabel('HTTP method').inputValue(), 'POST', 'POST is the default');
  assert.equal(await page.getByLabel('Send activity payload if relevant').isChecked(), true,
    '"Send activity payload if relevant" starts checked');
  await page.getByLabel('Webhook name').fill('CRM sync');
  await page.getByLabel('Webhook URL').fill(`${receiver.url}/hooks/crm`);
  await page.getByLabel('HTTP method').selectOption('PUT');

  await page.getByRole('button', {name: 'Add basic auth'}).click();
  await page.getByLabel('Username').fill('crm');
  await page.getByLabel('Password').fill('s3cret');

  await page.getByRole('button', {name: 'Add header'}).click();
  await page.getByRole('button', {name: 'Add header'}).click();
  await page.getByRole('button', {name: 'Add header'}).click();
  const header = (n) => page.getByRole('group', {name: `Header ${n}`});
  await header(1).getByLabel('Key').fill('X-Team');
  await header(1).getByLabel('Value').fill('growth');
  await header(2).getByLabel('Key').fill('X-Drop');
  await header(3).getByLabel('Key').fill('X-Env');
  await header(3).getByLabel('Value').fill('test');
  await page.getByRole('button', {name: 'Remove header 2'}).click();
  assert.equal(await header(3).count(), 0, 'rows are renumbered after a removal');
  assert.equal(await header(2).getByLabel('Key').inputValue(), 'X-Env');

  // A locked field renamed; a field chosen from the list; one created.
  await page.getByLabel('contact_id', {exact: true}).fill('id');
  await page.getByRole('button', {name: 'Add field'}).click();
  await page.getByLabel('Search fields').fill('first');
  // Enter in the picker chooses its first match; it must not submit the form.
  await page.getByLabel('Search fields').press('Enter');
  await page.getByRole('textbox', {name: /^First name/}).waitFor();
  assert.equal(await page.getByRole('textbox', {name: /^First name/}).inputValue(), 'first_name',
    'a chosen field starts with its default key');
  await page.getByRole('button', {name: 'Add field'}).click();
  await page.getByLabel('Search fields').fill('job title');
  await page.getByLabel('Field name').fill('Job title');
  await page.getByLabel('Type').selectOption('str');
  await page.getByRole('button', {name: 'Create field'}).click();
  await page.getByRole('textbox', {name: /^Job title/}).fill('title');

  // Activities: by name, by id, and a custom one.
  const search = page.getByLabel('Search activities');
  await search.fill('clicked email');
  await page.getByRole('checkbox', {name: /Person: Clicked email/}).check();
  await search.fill('act::s');
  await page.getByRole('checkbox', {name: 'Person: Sent email act::s'}).check();
  await search.fill('act:cm:signup');
  await page.getByRole('button', {name: 'Add custom activity act:cm:signup'}).click();
  await expectText(page.getByRole('group', {name: 'Chosen activities'}), 'act:cm:signup');

  await page.getByRole('checkbox', {name: 'Update the contact from the response'}).check();

  // Test sends the unsaved webhook to the receiver.
  receiver.answer = {status: 200, body: '{"hello":"from the receiver"}'};
  await page.getByRole('button', {name: 'Test', exact: true}).click();
  const result = page.locator('.result');
  await expectText(result, 'Test succeeded');
  await expectText(result, 'Status code 200');
  await expectText(result, '"hello": "from the receiver"');
  const testReq = receiver.requests.at(-1);
  assert.equal(testReq.method, 'PUT');
  assert.equal(testReq.url, '/hooks/crm');
  assert.equal(testReq.headers.authorization, `Basic ${Buffer.from('crm:s3cret').toString('base64')}`);
  assert.equal(testReq.headers['x-team'], 'growth');
  assert.equal(testReq.headers['x-env'], 'test');
  const testPayload = JSON.parse(testReq.body);
  assert.equal(testPayload.test, true);
  assert.ok('id' in testPayload.contact, 'the renamed contact_id key is used');
  assert.ok('first_name' in testPayload.contact && 'title' in testPayload.contact, testReq.body);
  assert.equal((await hookd.api('GET', '/api/v1/webhooks')).body.webhooks.length, 0,
    'Test stores nothing');
  await env.shot('setup-tested');

  // Create, double-clicked: one webhook.
  const before = receiver.requests.length;
  await page.getByRole('button', {name: 'Create', exact: true}).dblclick();
  await page.getByRole('heading', {name: 'CRM sync', level: 1}).waitFor();
  await expectText(page.locator('.title-line'), 'Connected');
  await env.shot('created');

  await page.getByRole('link', {name: 'Data sources'}).first().click();
  const row = page.locator('tr.source', {hasText: 'CRM sync'});
  await row.waitFor();
  await expectText(row, `${receiver.url}/hooks/crm`);
  await expectText(row, 'PUT');
  await expectText(row, 'Connected');
  await env.shot('data-sources');

  const list = (await hookd.api('GET', '/api/v1/webhooks')).body.webhooks;
  assert.equal(list.length, 1, 'a double click creates one webhook');
  const wh = list[0];
  assert.equal(wh.name, 'CRM sync');
  assert.equal(wh.url, `${receiver.url}/hooks/crm`);
  assert.equal(wh.method, 'PUT');
  assert.equal(wh.send_activity, true);
  assert.equal(wh.update_contact_from_response, true);
  assert.equal(wh.connected, true);
  assert.deepEqual(wh.basic_auth, {username: 'crm', password_set: true});
  assert.deepEqual(wh.headers, [{key: 'X-Team', value: 'growth'}, {key: 'X-Env', value: 'test'}]);
  assert.deepEqual(wh.keys, {contact_id: 'id', email: 'email', campaign_id: 'campaign_id',
    campaign_name: 'campaign_name', action_id: 'action_id', action_name: 'action_name'});
  assert.deepEqual(wh.fields, [{field_id: 'str::first', key: 'first_name'},
    {field_id: 'str:cm:job-title', key: 'title'}]);
  assert.deepEqual(wh.activities, ['act::c', 'act::s', 'act:cm:signup']);

  // hookd sent its own test payload on creation, with the basic auth.
  await waitUntil(() => receiver.requests.length > before, {message: 'the creation test send'});
  const created = receiver.requests.slice(before);
  assert.equal(created.length, 1, 'one creation, one test send');
  assert.equal(created[0].headers.authorization, `Basic ${Buffer.from('crm:s3cret').toString('base64')}`);
  assert.equal(JSON.parse(created[0].body).test, true);
  assert.equal(JSON.parse(created[0].body).webhook_id, wh.id);

  await env.finish();
});

test('edit a webhook: the same form, saved with PATCH', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const made = await hookd.api('POST', '/api/v1/webhooks', {name: 'Before', url: `${receiver.url}/a`,
    basic_auth: {username: 'u', password: 'kept-password'}, activities: ['act::s']});
  assert.equal(made.status, 201);
  await signIn(page, hookd, `#/webhooks/${made.body.id}`);
  await page.getByRole('button', {name: 'Edit'}).click();
  await page.getByRole('heading', {name: 'Edit Before'}).waitFor();
  assert.equal(await page.getByLabel('Username').inputValue(), 'u');
  assert.equal(await page.getByRole('checkbox', {name: 'Person: Sent email act::s'}).isChecked(), true);
  await page.getByLabel('Webhook name').fill('After');
  await page.getByLabel('email', {exact: true}).fill('mail');
  await page.getByRole('button', {name: 'Save changes'}).click();
  await page.getByRole('heading', {name: 'After', level: 1}).waitFor();
  const wh = (await hookd.api('GET', `/api/v1/webhooks/${made.body.id}`)).body;
  assert.equal(wh.name, 'After');
  assert.equal(wh.keys.email, 'mail');
  assert.deepEqual(wh.basic_auth, {username: 'u', password_set: true});
  // The stored password was kept (the form left it empty): a test send carries it.
  await page.getByRole('button', {name: 'Test', exact: true}).click();
  await expectText(page.locator('.result'), 'Status code 200');
  assert.equal(receiver.requests.at(-1).headers.authorization,
    `Basic ${Buffer.from('u:kept-password').toString('base64')}`);
  await env.shot('edited');
  await env.finish();
});

test('at most 10 fields: Add field disables with a note', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd} = env;
  await signIn(page, hookd, '#/new');
  const add = page.getByRole('button', {name: 'Add field'});
  for (let i = 0; i < 10; i++) {
    await add.click();
    // The first field the picker offers, whichever it is.
    await page.getByLabel('Search fields').press('Enter');
  }
  assert.equal(await page.locator('.added-row').count(), 10);
  assert.equal(await add.isDisabled(), true, 'Add field is disabled at 10');
  const note = page.getByText('A webhook can send at most 10 fields.');
  await note.waitFor();
  assert.match(await add.getAttribute('aria-describedby'), new RegExp(await note.getAttribute('id')));
  await env.shot('ten-fields');
  // Removing one enables it again.
  await page.getByRole('button', {name: /^Remove field /}).first().click();
  assert.equal(await add.isDisabled(), false);
  await env.finish();
});
