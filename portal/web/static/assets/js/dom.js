// DOM helpers. Everything is built from elements and text nodes: the page's
// CSP enforces Trusted Types, so an HTML string can never reach the DOM.

// h('tag.class#id', {attrs, onclick}, ...children) builds an element.
// Strings and numbers become text; null, undefined and false are skipped.
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    // Empty strings add nothing, so CSS :empty still matches.
    if (c === null || c === undefined || c === false || c === '') continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let seq = 0;
// uid makes element ids for label/aria wiring.
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix}-${seq}`;
}

// announce tells screen readers about something that happened without
// moving focus (status changes, saved, deleted).
export function announce(text) {
  const live = document.getElementById('announcer');
  if (!live) return;
  live.textContent = '';
  // A new text node after a tick is announced even when the text repeats.
  setTimeout(() => { live.textContent = text; }, 50);
}

// field builds a labelled control with a hint and an error slot. path is
// the API's field path (error.field) this control answers for.
export function field({ label, path, control, hint, className }) {
  const id = control.id || uid('in');
  control.id = id;
  const hintEl = hint ? h('p.hint', { id: `${id}-hint` }, hint) : null;
  const err = h('p.field-error', { id: `${id}-error`, hidden: true });
  const described = [hintEl && hintEl.id].filter(Boolean).join(' ');
  if (described) control.setAttribute('aria-describedby', described);
  const isCheck = control.type === 'checkbox' || control.type === 'radio';
  const lab = h('label', { for: id }, label);
  return h('div', { class: `field${isCheck ? ' check' : ''}${className ? ` ${className}` : ''}`, 'data-field': path },
    isCheck ? [control, lab] : [lab, control], hintEl, err);
}

// input is a text-like control.
export function input(attrs) {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

// select builds a <select> from [value, label] pairs.
export function select(attrs, options, current) {
  return h('select', attrs, options.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
}

// clearErrors removes every error shown on a form.
export function clearErrors(form) {
  for (const e of form.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
  for (const c of form.querySelectorAll('[aria-invalid]')) {
    c.removeAttribute('aria-invalid');
    const ids = (c.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.endsWith('-error'));
    if (ids.length) c.setAttribute('aria-describedby', ids.join(' '));
    else c.removeAttribute('aria-describedby');
  }
  const summary = form.querySelector('.form-error');
  if (summary) {
    summary.hidden = true;
    summary.replaceChildren();
  }
}

// normalizePath turns an API field path into the form's: the portal names
// spec fields without "spec." but the API server's own paths carry it.
export function normalizePath(p) {
  return (p || '').replace(/^spec\./, '').replace(/^metadata\.name$/, 'name');
}

// parentPath drops the last segment: a[0].b[1] -> a[0].b -> a[0] -> a.
export function parentPath(p) {
  const m = /^(.*?)(?:\[\d+\]|\.[^.[\]]+)$/.exec(p);
  return m ? m[1] : '';
}

// findField finds the control group for a path, or the nearest enclosing
// one: an error about assistants[0].patterns[3] lands on that assistant's
// pattern picker when there is no control for the single pattern.
export function findField(form, path) {
  for (let p = normalizePath(path); p; p = parentPath(p)) {
    const el = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return el;
  }
  return null;
}

// showError puts an API error next to the field it names (or at the top of
// the form when it names none) and moves focus there. The form's values are
// never touched.
export function showError(form, err) {
  clearErrors(form);
  const wrap = err.field ? findField(form, err.field) : null;
  const summary = form.querySelector('.form-error');
  if (wrap) {
    const slot = wrap.querySelector(':scope > .field-error, :scope > legend + .field-error, :scope > .group-head > .field-error');
    const control = wrap.matches('input,select,textarea,button') ? wrap : wrap.querySelector('input,select,textarea,button');
    if (slot) {
      slot.textContent = err.message;
      slot.hidden = false;
    }
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      if (slot) {
        const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        control.setAttribute('aria-describedby', [...ids, slot.id].join(' '));
      }
    }
    if (summary) {
      // The summary repeats the message for screen readers (role=alert)
      // and links to the field for keyboard users.
      summary.replaceChildren(
        h('p', 'Please fix: ', control && control.id
          ? h('a', { href: `#${control.id}`, onclick: (e) => { e.preventDefault(); control.focus(); } }, err.message)
          : err.message));
      summary.hidden = false;
    }
    (control || wrap).focus();
    return;
  }
  if (summary) {
    summary.replaceChildren(h('p', err.message));
    summary.hidden = false;
    summary.focus();
  }
}

// formError is the slot for messages that name no field.
export function formError() {
  return h('div.form-error', { role: 'alert', tabindex: '-1', hidden: true });
}

// busy disables a submit button while a request runs, so a double click
// does not send twice, and says so to assistive technology.
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

// copyButton copies text and confirms it in its own label and aloud.
export function copyButton(getText, label = 'Copy') {
  const b = h('button.secondary.small', { type: 'button' }, label);
  b.addEventListener('click', async () => {
    const text = typeof getText === 'function' ? getText() : getText;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      ok = false;
    }
    b.textContent = ok ? 'Copied' : 'Copy failed: select the text';
    announce(ok ? 'Copied to the clipboard' : 'Copying failed; select the text and copy it yourself');
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

// time formats an API timestamp for people, or a dash.
export function time(iso) {
  if (!iso || iso.startsWith('0001-')) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return h('time', { datetime: d.toISOString() }, d.toLocaleString());
}

// date is time() without the time of day, for narrow columns; the full
// moment stays in the title and datetime attribute.
export function date(iso) {
  const t = time(iso);
  if (typeof t === 'string') return t;
  const d = new Date(iso);
  t.textContent = d.toLocaleDateString();
  t.title = d.toLocaleString();
  return t;
}

// badge is a status pill; the text carries the meaning, the colour helps.
export function badge(text, tone) {
  return h(`span.badge.${tone}`, text);
}

// dialog asks to confirm with a native modal dialog (it traps focus and
// closes on Escape) and resolves true on confirm.
export function confirmDialog({ title, body, confirm, danger, requireText }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const typed = requireText ? input({ id: uid('confirm'), autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h(`button${danger ? '.danger' : ''}`, { type: 'submit', disabled: !!requireText }, confirm);
    const cancel = h('button.secondary', { type: 'button' }, 'Cancel');
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId }, title),
      body.map ? body.map((p) => h('p', p)) : h('p', body),
      typed ? field({ label: `Type ${requireText} to confirm`, control: typed, path: 'confirm' }) : null,
      h('div.actions', ok, cancel));
    const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
    if (typed) typed.addEventListener('input', () => { ok.disabled = typed.value.trim() !== requireText; });
    let result = false;
    form.addEventListener('submit', (e) => {
      if (ok.disabled) {
        e.preventDefault();
        return;
      }
      result = true;
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (typed || cancel).focus();
  });
}
