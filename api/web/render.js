// Rendering of messages: every content type of the spec (text, image, file, location, carousel,
// list, form, formResponse, template) and every action type (link, webview, postback, reply,
// locationRequest, buy). Each message is an <article> holding its text, so that assistive
// technology and browser tests find it by role; every action is a button or a link named by its
// text.

import { link, richText } from './richtext.js';

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
};

// img makes an image that hides itself when it cannot be loaded (an avatar on a host the
// browser cannot reach), rather than showing a broken picture.
function img(cls, src, alt, placeholder) {
  const i = el('img', cls);
  i.addEventListener('error', () => {
    if (!placeholder) {
      i.hidden = true;
      return;
    }
    const p = el('div', `${cls} placeholder`);
    if (alt) {
      p.setAttribute('role', 'img');
      p.setAttribute('aria-label', alt);
    }
    i.replaceWith(p);
  });
  i.src = src;
  i.alt = alt || '';
  return i;
}

const safeUrl = (u) => {
  if (typeof u !== 'string' || !u) return null;
  try {
    const url = new URL(u, document.baseURI);
    return ['http:', 'https:', 'blob:', 'data:'].includes(url.protocol) ? url.toString() : null;
  } catch {
    return null;
  }
};

function formatSize(n) {
  if (!n) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatPrice(amount, currency) {
  const cur = (currency || 'usd').toUpperCase();
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: cur }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${cur}`;
  }
}

// action renders one action as a button or a link. handlers: { postback, locationRequest, buy }.
export function action(a, message, handlers) {
  switch (a.type) {
    case 'link': {
      const href = safeUrl(a.uri);
      if (!href) return el('span', 'action action-disabled', a.text);
      const l = link(href, a.text);
      l.className = 'action action-link';
      return l;
    }
    case 'webview': {
      // The Web SDK opens a webview in a frame over the conversation; the page opens it in a new
      // window (a frame would need the site's consent to be framed).
      const href = safeUrl(a.uri) || safeUrl(a.fallback);
      if (!href) return el('span', 'action action-disabled', a.text);
      const l = link(href, a.text);
      l.className = 'action action-link action-webview';
      return l;
    }
    case 'postback': {
      const b = el('button', 'action action-button', a.text);
      b.type = 'button';
      b.addEventListener('click', () => handlers.postback(message, a, b));
      return b;
    }
    case 'locationRequest': {
      const b = el('button', 'action action-button', a.text);
      b.type = 'button';
      b.addEventListener('click', () => handlers.locationRequest(a, b));
      return b;
    }
    case 'buy': {
      const b = el('button', 'action action-button action-buy', `${a.text} · ${formatPrice(a.amount, a.currency)}`);
      b.type = 'button';
      b.addEventListener('click', () => handlers.buy(a, b));
      return b;
    }
    default: // reply actions are shown as quick replies, under the last message
      return null;
  }
}

function actions(list, message, handlers) {
  const wrap = el('div', 'actions');
  for (const a of list || []) {
    const node = action(a, message, handlers);
    if (node) wrap.append(node);
  }
  return wrap.childElementCount ? wrap : null;
}

function textBlock(content) {
  if (!content.text && !content.htmlText) return null;
  const d = el('div', 'text');
  d.append(richText(content));
  return d;
}

function image(content) {
  const src = safeUrl(content.mediaUrl);
  if (!src) return null;
  const i = img('media', src, content.altText, true);
  i.loading = 'lazy';
  return i;
}

function item(it, message, handlers, cls) {
  const card = el('div', cls);
  const src = safeUrl(it.mediaUrl);
  if (src) {
    const i = img('item-media', src, it.altText, true);
    i.loading = 'lazy';
    card.append(i);
  }
  const body = el('div', 'item-body');
  body.append(el('strong', 'item-title', it.title));
  if (it.description) body.append(el('p', 'item-description', it.description));
  const acts = actions(it.actions, message, handlers);
  if (acts) body.append(acts);
  card.append(body);
  return card;
}

function form(content, message, handlers) {
  const f = el('form', 'form');
  f.setAttribute('aria-label', 'Form');
  const inputs = [];
  (content.fields || []).forEach((field, i) => {
    const id = `f-${message.id}-${i}`;
    const row = el('div', 'form-row');
    const label = el('label', null, field.label);
    label.htmlFor = id;
    row.append(label);
    let input;
    if (field.type === 'select') {
      input = el('select');
      for (const o of field.options || []) {
        const opt = el('option', null, o.label);
        opt.value = o.name;
        input.append(opt);
      }
    } else {
      input = el('input');
      input.type = field.type === 'email' ? 'email' : 'text';
      if (field.placeholder) input.placeholder = field.placeholder;
      input.minLength = field.minSize || 1;
      input.maxLength = field.maxSize || 128;
      input.required = true;
    }
    input.id = id;
    input.name = field.name;
    row.append(input);
    f.append(row);
    inputs.push({ field, input });
  });
  const submit = el('button', 'action action-button', 'Submit');
  submit.type = 'submit';
  f.append(submit);
  const disable = () => {
    for (const { input } of inputs) input.disabled = true;
    submit.disabled = true;
    submit.textContent = 'Submitted';
  };
  const answer = handlers.formAnswer(message);
  if (answer) {
    // Show what was answered.
    for (const { field, input } of inputs) {
      const a = answer[field.name];
      if (a) input.value = a.text || a.email || ((a.select || [])[0] || {}).name || '';
    }
  }
  if (content.submitted || answer || handlers.isSubmitted(message)) disable();
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = inputs.map(({ field, input }) => {
      const out = { type: field.type, name: field.name, label: field.label };
      if (field.type === 'select') {
        const o = (field.options || []).find((x) => x.name === input.value) || { name: input.value, label: input.value };
        out.select = [{ name: o.name, label: o.label }];
      } else if (field.type === 'email') {
        out.email = input.value;
      } else {
        out.text = input.value;
      }
      return out;
    });
    if (await handlers.submitForm(message, fields)) disable();
  });
  return f;
}

function formResponse(content) {
  const d = el('div', 'text form-response');
  for (const f of content.fields || []) {
    const row = el('p');
    row.append(el('strong', null, `${f.label}: `));
    const v = f.text || f.email || (f.select || []).map((s) => s.label).join(', ');
    row.append(v);
    d.append(row);
  }
  return d;
}

function location(content) {
  const d = el('div', 'location');
  const { lat, long } = content.coordinates || {};
  const loc = content.location || {};
  d.append(el('strong', null, loc.name || 'Location'));
  if (loc.address) d.append(el('p', null, loc.address));
  const href = `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(long)}#map=16/${lat}/${long}`;
  const a = link(href, `Open map (${lat}, ${long})`);
  a.className = 'action action-link';
  d.append(a);
  return d;
}

