// api.js — the page's only way to hookd: JSON calls under /api/v1 with the
// session's API key. Every failure becomes one of three errors:
//   ApiError     hookd answered with an error ({"error":{code,message,field}})
//   Unreachable  no answer at all (hookd stopped, network down)
//   Aborted      the view that asked went away; nobody needs the answer
// A refused key (401) and an unreachable hookd also go to the handlers the
// app registers (onUnauthorized / onUnreachable), so every view gets the same
// plain message without handling it itself.

const BASE = '/api/v1';
const KEY_ITEM = 'hookd.apiKey';
// Webhooks asked for per list call: hookd answers up to 1000, 200 lets the
// first rows show while later pages load.
const WEBHOOK_PAGE = 200;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export class Unreachable extends Error {
  constructor() {
    super('hookd cannot be reached');
  }
}

export class Aborted extends Error {}

const handlers = {
  onUnauthorized: () => {},
  onUnreachable: () => {},
  onReachable: () => {},
};

// Registers the app's reactions to a refused key and to a lost connection.
export function setHandlers(h) {
  Object.assign(handlers, h);
}

// The key lives in sessionStorage: asked once per browser session (a tab and
// its reloads), gone when the tab closes.
export const apiKey = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

// One call. body undefined: none sent. opts.key: use this key instead of
// the stored one (to check a new key); opts.signal: an AbortSignal.
export async function request(method, path, body, opts = {}) {
  const key = opts.key ?? apiKey.get() ?? '';
  const init = {
    method,
    headers: {Authorization: `Bearer ${key}`, Accept: 'application/json'},
    cache: 'no-store',
    signal: opts.signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  let text;
  try {
    res = await fetch(BASE + path, init);
    text = await res.text();
  } catch (err) {
    if (err && err.name === 'AbortError') throw new Aborted();
    handlers.onUnreachable();
    throw new Unreachable();
  }
  handlers.onReachable();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
  const e = (data && data.error) || {};
  const error = new ApiError(res.status, e.code || `http_${res.status}`,
    e.message || `hookd answered ${res.status} ${res.statusText}`, e.field);
  if (res.status === 401 && opts.key === undefined) handlers.onUnauthorized();
  throw error;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

// Every webhook, page by page: calls onPage(webhooks) for each page in order
// and follows next_cursor until it is null or absent (an hookd without list
// paging answers everything at once, with no next_cursor).
export async function eachWebhookPage(onPage, opts = {}) {
  let cursor = null;
  const seen = new Set();
  do {
    const q = new URLSearchParams({limit: String(WEBHOOK_PAGE)});
    if (cursor) q.set('cursor', cursor);
    const page = await get(`/webhooks?${q}`, opts);
    if (onPage(page.webhooks || []) === false) return;
    cursor = page.next_cursor ?? null;
    // A cursor seen before would loop for ever: stop rather than hang.
    if (cursor !== null && seen.has(cursor)) throw new Error('the webhook list repeats a cursor');
    seen.add(cursor);
  } while (cursor);
}

export const webhookPath = (id) => `/webhooks/${encodeURIComponent(id)}`;

// What to show a person for an error a view caught, or null when the app
// shows it already (refused key, unreachable, view gone).
export function describe(err) {
  if (err instanceof Aborted || err instanceof Unreachable) return null;
  if (err instanceof ApiError) return err.status === 401 ? null : err.message;
  return String((err && err.message) || err);
}

// True for errors the app shows by itself (refused key, unreachable, aborted).
export function handledElsewhere(err) {
  return describe(err) === null;
}
