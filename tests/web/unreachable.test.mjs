// hookd gone: the page says so plainly instead of failing quietly.

import {test} from 'node:test';
import {setup, signIn, expectText, TEST_TIMEOUT, hookBody} from './lib.mjs';

test('hookd unreachable is said clearly', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  await hookd.api('POST', '/api/v1/webhooks', hookBody(receiver, {name: 'Soon offline'}));
  await signIn(page, hookd);
  await page.getByRole('link', {name: 'Soon offline'}).waitFor();

  await hookd.stop(); // SIGTERM, exit status 0 checked
  await page.getByRole('link', {name: 'Soon offline'}).click();
  const banner = page.getByRole('alert').filter({hasText: 'hookd cannot be reached'});
  await banner.waitFor();
  await expectText(banner, 'Check that it is running');
  await page.getByRole('button', {name: 'Try again'}).waitFor();
  await env.shot('unreachable');

  // Trying again while it is still down keeps saying so.
  await page.getByRole('button', {name: 'Try again'}).click();
  await banner.waitFor();
  // The refused connections are what this test provokes.
  await env.finish({allowConsole: [/ERR_CONNECTION_REFUSED/]});
});
