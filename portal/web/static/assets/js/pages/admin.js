// Admin: users (role and workspace quota) and every workspace.

import { api, currentUser } from '../api.js';
import { h, field, input, select, formError, showError, clearErrors, busy, badge, time } from '../dom.js';
import { state, models } from '../status.js';

const PAGE = 50;

function userForm(u) {
  const self = u.id === currentUser().id;
  const role = select({ name: 'role', disabled: self }, [['user', 'User'], ['admin', 'Admin']], u.role);
  const quota = input({ type: 'number', name: 'workspaceQuota', min: '0', max: '1000', inputmode: 'numeric', value: String(u.workspaceQuota) });
  const save = h('button.small', { type: 'submit' }, 'Save');
  const done = h('span.success-text', { role: 'status' });
  const form = h('form.user-row', { novalidate: true, 'aria-label': `User ${u.email}` },
    h('div.who', h('strong', u.email), h('span.muted', ` ${u.name}`), self ? h('span.muted', ' (you)') : null,
      h('div.muted.small-text', 'Since ', time(u.createdAt))),
    field({ label: 'Role', path: 'role', control: role, hint: self ? 'You cannot demote yourself.' : null }),
    field({ label: 'Workspace quota', path: 'workspaceQuota', control: quota }),
    h('div.actions', save, done),
    formError());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    done.textContent = '';
    const body = { workspaceQuota: quota.value.trim() === '' ? null : Number(quota.value) };
    if (!self) body.role = role.value;
    try {
      const got = await busy(save, 'Saving…', () => api('PATCH', `/api/v1/admin/users/${u.id}`, body));
      quota.value = String(got.workspaceQuota);
      done.textContent = 'Saved.';
    } catch (err) {
      showError(form, err);
    }
  });
  return h('li', form);
}

export async function adminPage(page, ctx) {
  let offset = Number(ctx.query.get('offset') || '0') || 0;
  const users = h('ul.user-list');
  const pager = h('div.actions');
  const wsBody = h('tbody');
  page.append(h('h1', { tabindex: '-1' }, 'Administration'),
    h('section.card', { 'aria-labelledby': 'sec-users' },
      h('h2#sec-users', 'Users'),
      h('p.hint', 'An empty quota falls back to the portal’s default. Role changes apply to admin pages at once and elsewhere at the user’s next token refresh.'),
      users, pager),
    h('section.card', { 'aria-labelledby': 'sec-all' },
      h('h2#sec-all', 'All workspaces'),
      h('div.table-wrap', { tabindex: '0', role: 'region', 'aria-label': 'All workspaces' },
        h('table', h('thead', h('tr', ['Name', 'Owner id', 'Namespace', 'State', 'Models ready', 'Created'].map((c) => h('th', { scope: 'col' }, c)))), wsBody))));

  async function loadUsers() {
    const r = await api('GET', `/api/v1/admin/users?limit=${PAGE}&offset=${offset}`);
    users.replaceChildren(...r.items.map(userForm));
    const prev = h('button.secondary.small', { type: 'button', disabled: offset === 0 }, 'Previous page');
    const next = h('button.secondary.small', { type: 'button', disabled: offset + PAGE >= r.total }, 'Next page');
    prev.addEventListener('click', () => ctx.navigate(`/admin?offset=${Math.max(0, offset - PAGE)}`));
    next.addEventListener('click', () => ctx.navigate(`/admin?offset=${offset + PAGE}`));
    pager.replaceChildren(h('p.muted', `Users ${r.total ? offset + 1 : 0}–${offset + r.items.length} of ${r.total}`), prev, next);
  }

  async function loadWorkspaces() {
    try {
      const r = await api('GET', '/api/v1/admin/workspaces');
      const items = (r.items || []).sort((a, b) => a.name.localeCompare(b.name));
      wsBody.replaceChildren(...(items.length ? items.map((w) => {
        const s = state(w);
        const [ready, total] = models(w);
        return h('tr', h('th', { scope: 'row' }, w.name), h('td', w.ownerId || '—'), h('td', w.namespace),
          h('td', badge(s.label, s.tone)), h('td', total ? `${ready} of ${total}` : '—'), h('td', time(w.createdAt)));
      }) : [h('tr', h('td', { colspan: '6' }, 'No workspaces.'))]));
    } catch (e) {
      if (e.status === 401) return;
      wsBody.replaceChildren(h('tr', h('td', { colspan: '6' }, e.message)));
    }
  }

  await Promise.all([loadUsers(), loadWorkspaces()]);
  return { title: 'Administration' };
}
