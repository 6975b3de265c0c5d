// My workspaces, with live status: polled every few seconds while any
// workspace is still converging, slowly once all are settled (to notice
// scale-to-zero), and not at all while the tab is hidden.

import { api } from '../api.js';
import { h, badge, announce } from '../dom.js';
import { state, asleep, models } from '../status.js';

const FAST = 3000;
const SLOW = 30000;

function sleepBadge(ws) {
  const a = asleep(ws);
  if (a === true) return badge('Asleep (scaled to zero)', 'neutral');
  if (a === false) return badge('Awake', 'info');
  return null;
}

function card(ws) {
  const s = state(ws);
  const [ready, total] = models(ws);
  const url = ws.status && ws.status.url;
  return h('li.ws-card', { 'data-name': ws.name },
    h('div.ws-head',
      h('h2', h('a', { href: `/workspaces/${ws.name}`, 'data-link': true }, ws.name)),
      h('div.badges', badge(s.label, s.tone), sleepBadge(ws))),
    h('dl.facts',
      h('div', h('dt', 'Size'), h('dd', (ws.spec && ws.spec.size) || 'small')),
      h('div', h('dt', 'Models ready'), h('dd.models-ready', total ? `${ready} of ${total}` : 'platform defaults')),
      h('div', h('dt', 'Address'), h('dd', url
        ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url, h('span.visually-hidden', ' (opens in a new tab)'))
        : h('span.muted', 'not yet available')))),
    s.message && !s.settled ? h('p.ws-message', s.message) : null);
}

export async function listPage(page, ctx) {
  const live = h('p.muted.updated', { 'aria-live': 'off' });
  const list = h('ul.ws-list', { 'aria-label': 'Your workspaces' });
  const error = h('div.notice.error', { role: 'alert', hidden: true });
  const empty = h('div.empty', { hidden: true },
    h('p', 'You have no workspaces yet.'),
    h('a.button', { href: '/workspaces/new', 'data-link': true }, 'Create your first workspace'));
  page.append(
    h('div.page-head',
      h('h1', { tabindex: '-1' }, 'My workspaces'),
      h('a.button', { href: '/workspaces/new', 'data-link': true }, 'New workspace')),
    error, empty, list, live);

  let timer = null;
  let last = new Map();
  let firstLoad = true;
  let lastJSON = '';

  async function load() {
    timer = null;
    let items;
    try {
      items = (await api('GET', '/api/v1/workspaces')).items || [];
      error.hidden = true;
    } catch (e) {
      if (ctx.signal.aborted || e.status === 401) return;
      error.textContent = e.message;
      error.hidden = false;
      schedule(SLOW);
      return;
    }
    if (ctx.signal.aborted) return;
    items.sort((a, b) => a.name.localeCompare(b.name));
    // Replace the cards only when something changed, and keep the focus
    // on the same workspace's link, so polling never moves a keyboard user.
    const json = JSON.stringify(items);
    if (json !== lastJSON) {
      lastJSON = json;
      const active = document.activeElement;
      const focused = active && list.contains(active) ? active.closest('li[data-name]') : null;
      list.replaceChildren(...items.map(card));
      if (focused) {
        const again = list.querySelector(`li[data-name="${CSS.escape(focused.dataset.name)}"] h2 a`);
        if (again) again.focus();
      }
    }
    empty.hidden = items.length > 0;
    // Announce changes, not every poll: only a workspace whose state
    // label changed since the last answer.
    const now = new Map(items.map((w) => [w.name, state(w).label]));
    if (!firstLoad) {
      const changed = [...now].filter(([n, l]) => last.has(n) && last.get(n) !== l);
      if (changed.length) announce(changed.map(([n, l]) => `${n} is now ${l}`).join('. '));
    }
    last = now;
    firstLoad = false;
    live.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    schedule(items.every((w) => state(w).settled) ? SLOW : FAST);
  }

  function schedule(ms) {
    if (ctx.signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => { if (!document.hidden) load(); else schedule(ms); }, ms);
  }

  const onVisible = () => { if (!document.hidden) load(); };
  document.addEventListener('visibilitychange', onVisible);
  await load();
  return {
    title: 'My workspaces',
    cleanup: () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
