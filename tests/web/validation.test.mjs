// hookd is the judge of what is valid: its 400 errors name a field, and the
// page must show each beside the input it names (aria-invalid and
// aria-describedby), while nothing is created.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, expectText, TEST_TIMEOUT} from './lib.mjs';

// The error shown for input: its aria-describedby names an element, inside
// the input's own field, that holds the message.
async function errorBeside(input) {
  await input.waitFor();
  const {invalid, text, beside} = await input.evaluate((el) => {
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    const errs = ids.map((id) => document.getElementById(id))
      .filter((n) => n && n.classList.contains('error-text') && n.textContent);
    const box = el.closest('.field, .locked-row, .added-row');
    return {invalid: el.getAttribute('aria-invalid'), text: errs.map((n) => n.textContent).join(' '),
      beside: errs.length > 0 && errs.every((n) => box && box.contains(n))};
  });
  assert.equal(invalid, 'true', 'the input is marked invalid');
  assert.ok(text, 'the input is described by a message');
  assert.ok(beside, 'the message sits beside the input');
  return text;
}

test('validation errors appear beside the input they name', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const count = async () => (await hookd.api('GET', '/api/v1/webhooks')).body.webhooks.length;
  await signIn(page, hookd, '#/new');
  await page.getByRole('heading', {name: 'Set up a webhook'}).waitFor();

  await page.getByLabel('Webhook name').fill('Bad one');
  await page.getByLabel('Webhook URL').fill('ftp://example.com/drop');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  const url = page.getByLabel('Webhook URL');
  const msg = await errorBeside(url);
  assert.match(msg, /url|http/i);
  assert.equal(await url.evaluate((el) => el === document.activeElement), true,
    'focus moves to the input to fix');
  assert.equal(await count(), 0, 'nothing is created');
  await env.shot('url-error');

  // The unsaved Test is judged by the same rules.
  await page.getByRole('button', {name: 'Test', exact: true}).click();
  await errorBeside(url);
  assert.equal(receiver.requests.length, 0, 'nothing was sent');

  // Fixed, the URL's error goes; a header's key is next.
  await url.fill(`${receiver.url}/hook`);
  await page.getByRole('button', {name: 'Add header'}).click();
  await page.getByRole('button', {name: 'Add header'}).click();
  const header2 = page.getByRole('group', {name: 'Header 2'});
  await page.getByRole('group', {name: 'Header 1'}).getByLabel('Key').fill('X-Fine');
  await header2.getByLabel('Key').fill('Bad Key');
  await header2.getByLabel('Value').fill('v');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(header2.getByLabel('Key'));
  assert.equal(await url.getAttribute('aria-invalid'), null, 'the fixed input is no longer invalid');
  assert.equal(await count(), 0);

  // A renamed locked key that is empty.
  await header2.getByLabel('Key').fill('X-Good');
  await page.getByLabel('email', {exact: true}).fill('');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(page.getByLabel('email', {exact: true}));
  assert.equal(await count(), 0);

  // A basic-auth username with a colon (Basic auth cannot carry one).
  await page.getByLabel('email', {exact: true}).fill('email');
  await page.getByRole('button', {name: 'Add basic auth'}).click();
  await page.getByLabel('Username').fill('crm:ops');
  await page.getByLabel('Password').fill('pw');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(page.getByLabel('Username'));
  assert.equal(await count(), 0);
  await env.shot('username-error');

  // The name, last.
  await page.getByLabel('Username').fill('crm');
  await page.getByLabel('Webhook name').fill('');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(page.getByLabel('Webhook name'));
  assert.equal(await count(), 0);

  await page.getByLabel('Webhook name').fill('Good one');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await page.getByRole('heading', {name: 'Good one', level: 1}).waitFor();
  assert.equal(await count(), 1);
  await env.finish();
});

test('key collisions, a taken field name and a general refusal', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  await signIn(page, hookd, '#/new');
  await page.getByLabel('Webhook name').fill('Many fields');
  await page.getByLabel('Webhook URL').fill(`${receiver.url}/hook`);
  // Two locked keys renamed alike: hookd names the later one (keys.email).
  await page.getByLabel('contact_id', {exact: true}).fill('same');
  await page.getByLabel('email', {exact: true}).fill('same');
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(page.getByLabel('email', {exact: true}));

  // An added field whose default key collides with a locked one
  // (fields[0].key): shown on that field's row.
  await page.getByLabel('contact_id', {exact: true}).fill('contact_id');
  await page.getByLabel('email', {exact: true}).fill('email');
  await page.getByRole('button', {name: 'Add field'}).click();
  await page.getByLabel('Search fields').fill('email');
  await page.getByRole('button', {name: /^Email str::email/}).click();
  await page.getByRole('button', {name: 'Create', exact: true}).click();
  await errorBeside(page.getByRole('textbox', {name: /^Email/}));
  assert.equal((await hookd.api('GET', '/api/v1/webhooks')).body.webhooks.length, 0);
  await env.shot('field-key-error');

  // A custom field whose id exists already: 409 beside "Field name".
  assert.equal((await hookd.api('POST', '/api/v1/fields', {name: 'Plan', type: 'str'})).status, 201);
  await page.getByRole('button', {name: 'Add field'}).click();
  await page.getByLabel('Field name').fill('Plan');
  await page.getByRole('button', {name: 'Create field'}).click();
  await errorBeside(page.getByLabel('Field name'));

  // A refusal that names no input (the webhook was deleted while its Edit
  // form was open) is said above the buttons.
  const made = await hookd.api('POST', '/api/v1/webhooks', {name: 'Gone soon', url: `${receiver.url}/g`});
  await page.goto(`${hookd.url}/#/webhooks/${made.body.id}/edit`);
  await page.getByRole('heading', {name: 'Edit Gone soon'}).waitFor();
  assert.equal((await hookd.api('DELETE', `/api/v1/webhooks/${made.body.id}`)).status, 204);
  await page.getByRole('button', {name: 'Save changes'}).click();
  const general = page.locator('.general-error');
  await expectText(general, /not found|no such/i);
  assert.equal((await hookd.api('GET', '/api/v1/webhooks')).body.webhooks.length, 0);
  await env.shot('general-error');
  await env.finish();
});
