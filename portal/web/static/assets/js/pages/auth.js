// Log in and sign up.

import { login, register } from '../api.js';
import { h, field, input, formError, showError, clearErrors, busy } from '../dom.js';

// safeNext keeps ?next= to this app's own paths, so a crafted link cannot
// send the user elsewhere after logging in.
function safeNext(q) {
  const n = q.get('next') || '';
  return /^\/[a-z]/.test(n) && !n.startsWith('//') ? n : '/workspaces';
}

export async function loginPage(page, ctx) {
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true, value: ctx.query.get('email') || '' });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form.card.narrow', { novalidate: true },
    formError(),
    field({ label: 'E-mail address', path: 'email', control: email }),
    field({ label: 'Password', path: 'password', control: password }),
    h('div.actions', submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      await busy(submit, 'Logging in…', () => login(email.value.trim(), password.value));
      ctx.navigate(safeNext(ctx.query), { replace: true });
    } catch (err) {
      // A wrong password names no field on purpose (it must not tell which
      // of the two was wrong); show it above the form and keep the e-mail.
      showError(form, err);
      if (!err.field) password.select();
    }
  });
  page.append(h('h1', { tabindex: '-1' }, 'Log in'), form,
    h('p.center', 'New here? ', h('a', { href: '/signup', 'data-link': true }, 'Create an account'), '.'));
  return { title: 'Log in' };
}

export async function signupPage(page, ctx) {
  const name = input({ name: 'name', autocomplete: 'name', required: true });
  const email = input({ type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = input({ type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 10 });
  const submit = h('button', { type: 'submit' }, 'Create account');
  const form = h('form.card.narrow', { novalidate: true },
    formError(),
    field({ label: 'Name', path: 'name', control: name }),
    field({ label: 'E-mail address', path: 'email', control: email }),
    field({ label: 'Password', path: 'password', control: password, hint: '10 to 72 characters with at least one letter and one digit.' }),
    h('div.actions', submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    try {
      await busy(submit, 'Creating account…', async () => {
        await register(email.value.trim(), password.value, name.value);
        await login(email.value.trim(), password.value);
      });
      ctx.navigate('/workspaces', { replace: true, message: 'Welcome! Your account is ready.', tone: 'success' });
    } catch (err) {
      showError(form, err);
    }
  });
  page.append(h('h1', { tabindex: '-1' }, 'Create an account'), form,
    h('p.center', 'Already have an account? ', h('a', { href: '/login', 'data-link': true }, 'Log in'), '.'));
  return { title: 'Sign up' };
}
