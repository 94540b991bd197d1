// The page fetches nothing from anywhere but hookd: every request of a
// load and of a walk through every view goes to hookd's own origin, and
// the browser reports no Content-Security-Policy violation.

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, signIn, hookBody, TEST_TIMEOUT} from './lib.mjs';

test('no request leaves hookd\'s origin', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver, seen} = env;
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const wh = (await hookd.api('POST', '/api/v1/webhooks', hookBody(receiver, {name: 'Origin check'}))).body;

  const response = await page.goto(`${hookd.url}/`);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await signIn(page, hookd);
  for (const hash of ['#/', '#/connect', '#/new', `#/webhooks/${wh.id}`, `#/webhooks/${wh.id}/logs`,
    `#/webhooks/${wh.id}/edit`]) {
    await page.goto(`${hookd.url}/${hash}`);
    await page.getByRole('heading', {level: 1}).first().waitFor();
    await page.waitForLoadState('networkidle');
  }
  await page.reload();
  await page.waitForLoadState('networkidle');

  assert.ok(seen.requests.length > 10, 'requests were recorded');
  const origin = new URL(hookd.url).origin;
  const outside = seen.requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(outside, [], 'requests to another origin');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'CSP violations');
  await env.finish();
});
