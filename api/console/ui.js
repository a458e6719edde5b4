// Building blocks of the console's views: elements, errors in the API's words, empty states,
// confirmations, forms, times. Everything is built as DOM nodes (never innerHTML from data).

// h makes an element: h('button.primary', {type: 'submit', onclick}, 'Save', child...).
// Attributes: on* are listeners, "class", "dataset", booleans set properties, anything else
// setAttribute. Children: strings, nodes, arrays, null.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag || 'div');
  if (classes.length) e.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className += (e.className ? ' ' : '') + v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden' || k === 'required' || k === 'multiple') e[k] = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : String(c));
  }
}

// announce tells assistive technology what just happened (a polite live region).
export function announce(text) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = '';
  setTimeout(() => { s.textContent = text; }, 30);
}

// errorBox shows an API error as the API said it: code, title and HTTP status.
export function errorBox(err, what) {
  const errs = err && err.errors ? err.errors : [{ code: 'error', title: String(err && err.message ? err.message : err) }];
  return h('div.error', { role: 'alert' },
    h('strong', what ? `${what} failed` : 'The request failed'),
    err && err.status ? h('span.status', ` (HTTP ${err.status})`) : null,
    h('ul', errs.map((e) => h('li', h('code', e.code), ' ', e.title))));
}

// showError puts errorBox(err) in slot (replacing what it held) and returns err.
export function showError(slot, err, what) {
  if (err && err.name === 'AbortError') return err;
  slot.replaceChildren(errorBox(err, what));
  announce(`${what || 'Request'} failed: ${err && err.title ? err.title : err}`);
  return err;
}

// empty is an empty state: what is missing and what to do next.
export function empty(title, ...next) {
  return h('div.empty', h('p.empty-title', title), ...next.map((n) => (typeof n === 'string' ? h('p', n) : n)));
}

export function loading(text = 'Loading…') {
  return h('p.loading', { role: 'status' }, text);
}

// field is a labelled control: field('Display name', input, 'hint').
let fieldSeq = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute('aria-describedby', hid);
    parts.push(h('p.hint', { id: hid }, hint));
  }
  return h('div.field', parts);
}

export function checkbox(label, checked, attrs = {}) {
  const input = h('input', { type: 'checkbox', checked, ...attrs });
  return h('label.check', input, ` ${label}`);
}

// busy disables a button while promise runs.
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = was;
    button.removeAttribute('aria-busy');
  }
}

// confirm asks a question in a modal dialog and resolves true when the user confirms.
// opts: title, body (nodes), confirm (the button's text), danger.
export function confirm(opts) {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const ok = h(`button.${opts.danger ? 'danger' : 'primary'}`, { type: 'submit' }, opts.confirm || 'Confirm');
    const titleId = `dlg${++fieldSeq}`;
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId }, opts.title),
      h('div.dialog-body', opts.body || []),
      h('div.actions', cancel, ok));
    const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
    let answer = false;
    cancel.addEventListener('click', () => dlg.close());
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      answer = true;
      dlg.close();
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(answer);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// time formats an API time for people, in a <time> element.
export function time(iso, withSeconds) {
  if (!iso) return h('span.muted', '—');
  const d = new Date(iso);
  const text = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: withSeconds ? '2-digit' : undefined });
  return h('time', { datetime: iso, title: iso }, text);
}

export function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

// copyButton copies text to the clipboard.
export function copyButton(text, label = 'Copy') {
  const b = h('button.small', { type: 'button' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
      announce('Copied to the clipboard');
    } catch {
      b.textContent = 'Select and copy';
    }
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}

// json shows a value as indented JSON.
export function json(v) {
  return h('pre.json', JSON.stringify(v, null, 2));
}

// dl is a definition list of [term, value] pairs (values may be nodes); empty values are skipped.
export function dl(pairs) {
  return h('dl.props', pairs.filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [h('dt', k), h('dd', v)]));
}

// section is a titled panel.
export function section(title, ...children) {
  const id = `s${++fieldSeq}`;
  return h('section.panel', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

// userName is a user's name for people: given name and surname, else externalId, else id.
export function userName(u) {
  if (!u) return '';
  const p = u.profile || u;
  const n = [p.givenName, p.surname].filter(Boolean).join(' ');
  return n || u.externalId || u.userExternalId || u.id || u.userId || '';
}