function file(content) {
  const href = safeUrl(content.mediaUrl);
  const name = content.altText || (href ? decodeURIComponent(new URL(href).pathname.split('/').pop()) : 'file');
  const d = el('div', 'file');
  if (href) {
    const a = link(href, name);
    a.className = 'file-link';
    d.append(a);
  } else {
    d.append(name);
  }
  if (content.mediaSize) d.append(el('span', 'file-size', formatSize(content.mediaSize)));
  return d;
}

// message renders one message as an <article>.
export function message(m, handlers) {
  const c = m.content || {};
  const role = m.author && m.author.type === 'user' ? 'user' : 'business';
  const art = el('article', `msg msg-${role} msg-${c.type}`);
  art.dataset.id = m.id;
  const name = (m.author && m.author.displayName) || (role === 'business' ? handlers.businessName() : 'You');
  art.setAttribute('aria-label', `${role === 'user' ? 'You' : name}: ${c.type}`);
  if (role === 'business') {
    const who = el('div', 'author');
    const avatar = m.author && safeUrl(m.author.avatarUrl);
    if (avatar) {
      const a = img('avatar', avatar, '');
      a.hidden = true; // shown once loaded: an unreachable avatar takes no room meanwhile
      a.addEventListener('load', () => { a.hidden = false; });
      who.append(a);
    }
    who.append(el('span', 'author-name', name));
    art.append(who);
  }
  const bubble = el('div', 'bubble');
  switch (c.type) {
    case 'text': {
      const t = textBlock(c);
      if (t) bubble.append(t);
      break;
    }
    case 'image': {
      const picture = image(c);
      if (picture) bubble.append(picture);
      const t = textBlock(c);
      if (t) bubble.append(t);
      break;
    }
    case 'file':
      bubble.append(file(c));
      if (c.text) bubble.append(textBlock(c));
      break;
    case 'location':
      bubble.append(location(c));
      break;
    case 'carousel': {
      bubble.classList.add('bubble-wide');
      const row = el('div', `carousel ${(c.displaySettings || {}).imageAspectRatio === 'square' ? 'square' : ''}`);
      row.setAttribute('role', 'group');
      row.setAttribute('aria-label', 'Carousel');
      for (const it of c.items || []) row.append(item(it, m, handlers, 'card'));
      bubble.append(row);
      break;
    }
    case 'list': {
      bubble.classList.add('bubble-wide');
      const list = el('div', 'list');
      for (const it of c.items || []) list.append(item(it, m, handlers, `list-item ${it.size === 'large' ? 'large' : ''}`));
      bubble.append(list);
      break;
    }
    case 'form':
      if (c.text) bubble.append(textBlock(c));
      bubble.append(form(c, m, handlers));
      break;
    case 'formResponse':
      bubble.append(formResponse(c));
      break;
    default: // template and anything new: its fallback text
      bubble.append(el('div', 'text', c.text || c.textFallback || `[${c.type}]`));
  }
  const acts = actions(c.type === 'list' || c.type === 'text' || c.type === 'image' ? c.actions : null, m, handlers);
  if (acts) bubble.append(acts);
  art.append(bubble);
  const meta = el('div', 'meta');
  const t = new Date(m.received);
  const time = el('time', null, t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  time.dateTime = m.received;
  meta.append(time);
  art.append(meta);
  return art;
}

// quickReplies returns the reply actions of m, the last message, if it is the business's.
export function quickReplies(m) {
  if (!m || !m.author || m.author.type !== 'business') return [];
  return ((m.content || {}).actions || []).filter((a) => a.type === 'reply');
}
