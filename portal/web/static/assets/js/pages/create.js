// Create a workspace. The server validates (the same rules as the claim's
// schema), so the form does not guess: it sends what was typed and puts any
// error next to the field the API names. The form is never rebuilt on an
// error, and a draft is kept in sessionStorage, so neither an error nor an
// expired session (log in again, come back) loses what was typed.

import { api } from '../api.js';
import { h, field, input, select, formError, showError, clearErrors, busy, uid, announce } from '../dom.js';

const DRAFT = 'aichat.draft.create';
const PARAMETERS = ['num_ctx', 'num_predict', 'num_keep', 'temperature', 'top_k', 'top_p', 'min_p',
  'typical_p', 'repeat_penalty', 'repeat_last_n', 'presence_penalty', 'frequency_penalty', 'seed', 'stop'];
const MAX_PATTERNS = 8;

function loadDraft() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT) || 'null');
  } catch {
    return null;
  }
}

export async function createPage(page, ctx) {
  const draft = loadDraft() || {};
  const modelsList = h('datalist', { id: uid('models') });
  const patternsList = h('datalist', { id: uid('patterns') });
  const paramsList = h('datalist', { id: uid('params') }, PARAMETERS.map((p) => h('option', { value: p })));
  const patternNote = h('p.hint', { hidden: true });

  // --- basics
  const name = input({ name: 'name', required: true, value: draft.name || '', autocapitalize: 'none', spellcheck: 'false' });
  const size = select({ name: 'size' }, [['xsmall', 'Extra small'], ['small', 'Small (default)'], ['medium', 'Medium'], ['large', 'Large']], draft.size || 'small');

  // --- base models
  const modelRows = h('ol.rows');
  const modelsHint = h('p.hint', { id: uid('hint') }, 'Ollama model names such as llama3.2:1b or qwen2.5:0.5b. Leave empty for the platform’s default models.');
  const modelsError = h('p.field-error', { id: uid('err'), hidden: true });
  function syncModelList() {
    modelsList.replaceChildren(...[...modelRows.querySelectorAll('input')]
      .map((i) => i.value.trim()).filter(Boolean).map((v) => h('option', { value: v })));
  }
  function addModel(value = '', focus = false) {
    const i = input({ value, autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': modelsHint.id });
    const label = h('label', { for: (i.id = uid('model')) });
    const remove = h('button.secondary.small', { type: 'button' }, 'Remove');
    const err = h('p.field-error', { id: `${i.id}-error`, hidden: true });
    const row = h('li.row.field', label, h('div.inline', i, remove), err);
    remove.addEventListener('click', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      syncModelList();
      saveDraft();
      (next ? next.querySelector('input') : addModelButton).focus();
    });
    i.addEventListener('input', syncModelList);
    modelRows.append(row);
    renumber();
    if (focus) i.focus();
  }
  const addModelButton = h('button.secondary', { type: 'button', onclick: () => { addModel('', true); saveDraft(); } }, 'Add a model');

  // --- assistants
  const assistantList = h('div.assistants');
  const addAssistantButton = h('button.secondary', { type: 'button', onclick: () => { addAssistant({}, true); saveDraft(); } }, 'Add an assistant');

  function keyValueEditor(kind, rows, opts) {
    const list = h('ol.rows.kv');
    const err = h('p.field-error', { id: uid('err'), hidden: true });
    const add = h('button.secondary.small', { type: 'button' }, `Add a ${kind}`);
    function addRow([k, v] = ['', ''], focus = false) {
      const key = input({ value: k, class: 'kv-key', autocapitalize: 'none', spellcheck: 'false', list: opts.list || null });
      const val = input({ value: v, class: 'kv-value' });
      key.id = uid('k');
      val.id = uid('v');
      const remove = h('button.secondary.small', { type: 'button' }, 'Remove');
      const li = h('li.kv-row',
        h('div.field', h('label', { for: key.id }, opts.keyLabel), key),
        h('div.field', h('label', { for: val.id }, 'Value'), val),
        remove);
      remove.addEventListener('click', () => { li.remove(); saveDraft(); add.focus(); });
      list.append(li);
      if (focus) key.focus();
    }
    add.addEventListener('click', () => { addRow(undefined, true); saveDraft(); });
    for (const r of rows || []) addRow(r);
    const fs = h('fieldset.group', h('legend', opts.legend), h('p.hint', opts.hint), err, list, add);
    fs.read = () => Object.fromEntries([...list.children]
      .map((li) => [li.querySelector('.kv-key').value.trim(), li.querySelector('.kv-value').value])
      .filter(([k, v]) => k || v));
    fs.snapshot = () => [...list.children].map((li) => [li.querySelector('.kv-key').value, li.querySelector('.kv-value').value]);
    return fs;
  }

  function patternPicker(initial) {
    const chosen = h('ol.chips', { 'aria-label': 'Chosen patterns, in order' });
    const err = h('p.field-error', { id: uid('err'), hidden: true });
    const pick = input({ list: patternsList.id, autocapitalize: 'none', spellcheck: 'false', placeholder: 'e.g. summarize' });
    pick.id = uid('pick');
    const add = h('button.secondary.small', { type: 'button' }, 'Add pattern');
    const count = h('p.hint', { 'aria-live': 'polite' });
    function update() {
      const n = chosen.children.length;
      count.textContent = `${n} of ${MAX_PATTERNS} patterns chosen.`;
      add.disabled = n >= MAX_PATTERNS;
    }
    function chip(p) {
      const up = h('button.icon', { type: 'button', 'aria-label': `Move ${p} up`, title: 'Move up' }, '↑');
      const rm = h('button.icon', { type: 'button', 'aria-label': `Remove ${p}`, title: 'Remove' }, '×');
      const li = h('li.chip', { 'data-pattern': p }, h('span', p), up, rm);
      up.addEventListener('click', () => {
        if (li.previousElementSibling) {
          chosen.insertBefore(li, li.previousElementSibling);
          up.focus();
          announce(`${p} moved up`);
          saveDraft();
        }
      });
      rm.addEventListener('click', () => {
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        update();
        announce(`${p} removed`);
        saveDraft();
        (next ? next.querySelector('button.icon:last-child') : pick).focus();
      });
      return li;
    }
    function addPicked() {
      const p = pick.value.trim();
      if (!p) return;
      if ([...chosen.children].some((li) => li.dataset.pattern === p)) {
        announce(`${p} is already chosen`);
      } else if (chosen.children.length < MAX_PATTERNS) {
        chosen.append(chip(p));
        announce(`${p} added`);
      }
      pick.value = '';
      update();
      saveDraft();
      pick.focus();
    }
    add.addEventListener('click', addPicked);
    // Enter in the picker adds the pattern instead of submitting the form.
    // Implicit submission follows the keypress, which some input sources
    // (automation, some IMEs) send even when keydown was cancelled.
    pick.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        addPicked();
      }
    });
    pick.addEventListener('keypress', (e) => {
      if (e.key === 'Enter') e.preventDefault();
    });
    for (const p of initial || []) chosen.append(chip(p));
    update();
    const fs = h('fieldset.group.patterns',
      h('legend', 'Patterns'),
      h('p.hint', 'Fabric patterns whose prompts are joined, in this order, into the assistant’s system prompt (1 to 8).'),
      err,
      chosen,
      h('div.field', h('label', { for: pick.id }, 'Add a pattern'), h('div.inline', pick, add)),
      count);
    fs.read = () => [...chosen.children].map((li) => li.dataset.pattern);
    return fs;
  }

  function addAssistant(a, focus = false) {
    const legend = h('legend');
    const aname = input({ value: a.name || '', autocapitalize: 'none', spellcheck: 'false' });
    const from = input({ value: a.from || '', list: modelsList.id, autocapitalize: 'none', spellcheck: 'false' });
    const patterns = patternPicker(a.patterns);
    const vars = keyValueEditor('variable', a.variables, {
      legend: 'Variables', keyLabel: 'Name',
      hint: 'Values for {{placeholders}} in the patterns’ text.',
    });
    const params = keyValueEditor('parameter', a.parameters, {
      legend: 'Model parameters', keyLabel: 'Parameter', list: paramsList.id,
      hint: 'Ollama parameters such as temperature or num_ctx.',
    });
    const remove = h('button.secondary.small', { type: 'button' }, 'Remove this assistant');
    const fs = h('fieldset.assistant',
      legend,
      h('p.field-error', { id: uid('err'), hidden: true }),
      h('div.grid2',
        field({ label: 'Assistant name', control: aname, hint: 'Lower-case letters, digits and “-”; it must differ from the base models.' }),
        field({ label: 'Based on model', control: from, hint: 'One of the base models listed above.' })),
      patterns, vars, params,
      h('div.actions', remove));
    fs.parts = { aname, from, patterns, vars, params };
    remove.addEventListener('click', () => {
      fs.remove();
      renumber();
      saveDraft();
      addAssistantButton.focus();
    });
    assistantList.append(fs);
    renumber();
    if (focus) aname.focus();
  }

  // renumber keeps labels and the API field paths of repeated rows in step
  // with their positions, so models[1] or assistants[0].from find the row.
  function renumber() {
    [...modelRows.children].forEach((row, i) => {
      row.querySelector('label').textContent = `Model ${i + 1}`;
      row.querySelector('.inline button').setAttribute('aria-label', `Remove model ${i + 1}`);
    });
    [...assistantList.children].forEach((fs, i) => {
      fs.querySelector('legend').textContent = `Assistant ${i + 1}`;
      const p = `assistants[${i}]`;
      fs.dataset.field = p;
      fs.parts.aname.closest('.field').dataset.field = `${p}.name`;
      fs.parts.from.closest('.field').dataset.field = `${p}.from`;
      fs.parts.patterns.dataset.field = `${p}.patterns`;
      fs.parts.vars.dataset.field = `${p}.variables`;
      fs.parts.params.dataset.field = `${p}.parameters`;
    });
  }

  // --- scale to zero and advanced
  const stz = draft.scaleToZero || {};
  const stzOn = h('input', { type: 'checkbox', checked: stz.enabled !== false });
  const idle = input({ value: stz.idleAfter || '15m', inputmode: 'text', spellcheck: 'false' });
  const syncIdle = () => { idle.disabled = !stzOn.checked; };
  stzOn.addEventListener('change', syncIdle);
  syncIdle();
  const st = draft.storage || {};
  const smodels = input({ value: st.models || '', placeholder: '20Gi' });
  const sdata = input({ value: st.data || '', placeholder: '2Gi' });
  const sclass = input({ value: st.storageClassName || '', placeholder: 'cluster default', autocapitalize: 'none' });
  const pipelines = h('input', { type: 'checkbox', checked: !!(draft.pipelines && draft.pipelines.enabled) });
  const advanced = h('details.advanced', { open: !!(st.models || st.data || st.storageClassName || (draft.pipelines && draft.pipelines.enabled)) },
    h('summary', 'Storage and pipelines'),
    h('div.grid2',
      field({ label: 'Model storage', path: 'storage.models', control: smodels, hint: 'Size of the Ollama volume, 1Gi to 10Ti. Cannot be changed later.' }),
      field({ label: 'Data storage', path: 'storage.data', control: sdata, hint: 'Size of Open WebUI’s volume, 100Mi to 1Ti. May grow later.' })),
    field({ label: 'Storage class', path: 'storage.storageClassName', control: sclass, hint: 'Cannot be changed later.' }),
    field({ label: 'Add Open WebUI Pipelines', path: 'pipelines.enabled', control: pipelines }));

  const submit = h('button', { type: 'submit' }, 'Create workspace');
  const form = h('form.card.wide', { novalidate: true, 'aria-labelledby': 'create-title' },
    formError(),
    h('section', { 'aria-labelledby': 'sec-basics' },
      h('h2#sec-basics', 'Basics'),
      h('div.grid2',
        field({ label: 'Workspace name', path: 'name', control: name, hint: 'Lower-case letters, digits and “-”, up to 63 characters; starts and ends with a letter or digit.' }),
        field({ label: 'Size', path: 'size', control: size, hint: 'The platform sets CPU, memory and quota per size.' }))),
    h('section', { 'aria-labelledby': 'sec-models' },
      h('h2#sec-models', 'Models'),
      h('fieldset.group', { 'data-field': 'models' },
        h('legend', 'Base models'), modelsHint, modelsError, modelRows, addModelButton)),
    h('section', { 'aria-labelledby': 'sec-assistants' },
      h('h2#sec-assistants', 'Assistants'),
      h('div', { 'data-field': 'assistants' },
        h('p.hint', 'An assistant is a model built from a base model with a system prompt made of Fabric patterns.'),
        h('p.field-error', { id: uid('err'), hidden: true }),
        patternNote,
        assistantList, addAssistantButton)),
    h('section', { 'aria-labelledby': 'sec-sleep' },
      h('h2#sec-sleep', 'Scale to zero'),
      field({ label: 'Sleep when idle (frees resources; the next visit wakes it)', path: 'scaleToZero.enabled', control: stzOn }),
      field({ label: 'Idle time before sleeping', path: 'scaleToZero.idleAfter', control: idle, hint: 'A duration from 1m to 24h, such as 15m or 1h30m.' }),
      advanced),
    h('div.actions', submit, h('a.button.secondary', { href: '/workspaces', 'data-link': true }, 'Cancel')),
    modelsList, patternsList, paramsList);

  for (const m of draft.models && draft.models.length ? draft.models : ['']) addModel(m);
  syncModelList();
  for (const a of draft.assistants || []) addAssistant(a);

  function snapshot() {
    return {
      name: name.value, size: size.value,
      models: [...modelRows.querySelectorAll('input')].map((i) => i.value),
      assistants: [...assistantList.children].map((fs) => ({
        name: fs.parts.aname.value, from: fs.parts.from.value, patterns: fs.parts.patterns.read(),
        variables: fs.parts.vars.snapshot(), parameters: fs.parts.params.snapshot(),
      })),
      scaleToZero: { enabled: stzOn.checked, idleAfter: idle.value },
      storage: { models: smodels.value, data: sdata.value, storageClassName: sclass.value },
      pipelines: { enabled: pipelines.checked },
    };
  }
  function saveDraft() {
    sessionStorage.setItem(DRAFT, JSON.stringify(snapshot()));
  }
  form.addEventListener('input', saveDraft);
  form.addEventListener('change', saveDraft);

  // body builds the request. Empty model rows are skipped, so each row's
  // field path is set to the index it is sent under.
  function body() {
    const models = [];
    for (const row of modelRows.children) {
      const v = row.querySelector('input').value.trim();
      if (v) {
        row.dataset.field = `models[${models.length}]`;
        models.push(v);
      } else {
        delete row.dataset.field;
      }
    }
    const storage = {};
    if (smodels.value.trim()) storage.models = smodels.value.trim();
    if (sdata.value.trim()) storage.data = sdata.value.trim();
    if (sclass.value.trim()) storage.storageClassName = sclass.value.trim();
    const req = {
      name: name.value.trim(), size: size.value, models,
      assistants: [...assistantList.children].map((fs) => {
        const a = { name: fs.parts.aname.value.trim(), from: fs.parts.from.value.trim(), patterns: fs.parts.patterns.read() };
        const vars = fs.parts.vars.read();
        const params = fs.parts.params.read();
        if (Object.keys(vars).length) a.variables = vars;
        if (Object.keys(params).length) a.parameters = params;
        return a;
      }),
      scaleToZero: { enabled: stzOn.checked },
      storage,
      pipelines: { enabled: pipelines.checked },
    };
    if (stzOn.checked) req.scaleToZero.idleAfter = idle.value.trim();
    return req;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const req = body();
    try {
      const ws = await busy(submit, 'Creating…', () => api('POST', '/api/v1/workspaces', req));
      sessionStorage.removeItem(DRAFT);
      ctx.navigate(`/workspaces/${ws.name}`, { message: `Workspace ${ws.name} was created. It takes a few minutes to become ready.`, tone: 'success' });
    } catch (err) {
      if (ctx.signal.aborted) return;
      // Errors about storage fields live in the closed <details>: open it.
      if (err.field && /^(spec\.)?(storage|pipelines)/.test(err.field)) advanced.open = true;
      showError(form, err);
    }
  });

  // Element.append would write a null child as the text "null".
  page.append(...[
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '/workspaces', 'data-link': true }, 'My workspaces'), ' / New'),
    h('h1#create-title', { tabindex: '-1' }, 'New workspace'),
    draft.name || (draft.models || []).some(Boolean)
      ? h('p.notice.info', 'Your unsaved entries were restored. ',
        h('button.link', { type: 'button', onclick: () => { sessionStorage.removeItem(DRAFT); ctx.navigate('/workspaces/new', { replace: true }); } }, 'Start over'))
      : null,
    form].filter(Boolean));

  // The pattern catalogue fills the pickers' suggestions; without it any
  // name can still be typed.
  api('GET', '/api/v1/patterns').then((r) => {
    patternsList.replaceChildren(...(r.items || []).map((p) => h('option', { value: p })));
  }).catch((err) => {
    if (ctx.signal.aborted) return;
    patternNote.textContent = `Pattern suggestions are unavailable (${err.message}); type pattern names yourself.`;
    patternNote.hidden = false;
  });

  return { title: 'New workspace' };
}
