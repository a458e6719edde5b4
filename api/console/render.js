// Messages as the console shows them: each an <article> named by its author and type, its content
// drawn by type as the web messenger draws it (text with the service's markdown, images, files,
// locations, carousels and lists as cards, forms, form responses, templates) and its actions as
// buttons and links named by their text. The web messenger's rich text module draws text when the
// server has it; otherwise text shows as plain text. Nothing from a message becomes markup
// (DOM nodes only).

import { h } from './ui.js';

let richText = null;
// The web messenger's markdown renderer (same origin, so the page's policy allows it).
export const ready = import('/web/assets/richtext.js').then((m) => { richText = m.richText; }, () => {});

const safeUrl = (u) => {
  if (typeof u !== 'string' || !u) return null;
  try {
    const url = new URL(u, document.baseURI);
    return ['http:', 'https:', 'blob:', 'data:'].includes(url.protocol) ? url.toString() : null;
  } catch {
    return null;
  }
};

function text(c) {
  if (!c.text && !c.htmlText) return null;
  const d = h('div.text');
  if (richText) {
    try {
      d.append(richText(c));
      return d;
    } catch {
      // fall through to plain text
    }
  }
  for (const [i, line] of String(c.text || '').split('\n').entries()) {
    if (i) d.append(h('br'));
    d.append(line);
  }
  return d;
}

function image(src, alt) {
  const i = h('img.media', { src, alt: alt || '', loading: 'lazy' });
  i.addEventListener('error', () => i.replaceWith(h('span.muted', `[image: ${alt || src}]`)));
  return i;
}

function sizeOf(n) {
  if (!n) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

// action draws one action. handlers.postback(message, action), when set, makes postbacks buttons
// that act as the customer; without it they are shown, not pressed.
function action(a, m, handlers) {
  switch (a.type) {
    case 'link':
    case 'webview': {
      const href = safeUrl(a.uri || a.fallback);
      return href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, a.text) : h('span.inert', a.text);
    }
    case 'postback':
      if (handlers.postback) {
        const b = h('button', { type: 'button', title: `Postback ${a.payload}: tap as the customer` }, a.text);
        b.addEventListener('click', () => handlers.postback(m, a, b));
        return b;
      }
      return h('span.inert', { title: `postback ${a.payload}` }, a.text);
    case 'reply':
      if (handlers.reply) {
        const b = h('button.reply', { type: 'button', title: `Quick reply ${a.payload}: send as the customer` }, a.text);
        b.addEventListener('click', () => handlers.reply(m, a, b));
        return b;
      }
      return h('span.inert.reply', { title: `quick reply ${a.payload}` }, a.text);
    case 'buy':
      return h('span.inert', `${a.text} · ${(a.amount / 100).toFixed(2)} ${(a.currency || 'usd').toUpperCase()}`);
    default:
      return h('span.inert', { title: a.type }, a.text || a.type);
  }
}

function actions(list, m, handlers) {
  if (!list || !list.length) return null;
  return h('div.msg-actions', list.map((a) => action(a, m, handlers)));
}

function cards(items, m, handlers) {
  return h('div.cards', { role: 'group', 'aria-label': 'Carousel' }, (items || []).map((it) => {
    const src = safeUrl(it.mediaUrl);
    return h('div.card', src ? image(src, it.altText) : null,
      h('div.card-body', h('strong', it.title), it.description ? h('p', it.description) : null, actions(it.actions, m, handlers)));
  }));
}

function form(c) {
  return h('div.form-preview', (c.fields || []).map((f, i) => {
    const id = `ff-${Math.random().toString(36).slice(2)}-${i}`;
    const input = f.type === 'select'
      ? h('select', { id, disabled: true }, (f.options || []).map((o) => h('option', o.label)))
      : h('input', { id, disabled: true, placeholder: f.placeholder || '', type: f.type === 'email' ? 'email' : 'text' });
    return h('div', h('label', { for: id }, f.label), input);
  }));
}

function formResponse(c) {
  return h('div.text', (c.fields || []).map((f) => h('p', h('strong', `${f.label}: `),
    f.text || f.email || (f.select || []).map((s) => s.label).join(', '))));
}

// message draws one message. handlers: postback, reply (customer side), or {}.
export function message(m, handlers = {}) {
  const c = m.content || {};
  const a = m.author || {};
  const role = a.type === 'user' ? 'user' : 'business';
  const name = a.displayName || (role === 'business' ? 'Business' : 'User');
  const src = m.source || {};
  const art = h(`article.msg.from-${role}.msg-${c.type}`, { 'aria-label': `${name} (${role}): ${c.type}`, dataset: { id: m.id } });
  art.append(h('div.who', h('strong', name), ` · ${role}${src.type ? ` via ${src.type}` : ''}`));
  const bubble = h('div.bubble');
  switch (c.type) {
    case 'text':
      bubble.append(text(c) || '');
      break;
    case 'image': {
      const s = safeUrl(c.mediaUrl);
      if (s) bubble.append(image(s, c.altText));
      const t = text(c);
      if (t) bubble.append(t);
      break;
    }
    case 'file': {
      const s = safeUrl(c.mediaUrl);
      const fname = c.altText || (s ? decodeURIComponent(new URL(s).pathname.split('/').pop()) : 'file');
      bubble.append(h('div.file', s ? h('a', { href: s, target: '_blank', rel: 'noopener noreferrer' }, fname) : fname, h('span.muted', sizeOf(c.mediaSize))));
      const t = text(c);
      if (t) bubble.append(t);
      break;
    }
    case 'location': {
      const { lat, long } = c.coordinates || {};
      const loc = c.location || {};
      bubble.append(h('div', h('strong', loc.name || 'Location'), loc.address ? h('p', loc.address) : null,
        h('a', { href: `https://www.openstreetmap.org/?mlat=${encodeURIComponent(lat)}&mlon=${encodeURIComponent(long)}`, target: '_blank', rel: 'noopener noreferrer' }, `${lat}, ${long}`)));
      break;
    }
    case 'carousel':
    case 'list':
      bubble.classList.add('wide');
      bubble.append(cards(c.items, m, handlers));
      break;
    case 'form':
      if (c.text) bubble.append(text(c));
      bubble.append(form(c));
      break;
    case 'formResponse':
      bubble.append(formResponse(c));
      break;
    default:
      bubble.append(h('div.text', c.text || c.textFallback || c.altText || `[${c.type}]`));
  }
  const acts = c.type === 'carousel' || c.type === 'list' ? null : actions(c.actions, m, handlers);
  if (acts) bubble.append(acts);
  art.append(bubble);
  const t = new Date(m.received);
  art.append(h('div.meta', h('time', { datetime: m.received, title: m.received }, t.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }))));
  return art;
}
