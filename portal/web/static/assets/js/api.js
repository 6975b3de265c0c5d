// The portal's JSON API and the session.
//
// Where the tokens live, and why:
// - the access token (15 min) only in memory, so no script that runs later
//   in another page can find it in storage;
// - the refresh token in sessionStorage, so a reload of the tab keeps the
//   login but closing the tab ends it, and other tabs never see it. The API
//   takes the refresh token in the request body (no cookie endpoint), and a
//   cookie would add CSRF defences for no gain here: the strict CSP (no
//   inline script, Trusted Types, connect-src 'self') is the XSS defence
//   either way.
// Refresh tokens rotate on every use and reusing one revokes the login, so
// concurrent requests that all meet a 401 share ONE refresh (refreshing).

const RT_KEY = 'aichat.refresh';

let access = null;
let me = null;
let refreshing = null;
const listeners = new Set();

// ApiError carries the API's {"error": {code, message, field}}.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// onSessionEnd registers fn(reason) for when the login ends by itself
// (refresh token expired or revoked); the router sends the user to log in.
export function onSessionEnd(fn) {
  listeners.add(fn);
}

export function currentUser() {
  return me;
}

export function hasSession() {
  return !!(access || sessionStorage.getItem(RT_KEY));
}

async function send(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'The portal cannot be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    const retry = res.headers.get('Retry-After');
    let msg = e.message || `The portal answered ${res.status} ${res.statusText}.`;
    if (res.status === 429 && retry && !/retry/i.test(msg)) msg += ` Try again in ${retry} s.`;
    throw new ApiError(res.status, e.code || `http_${res.status}`, msg, e.field);
  }
  return data;
}

function keep(pair) {
  told = false;
  access = pair.access_token;
  sessionStorage.setItem(RT_KEY, pair.refresh_token);
}

function drop() {
  access = null;
  me = null;
  sessionStorage.removeItem(RT_KEY);
}

// refresh trades the refresh token for a new pair, once at a time.
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const rt = sessionStorage.getItem(RT_KEY);
      if (!rt) return false;
      try {
        keep(await send('POST', '/api/v1/auth/refresh', { refresh_token: rt }));
        return true;
      } catch (e) {
        // A network failure is not the end of the login: keep the token.
        if (e.status === 0) throw e;
        drop();
        return false;
      }
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

// ended tells the app once per login: concurrent requests that all fail
// must not send the user to the login page twice (losing ?next=).
let told = false;

function ended(reason) {
  drop();
  if (told) return;
  told = true;
  for (const fn of listeners) fn(reason);
}

// api calls an authenticated endpoint. On a 401 it refreshes once and
// retries; if that fails the session has ended and the user must log in.
export async function api(method, path, body) {
  if (!access && !(await refresh())) {
    ended('Your session has ended. Please log in again.');
    throw new ApiError(401, 'unauthorized', 'Your session has ended. Please log in again.');
  }
  try {
    return await send(method, path, body, access);
  } catch (e) {
    if (e.status !== 401) throw e;
  }
  if (!(await refresh())) {
    ended('Your session has expired. Please log in again.');
    throw new ApiError(401, 'unauthorized', 'Your session has expired. Please log in again.');
  }
  try {
    return await send(method, path, body, access);
  } catch (e) {
    if (e.status === 401) ended('Your session has ended. Please log in again.');
    throw e;
  }
}

export async function login(email, password) {
  keep(await send('POST', '/api/v1/auth/login', { email, password }));
  return loadMe();
}

export async function register(email, password, name) {
  return send('POST', '/api/v1/auth/register', { email, password, name });
}

export async function logout() {
  const rt = sessionStorage.getItem(RT_KEY);
  drop();
  if (rt) {
    try {
      await send('POST', '/api/v1/auth/logout', { refresh_token: rt });
    } catch {
      // The token is gone from this tab either way; the server expires it.
    }
  }
}

// loadMe fetches the user (resuming a session after a reload if needed).
export async function loadMe() {
  me = await api('GET', '/api/v1/me');
  return me;
}

export function setMe(u) {
  me = u;
}
