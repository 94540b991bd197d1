// parts.js — small pieces of UI that several views show the same way:
// the Connected badge, a delivery state's badge, and a test send's outcome.

import {h, prettyJson, replace} from './dom.js';

export function connectedBadge(connected) {
  return h('span', {class: connected ? 'badge ok' : 'badge off',
    text: connected ? 'Connected' : 'Disconnected'});
}

export const STATES = ['pending', 'retrying', 'succeeded', 'failed', 'held', 'cancelled'];

export function stateBadge(state) {
  const known = STATES.includes(state);
  return h('span', {class: known ? `badge state-${state}` : 'badge',
    text: state ? state[0].toUpperCase() + state.slice(1) : '—'});
}

// Fills box with the outcome of a test send:
// {ok, status_code, response_body, duration_ms, error}.
export function showTestResult(box, r) {
  box.hidden = false;
  box.className = `result ${r.ok ? 'ok' : 'bad'}`;
  const facts = [];
  facts.push(r.status_code != null ? `Status code ${r.status_code}` : 'No answer');
  if (r.duration_ms != null) facts.push(`${r.duration_ms} ms`);
  replace(box,
    h('h3', {text: r.ok ? 'Test succeeded' : 'Test failed'}),
    h('p', {class: 'test-status', text: facts.join(' · ')}),
    r.error ? h('p', {class: 'test-error', text: `Error: ${r.error}`}) : null,
    r.response_body ? [h('p', {class: 'label', text: 'Response body'}),
      h('pre', {class: 'code', tabindex: '0', text: prettyJson(r.response_body)})] : null);
  box.scrollIntoView({block: 'nearest'});
}

// Fills box with a message for a test that could not be run at all.
export function showTestError(box, message) {
  box.hidden = false;
  box.className = 'result bad';
  replace(box, h('h3', {text: 'Test could not run'}), h('p', {text: message}));
  box.scrollIntoView({block: 'nearest'});
}
