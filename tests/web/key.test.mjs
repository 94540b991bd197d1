// The API key: asked once per browser session, kept across reloads, a
// refused key said plainly, and a key that stops working asked again.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, expectText, TEST_TIMEOUT} from './lib.mjs';

test('the key prompt', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd} = env;
  await page.goto(`${hookd.url}/`);
  await page.getByRole('heading', {name: 'Enter your API key'}).waitFor();
  const input = page.getByLabel('API key');
  assert.equal(await input.getAttribute('type'), 'password');

  await input.fill('not-the-key-not-the-key');
  await page.getByRole('button', {name: 'Continue'}).click();
  await expectText(page.locator('main'), 'The API key was refused');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  await env.shot('refused');

  await input.fill(hookd.key);
  await page.getByRole('button', {name: 'Continue'}).click();
  await page.getByRole('heading', {name: 'Data sources', exact: true}).waitFor();
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'the key is not kept beyond the session');

  // A reload (same session) does not ask again.
  await page.reload();
  await page.getByRole('heading', {name: 'Data sources', exact: true}).waitFor();
  assert.equal(await page.getByLabel('API key').count(), 0);

  // A key that stops working (here: replaced behind the page's back) is
  // asked again, saying why; the right one brings the view back.
  await page.evaluate(() => sessionStorage.setItem('hookd.apiKey', 'revoked-key-revoked-key'));
  await page.getByRole('button', {name: 'New data source'}).click();
  await page.getByRole('heading', {name: 'Connect a data source'}).waitFor();
  await page.goto(`${hookd.url}/#/`);
  await expectText(page.locator('main'), 'The API key was refused');
  await env.shot('asked-again');
  await page.getByLabel('API key').fill(hookd.key);
  await page.getByRole('button', {name: 'Continue'}).click();
  await page.getByRole('heading', {name: 'Data sources', exact: true}).waitFor();

  // Forget API key asks for it again.
  await page.getByRole('button', {name: 'Forget API key'}).click();
  await page.getByRole('heading', {name: 'Enter your API key'}).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hookd.apiKey')), null);

  // A new browser session (another context) asks for it.
  const other = await env.browser.newContext();
  const p2 = await other.newPage();
  await p2.goto(`${hookd.url}/`);
  await p2.getByRole('heading', {name: 'Enter your API key'}).waitFor();
  await other.close();
  await env.finish();
});
