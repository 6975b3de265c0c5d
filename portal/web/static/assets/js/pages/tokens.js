// API tokens for the LLM gateway: create (the secret is shown once), list,
// revoke. Portals without the gateway answer 404 on /api/v1/tokens; the
// page then says so instead of offering a form that cannot work.

import { api } from '../api.js';
import { h, field, input, select, formError, showError, clearErrors, busy, date, copyButton, confirmDialog, announce, badge } from '../dom.js';

// Secrets created in this tab, kept in memory only (never in storage), so
// the workspace page can put one into its example request.
const created = [];

export function sessionTokens() {
  return created.slice();
}

function expiry(t) {
  if (t.revoked) return badge('Revoked', 'neutral');
  if (t.expires_at && new Date(t.expires_at) < new Date()) return badge('Expired', 'neutral');
  return badge('Active', 'good');
}

export async function tokensPage(page, ctx) {
  const heading = h('h1', { tabindex: '-1' }, 'API tokens');
  page.append(heading, h('p.lead', 'Tokens let programs call the models of your workspaces through the portal’s API gateway (Ollama and OpenAI-compatible APIs).'));

  let items;
  try {
    items = (await api('GET', '/api/v1/tokens')).items || [];
  } catch (e) {
    if (e.status === 404) {
      page.append(h('div.notice.info', { role: 'status' },
        h('p', h('strong', 'API tokens are not available on this portal.')),
        h('p', 'The portal’s LLM gateway is not enabled here, so there is nothing to create tokens for. Ask your platform team, or use your workspaces through their web address.')));
      return { title: 'API tokens' };
    }
    throw e;
  }

  let workspaces = [];
  try {
    workspaces = ((await api('GET', '/api/v1/workspaces')).items || []).map((w) => w.name).sort();
  } catch {
    // Without the cluster the token can still be for all workspaces.
  }
  const wanted = ctx.query.get('workspace') || '';

  const name = input({ name: 'name', required: true, placeholder: 'e.g. laptop scripts' });
  const ws = select({ name: 'workspace' }, [['', 'All my workspaces'], ...workspaces.map((w) => [w, w])], workspaces.includes(wanted) ? wanted : '');
  const days = input({ type: 'number', name: 'expires_in_days', min: '0', max: '3650', step: '1', value: '90', inputmode: 'numeric' });
  const submit = h('button', { type: 'submit' }, 'Create token');
  const secret = h('div.secret', { hidden: true, tabindex: '-1' });
  const form = h('form.card', { novalidate: true, 'aria-labelledby': 'sec-new' },
    h('h2#sec-new', 'New token'),
    formError(),
    h('div.grid3',
      field({ label: 'Name', path: 'name', control: name }),
      field({ label: 'Workspace', path: 'workspace', control: ws }),
      field({ label: 'Expires in (days)', path: 'expires_in_days', control: days, hint: '0 means never.' })),
    h('div.actions', submit));

  const tbody = h('tbody');
  const listSection = h('section.card', { 'aria-labelledby': 'sec-list' },
    h('h2#sec-list', 'Your tokens'),
    h('div.table-wrap', { tabindex: '0', role: 'region', 'aria-label': 'Your tokens' },
      h('table.stack',
        h('thead', h('tr', ['Name', 'Workspace', 'Token starts with', 'Created', 'Expires', 'Last used', 'Requests', 'Tokens in / out', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)))),
        tbody)));

  function renderList() {
    if (!items.length) {
      tbody.replaceChildren(h('tr', h('td', { colspan: '10' }, 'No tokens yet.')));
      return;
    }
    tbody.replaceChildren(...items.map((t) => {
      const revoke = h('button.danger.small', { type: 'button', disabled: !!t.revoked, 'aria-label': `Revoke ${t.name}` }, 'Revoke');
      revoke.addEventListener('click', async () => {
        const ok = await confirmDialog({
          title: `Revoke ${t.name}?`,
          body: ['Programs using this token stop working at once.'],
          confirm: 'Revoke token', danger: true,
        });
        if (!ok) {
          revoke.focus();
          return;
        }
        try {
          await api('DELETE', `/api/v1/tokens/${encodeURIComponent(t.id)}`);
          t.revoked = true;
          renderList();
          announce(`Token ${t.name} revoked`);
          heading.focus();
        } catch (e) {
          showError(form, e);
        }
      });
      const heads = ['Name', 'Workspace', 'Token starts with', 'Created', 'Expires', 'Last used', 'Requests', 'Tokens in / out', 'Status', ''];
      const tr = h('tr',
        h('th', { scope: 'row' }, t.name),
        h('td', t.workspace || 'all'),
        h('td', h('code', `${t.prefix}…`)),
        h('td', date(t.created_at)),
        h('td', t.expires_at ? date(t.expires_at) : 'never'),
        h('td', t.last_used_at ? date(t.last_used_at) : 'never'),
        h('td.num', String(t.requests || 0)),
        h('td.num', `${t.prompt_tokens || 0} / ${t.eval_tokens || 0}`),
        h('td', expiry(t)),
        h('td', t.revoked ? null : revoke));
      [...tr.children].forEach((c, i) => { if (heads[i]) c.setAttribute('data-label', heads[i]); });
      return tr;
    }));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const n = Number(days.value || '0');
    try {
      const t = await busy(submit, 'Creating…', () => api('POST', '/api/v1/tokens', {
        name: name.value.trim(), workspace: ws.value, expires_in_days: Number.isFinite(n) ? n : -1,
      }));
      created.push({ name: t.name, workspace: t.workspace, prefix: t.prefix, token: t.token });
      const code = h('code.token', t.token);
      secret.replaceChildren(
        h('h3', `Your new token “${t.name}”`),
        h('p', h('strong', 'Copy it now: it is shown only this once.'), ' Store it like a password.'),
        h('div.inline', code, copyButton(t.token, 'Copy token')),
        h('button.secondary.small', { type: 'button', onclick: () => { secret.hidden = true; secret.replaceChildren(); heading.focus(); } }, 'I have saved it'));
      secret.hidden = false;
      secret.focus();
      announce('Token created. Copy it now; it is shown only once.');
      name.value = '';
      items = [{ ...t, token: undefined, revoked: false, requests: 0, prompt_tokens: 0, eval_tokens: 0 }, ...items];
      renderList();
    } catch (err) {
      showError(form, err);
    }
  });

  renderList();
  page.append(secret, form, listSection);
  return { title: 'API tokens' };
}
