// The app shell: a small history-API router, the navigation and the
// session start-up. Each page module exports a function that renders into a
// fresh element and may return a cleanup (for polling timers).

import { currentUser, hasSession, loadMe, logout, onSessionEnd } from './api.js';
import { h, announce } from './dom.js';
import { loginPage, signupPage } from './pages/auth.js';
import { listPage } from './pages/list.js';
import { createPage } from './pages/create.js';
import { detailPage } from './pages/detail.js';
import { profilePage } from './pages/profile.js';
import { tokensPage } from './pages/tokens.js';
import { adminPage } from './pages/admin.js';

const routes = [
  { re: /^\/login$/, page: loginPage, public: true },
  { re: /^\/signup$/, page: signupPage, public: true },
  { re: /^\/workspaces$/, page: listPage },
  { re: /^\/workspaces\/new$/, page: createPage },
  { re: /^\/workspaces\/([a-z0-9-]+)$/, page: detailPage, params: ['name'] },
  { re: /^\/profile$/, page: profilePage },
  { re: /^\/tokens$/, page: tokensPage },
  { re: /^\/admin$/, page: adminPage, admin: true },
];

let cleanup = null;
let controller = null;
let flash = null;
let first = true;

// navigate changes the page without reloading. message is shown (and
// announced) on the next page, e.g. "Workspace deleted".
export function navigate(to, { replace = false, message = null, tone = 'info' } = {}) {
  if (message) flash = { message, tone };
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render();
}

function notFound(main) {
  main.append(h('h1', { tabindex: '-1' }, 'Page not found'),
    h('p', 'There is no page at this address. ', h('a', { href: '/workspaces', 'data-link': true }, 'Go to your workspaces'), '.'));
  return { title: 'Not found' };
}

function renderNav() {
  const nav = document.getElementById('nav');
  const me = currentUser();
  const path = location.pathname;
  const link = (href, text) => h('li', h('a', {
    href, 'data-link': true,
    'aria-current': path === href || (href !== '/' && path.startsWith(`${href}/`)) ? 'page' : null,
  }, text));
  if (!me) {
    nav.replaceChildren(h('ul', link('/login', 'Log in'), link('/signup', 'Sign up')));
    return;
  }
  nav.replaceChildren(h('ul',
    link('/workspaces', 'Workspaces'),
    link('/tokens', 'API tokens'),
    link('/profile', 'Profile'),
    me.role === 'admin' ? link('/admin', 'Admin') : null,
    h('li', h('button.link', {
      type: 'button',
      onclick: async () => {
        await logout();
        navigate('/login', { message: 'You are logged out.' });
      },
    }, 'Log out'))));
}

async function render() {
  if (cleanup) cleanup();
  if (controller) controller.abort();
  cleanup = null;
  controller = new AbortController();
  const { signal } = controller;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const main = document.getElementById('main');

  if (path === '/') {
    history.replaceState(null, '', hasSession() ? '/workspaces' : '/login');
    render();
    return;
  }
  let route = null;
  let params = {};
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) {
      route = r;
      params = Object.fromEntries((r.params || []).map((p, i) => [p, decodeURIComponent(m[i + 1])]));
      break;
    }
  }
  if (route && !route.public) {
    if (!currentUser()) {
      if (!hasSession()) {
        navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
        return;
      }
      try {
        await loadMe();
      } catch {
        // A failed resume ends the session; onSessionEnd has redirected.
        if (!currentUser()) return;
      }
      if (signal.aborted) return;
    }
    if (route.admin && currentUser().role !== 'admin') route = null;
  }
  if (route && route.public && currentUser() && path !== '/signup') {
    navigate('/workspaces', { replace: true });
    return;
  }
  renderNav();

  // aria-busy tells assistive technology (and tests) that the old page is
  // being replaced; data-route says which address the shown page is for.
  main.setAttribute('aria-busy', 'true');
  const page = h('div.page');
  if (flash) {
    page.append(h(`div.notice.${flash.tone}`, { role: 'status' }, flash.message));
    announce(flash.message);
    flash = null;
  }
  const ctx = {
    params, signal, navigate,
    query: new URLSearchParams(location.search),
  };
  let out;
  try {
    out = route ? await route.page(page, ctx) : notFound(page);
  } catch (e) {
    if (signal.aborted) return;
    page.append(h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p.notice.error', { role: 'alert' }, e.message));
    out = { title: 'Error' };
  }
  if (signal.aborted) return;
  main.replaceChildren(page);
  main.dataset.route = location.pathname + location.search;
  main.removeAttribute('aria-busy');
  cleanup = (out && out.cleanup) || null;
  document.title = `${(out && out.title) || 'AIChat'} · AIChat Workspaces`;
  // After a navigation, focus the heading so screen readers announce the
  // new page and keyboard users start from its top. Not on first load:
  // there the browser's own start is right.
  const heading = main.querySelector('h1');
  if (!first && heading) heading.focus();
  first = false;
}

// Same-origin links marked data-link navigate in place; modified clicks
// (new tab, download) keep the browser's behaviour.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

onSessionEnd((reason) => {
  const here = location.pathname + location.search;
  const next = here.startsWith('/login') || here.startsWith('/signup') ? '' : `?next=${encodeURIComponent(here)}`;
  navigate(`/login${next}`, { replace: true, message: reason, tone: 'warn' });
});

render();
