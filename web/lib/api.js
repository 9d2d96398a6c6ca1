// api.js -- the public JSON API, with the session cookie and its CSRF token.
//
// Every call goes to /v1/...; the browser sends the HttpOnly session cookie itself, and
// every request that changes something carries X-CSRF-Token (from the sign-in answer or
// GET /v1/session).  Errors arrive as problem+json and become an ApiError with the
// status, the registered code, the field and the detail.

let csrf = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || null;
    this.field = problem.field || null;
    this.problem = problem;
  }
}

export function setCsrf(token) { csrf = token; }
export function whenSignedOut(fn) { onSignedOut = fn; }

// api(method, path, body?, {headers, raw}) -> parsed JSON (or the Response with raw).
export async function api(method, path, body, opts = {}) {
  const headers = {Accept: 'application/json', ...(opts.headers || {})};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {method, headers, credentials: 'same-origin',
                             body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, {detail: 'Transom cannot be reached: check your connection.'});
  }
  if (opts.raw) return res;
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const err = new ApiError(res.status, data && typeof data === 'object' ? data : {detail: String(data || '')});
    if (res.status === 401 && !opts.quiet) onSignedOut(err);
    throw err;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

// A query string from an object, leaving out empty values.
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
