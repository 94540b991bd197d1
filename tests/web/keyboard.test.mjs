// Everything by keyboard: Tab reaches the main controls of each view, and
// whatever has focus shows it (a computed outline or box-shadow).

import assert from 'node:assert/strict';
import {test} from 'node:test';
import {setup, waitForLogs, activity, hookBody, TEST_TIMEOUT} from './lib.mjs';

// Presses Tab until every wanted name has had focus (or max presses),
// checking each focused element shows a focus style. Returns the names seen.
async function tabThrough(page, wanted, max = 80) {
  const seenNames = [];
  for (let i = 0; i < max && !wanted.every((w) => seenNames.includes(w)); i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const label = el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '';
      return {
        name: (el.getAttribute('aria-label') || label || el.textContent || '').trim().replace(/\s+/g, ' '),
        tag: el.tagName,
        outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0,
        shadow: cs.boxShadow !== 'none',
      };
    });
    if (!f) continue;
    assert.ok(f.outline || f.shadow, `focus is not visible on ${f.tag} "${f.name}"`);
    seenNames.push(f.name);
  }
  const missing = wanted.filter((w) => !seenNames.includes(w));
  assert.deepEqual(missing, [], `never reached by Tab (reached: ${JSON.stringify(seenNames)})`);
  return seenNames;
}

test('keyboard reaches the main controls, focus is visible', {timeout: TEST_TIMEOUT}, async (t) => {
  const env = await setup(t);
  const {page, hookd, receiver} = env;
  const wh = (await hookd.api('POST', '/api/v1/webhooks', hookBody(receiver, {name: 'Keys'}))).body;
  await hookd.api('POST', '/api/v1/activities', {activities: [activity(1)]});
  await waitForLogs(hookd, wh.id, (es) => es.some((e) => e.kind === 'activity' && e.state === 'succeeded'));

  // The key prompt, by keyboard only.
  await page.goto(`${hookd.url}/`);
  await page.getByLabel('API key').waitFor();
  await page.keyboard.type(hookd.key);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', {name: 'Data sources', exact: true}).waitFor();

  await tabThrough(page, ['Data sources', 'New data source', 'Search data sources', 'Keys']);
  await env.shot('focus-on-list');

  await page.goto(`${hookd.url}/#/new`);
  await page.getByLabel('Webhook name').waitFor();
  await tabThrough(page, ['Webhook name', 'Webhook URL', 'HTTP method', 'Send activity payload if relevant',
    'Add basic auth', 'Add header', 'contact_id', 'Add field', 'Search activities', 'Test', 'Create'], 300);

  await page.goto(`${hookd.url}/#/webhooks/${wh.id}`);
  await page.getByRole('heading', {name: 'Last 24 hours'}).waitFor();
  await tabThrough(page, ['Edit', 'Disconnect', 'Test', 'Delete', 'Overview', 'Show secret', 'Copy secret']);
  // Arrow keys move between the tabs; Enter opens a log entry.
  await page.getByRole('tab', {name: 'Overview'}).focus();
  await page.keyboard.press('ArrowRight');
  await page.locator('tr.entry').first().waitFor();
  assert.equal(await page.getByRole('tab', {name: 'Logs'}).getAttribute('aria-selected'), 'true');
  // The tools: the state filter, the recover window (a date-time input,
  // whose parts are tab stops of their own) and its button, then the live
  // toggle; the first entry's opener follows within a few stops.
  await tabThrough(page, ['State', 'Failed since', 'Retry all failed since…']);
  let opened = null;
  for (let i = 0; i < 4 && opened === null; i++) {
    await page.keyboard.press('Tab');
    opened = await page.evaluate(() => document.activeElement.getAttribute('aria-expanded'));
  }
  assert.equal(opened, 'false', 'a log entry\'s opener is next');
  await page.keyboard.press('Enter');
  await page.locator('tr.detail').waitFor();
  await env.shot('entry-opened-by-keyboard');
  await env.finish();
});
