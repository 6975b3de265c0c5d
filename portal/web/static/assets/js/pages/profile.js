// Profile (name) and password. A password change ends every session of the
// user, this one's refresh token included, so the page logs in again with
// the new password at once instead of failing at the next refresh.

import { api, currentUser, login, setMe } from '../api.js';
import { h, field, input, formError, showError, clearErrors, busy, announce, time } from '../dom.js';

export async function profilePage(page) {
  const me = currentUser();
  const name = input({ name: 'name', autocomplete: 'name', value: me.name });
  const saveName = h('button', { type: 'submit' }, 'Save name');
  const saved = h('p.success-text', { role: 'status' });
  const profile = h('form.card', { novalidate: true, 'aria-labelledby': 'sec-profile' },
    h('h2#sec-profile', 'Profile'),
    formError(),
    h('dl.facts',
      h('div', h('dt', 'E-mail address'), h('dd', me.email)),
      h('div', h('dt', 'Role'), h('dd', me.role)),
      h('div', h('dt', 'Workspace quota'), h('dd', String(me.workspaceQuota))),
      h('div', h('dt', 'Member since'), h('dd', time(me.createdAt)))),
    field({ label: 'Name', path: 'name', control: name }),
    h('div.actions', saveName, saved));
  profile.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(profile);
    saved.textContent = '';
    try {
      const u = await busy(saveName, 'Saving…', () => api('PATCH', '/api/v1/me', { name: name.value }));
      setMe(u);
      name.value = u.name;
      saved.textContent = 'Saved.';
    } catch (err) {
      showError(profile, err);
    }
  });

  const current = input({ type: 'password', name: 'current_password', autocomplete: 'current-password' });
  const next = input({ type: 'password', name: 'new_password', autocomplete: 'new-password' });
  const change = h('button', { type: 'submit' }, 'Change password');
  const changed = h('p.success-text', { role: 'status' });
  const pw = h('form.card', { novalidate: true, 'aria-labelledby': 'sec-password' },
    h('h2#sec-password', 'Password'),
    formError(),
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: me.email, hidden: true, readonly: true }),
    field({ label: 'Current password', path: 'current_password', control: current }),
    field({ label: 'New password', path: 'new_password', control: next, hint: '10 to 72 characters with at least one letter and one digit. Other sessions are logged out.' }),
    h('div.actions', change, changed));
  pw.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(pw);
    changed.textContent = '';
    try {
      await busy(change, 'Changing…', async () => {
        await api('POST', '/api/v1/me/password', { current_password: current.value, new_password: next.value });
        await login(me.email, next.value);
      });
      current.value = '';
      next.value = '';
      changed.textContent = 'Password changed. Other sessions were logged out.';
      announce('Password changed');
    } catch (err) {
      showError(pw, err);
    }
  });

  page.append(h('h1', { tabindex: '-1' }, 'Your profile'), profile, pw);
  return { title: 'Profile' };
}
