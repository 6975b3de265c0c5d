// One workspace: open it, call its API, see every model and condition,
// delete it. Polls while the workspace is converging.

import { api } from '../api.js';
import { h, badge, time, copyButton, confirmDialog, announce, busy, uid } from '../dom.js';
import { state, asleep, models, apiBase } from '../status.js';
import { sessionTokens } from './tokens.js';

const FAST = 3000;
const SLOW = 30000;

const stateTone = { Ready: 'good', Running: 'info', Pending: 'warn', Failed: 'bad' };

// table labels every cell with its column, so on a phone the rows can
// stack as cards (CSS shows the label before each cell).
function table(caption, head, rows) {
  for (const tr of rows) [...tr.children].forEach((cell, i) => cell.setAttribute('data-label', head[i]));
  return h('div.table-wrap', { tabindex: '0', role: 'region', 'aria-label': caption },
    h('table.stack',
      h('caption.visually-hidden', caption),
      h('thead', h('tr', head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', rows)));
}

// snippet shows curl calls against the workspace's API, with a placeholder
// token or one created in this tab (secrets are shown once and never
// stored, so only those are known here).
function usage(ws) {
  const base = apiBase(ws);
  const model = (ws.spec.assistants && ws.spec.assistants[0] && ws.spec.assistants[0].name) ||
    (ws.spec.models && ws.spec.models[0]) || 'MODEL';
  const mine = sessionTokens().filter((t) => !t.workspace || t.workspace === ws.name);
  const pick = h('select', { id: uid('tok') },
    h('option', { value: '' }, 'Placeholder ($AICHAT_TOKEN)'),
    mine.map((t) => h('option', { value: t.token }, `${t.name} (${t.prefix}…)`)));
  const flavour = h('select', { id: uid('api') },
    h('option', { value: 'ollama' }, 'Ollama API'),
    h('option', { value: 'openai' }, 'OpenAI-compatible API'));
  const code = h('code');
  function text() {
    const tok = pick.value || '$AICHAT_TOKEN';
    if (flavour.value === 'openai') {
      return `curl ${base}/v1/chat/completions \\\n  -H "Authorization: Bearer ${tok}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`;
    }
    return `curl ${base}/api/chat \\\n  -H "Authorization: Bearer ${tok}" \\\n  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}], "stream": false}'`;
  }
  const render = () => { code.textContent = text(); };
  pick.addEventListener('change', render);
  flavour.addEventListener('change', render);
  render();
  return h('section.card', { 'aria-labelledby': 'sec-api' },
    h('h2#sec-api', 'API usage'),
    h('p', 'Call the models of this workspace with an API token. Base URL: ', h('code.url', base)),
    h('div.grid2',
      h('div.field', h('label', { for: flavour.id }, 'API'), flavour),
      h('div.field', h('label', { for: pick.id }, 'Token'), pick)),
    h('pre.snippet', { tabindex: '0', 'aria-label': 'Example request' }, code),
    h('div.actions', copyButton(text, 'Copy command'),
      h('a', { href: `/tokens?workspace=${encodeURIComponent(ws.name)}`, 'data-link': true }, 'Create an API token')));
}

export async function detailPage(page, ctx) {
  const name = ctx.params.name;
  const body = h('div');
  const error = h('div.notice.error', { role: 'alert', hidden: true });
  const heading = h('h1', { tabindex: '-1' }, name);
  page.append(
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '/workspaces', 'data-link': true }, 'My workspaces'), ` / ${name}`),
    heading, error, body);

  let timer = null;
  let lastLabel = null;
  let apiSection = null;
  let lastJSON = '';

  function overview(ws) {
    const s = state(ws);
    const a = asleep(ws);
    const [ready, total] = models(ws);
    const url = ws.status.url;
    return h('section.card.overview', { 'aria-labelledby': 'sec-overview' },
      h('h2#sec-overview.visually-hidden', 'Overview'),
      h('div.badges', badge(s.label, s.tone),
        a === true ? badge('Asleep (scaled to zero)', 'neutral') : a === false ? badge('Awake', 'info') : null),
      s.message ? h('p.ws-message', s.message) : null,
      h('dl.facts',
        h('div', h('dt', 'Size'), h('dd', ws.spec.size || 'small')),
        h('div', h('dt', 'Models ready'), h('dd.models-ready', total ? `${ready} of ${total}` : 'platform defaults')),
        h('div', h('dt', 'Scale to zero'), h('dd', ws.spec.scaleToZero && ws.spec.scaleToZero.enabled === false
          ? 'off' : `after ${(ws.spec.scaleToZero && ws.spec.scaleToZero.idleAfter) || '15m'} idle`)),
        h('div', h('dt', 'Namespace'), h('dd', ws.status.namespace || '—')),
        h('div', h('dt', 'Created'), h('dd', time(ws.createdAt)))),
      h('div.actions',
        url
          ? h('a.button', { href: url, target: '_blank', rel: 'noopener noreferrer', 'data-key': 'open' }, 'Open workspace', h('span.visually-hidden', ' (opens in a new tab)'))
          : h('p.muted', 'The workspace address appears here once it is set up.'),
        a === true ? h('p.hint', 'Opening it wakes the workspace; the first page can take a minute.') : null));
  }

  function modelTable(ws) {
    const rows = (ws.status.models || []).map((m) => h('tr',
      h('th', { scope: 'row' }, m.name),
      h('td', m.kind === 'assistant' ? 'Assistant' : 'Base model'),
      h('td', badge(m.state, stateTone[m.state] || 'neutral')),
      h('td', m.message || '')));
    if (!rows.length) {
      const wanted = [...(ws.spec.models || []).map((m) => [m, 'Base model']), ...(ws.spec.assistants || []).map((a) => [a.name, 'Assistant'])];
      for (const [n, k] of wanted) rows.push(h('tr', h('th', { scope: 'row' }, n), h('td', k), h('td', badge('Pending', 'warn')), h('td', 'not reported yet')));
    }
    if (!rows.length) return h('section.card', h('h2', 'Models'), h('p', 'This workspace uses the platform’s default models.'));
    return h('section.card', { 'aria-labelledby': 'sec-models' }, h('h2#sec-models', 'Models'),
      table('Model states', ['Model', 'Kind', 'State', 'Message'], rows));
  }

  function conditionTable(ws) {
    const conds = ws.status.conditions || [];
    const res = ws.status.resources || [];
    return h('section.card', { 'aria-labelledby': 'sec-conds' }, h('h2#sec-conds', 'Conditions'),
      conds.length
        ? table('Conditions', ['Type', 'Status', 'Reason', 'Message', 'Since'], conds.map((c) => h('tr',
          h('th', { scope: 'row' }, c.type), h('td', c.status), h('td', c.reason || ''), h('td', c.message || ''), h('td', time(c.lastTransitionTime)))))
        : h('p.muted', 'The platform has not reported on this workspace yet.'),
      res.length
        ? h('details', h('summary', { 'data-key': 'resources' }, `Resources (${res.filter((r) => r.ready).length} of ${res.length} ready)`),
          table('Composed resources', ['Kind', 'Name', 'Ready', 'Message'], res.map((r) => h('tr',
            h('td', r.kind), h('th', { scope: 'row' }, r.name), h('td', r.ready ? 'yes' : 'no'), h('td', r.message || '')))))
        : null);
  }

  function danger(ws) {
    const del = h('button.danger', { type: 'button', disabled: !!ws.deleting, 'data-key': 'delete' }, ws.deleting ? 'Being deleted…' : 'Delete workspace');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete ${ws.name}?`,
        body: ['This deletes the workspace, its chats and its downloaded models. It cannot be undone.'],
        confirm: 'Delete for good', danger: true, requireText: ws.name,
      });
      if (!ok) {
        del.focus();
        return;
      }
      try {
        await busy(del, 'Deleting…', () => api('DELETE', `/api/v1/workspaces/${encodeURIComponent(ws.name)}`));
        ctx.navigate('/workspaces', { message: `Workspace ${ws.name} is being deleted.`, tone: 'success' });
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        error.focus();
      }
    });
    return h('section.card.danger-zone', { 'aria-labelledby': 'sec-danger' }, h('h2#sec-danger', 'Delete'),
      h('p', 'Deleting removes everything in the workspace.'), del);
  }

  async function load() {
    timer = null;
    let ws;
    try {
      ws = await api('GET', `/api/v1/workspaces/${encodeURIComponent(name)}`);
      error.hidden = true;
    } catch (e) {
      if (ctx.signal.aborted || e.status === 401) return;
      if (e.status === 404) {
        body.replaceChildren(h('p', 'There is no workspace with this name (it may have been deleted). ',
          h('a', { href: '/workspaces', 'data-link': true }, 'Back to your workspaces'), '.'));
        return;
      }
      error.textContent = e.message;
      error.hidden = false;
      schedule(SLOW);
      return;
    }
    if (ctx.signal.aborted) return;
    ws.spec = ws.spec || {};
    ws.status = ws.status || {};
    const s = state(ws);
    if (lastLabel && lastLabel !== s.label) announce(`${name} is now ${s.label}`);
    lastLabel = s.label;
    // The API section keeps its own inputs (chosen token, flavour): build
    // it once and do not replace it on every poll.
    if (!apiSection) apiSection = usage(ws);
    // Re-render only on change, and then keep what the user was doing:
    // the focused control (by its data-key) and which details are open.
    const json = JSON.stringify(ws);
    if (json !== lastJSON) {
      lastJSON = json;
      const active = document.activeElement;
      const focusKey = active && body.contains(active) && !apiSection.contains(active) ? (active.dataset.key || 'heading') : null;
      const open = new Set([...body.querySelectorAll('details[open] > summary')].map((x) => x.dataset.key));
      body.replaceChildren(overview(ws), modelTable(ws), apiSection, conditionTable(ws), danger(ws));
      for (const sm of body.querySelectorAll('details > summary')) if (open.has(sm.dataset.key)) sm.parentElement.open = true;
      if (focusKey) (body.querySelector(`[data-key="${focusKey}"]`) || heading).focus();
    }
    schedule(s.settled ? SLOW : FAST);
  }

  function schedule(ms) {
    if (ctx.signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => { if (!document.hidden) load(); else schedule(ms); }, ms);
  }

  await load();
  return { title: name, cleanup: () => clearTimeout(timer) };
}
