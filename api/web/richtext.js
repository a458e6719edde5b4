// Rich text of messages, built as DOM nodes (never innerHTML): the service's markdown subset for
// text (bold, italic, strikethrough, inline code, links, bare URLs, bullet and numbered lists, line
// breaks), and an allowlist of tags for htmlText (what markdownText becomes on the server).

const safeHref = (href) => {
  if (typeof href !== 'string' || !href) return null;
  try {
    const u = new URL(href, document.baseURI);
    return ['http:', 'https:', 'mailto:', 'tel:'].includes(u.protocol) ? u.toString() : null;
  } catch {
    return null;
  }
};

export function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = text;
  return a;
}

// Inline markdown: the first match among these, in order of position.
const inlineRules = [
  { re: /\*\*([^*]+)\*\*/, tag: 'strong' },
  { re: /__([^_]+)__/, tag: 'strong' },
  { re: /~~([^~]+)~~/, tag: 's' },
  { re: /`([^`]+)`/, tag: 'code' },
  { re: /\[([^\]]+)\]\(([^)\s]+)\)/, tag: 'a' },
  { re: /\*([^*\s][^*]*)\*/, tag: 'em' },
  { re: /(?:^|(?<=\W))_([^_\s][^_]*)_(?=\W|$)/, tag: 'em' },
  { re: /\bhttps?:\/\/[^\s<]+[^\s<.,;:!?)\]'"]/, tag: 'url' },
];

function inline(text, parent) {
  while (text) {
    let best = null;
    for (const rule of inlineRules) {
      const m = rule.re.exec(text);
      if (m && (!best || m.index < best.m.index)) best = { m, rule };
    }
    if (!best) {
      parent.append(text);
      return;
    }
    const { m, rule } = best;
    if (m.index > 0) parent.append(text.slice(0, m.index));
    if (rule.tag === 'url') {
      const href = safeHref(m[0]);
      parent.append(href ? link(href, m[0]) : m[0]);
    } else if (rule.tag === 'a') {
      const href = safeHref(m[2]);
      if (href) parent.append(link(href, m[1]));
      else parent.append(m[1]);
    } else {
      const el = document.createElement(rule.tag);
      if (rule.tag === 'code') el.textContent = m[1];
      else inline(m[1], el);
      parent.append(el);
    }
    text = text.slice(m.index + m[0].length);
  }
}

// markdown renders text with the markdown subset into a fragment.
export function markdown(text) {
  const frag = document.createDocumentFragment();
  let list = null;
  let para = null;
  for (const line of String(text).split('\n')) {
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      const tag = bullet ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = document.createElement(tag);
        frag.append(list);
      }
      const li = document.createElement('li');
      inline((bullet || numbered)[1], li);
      list.append(li);
      para = null;
      continue;
    }
    list = null;
    if (line.trim() === '') {
      para = null;
      continue;
    }
    if (!para) {
      para = document.createElement('p');
      frag.append(para);
    } else {
      para.append(document.createElement('br'));
    }
    inline(line, para);
  }
  return frag;
}

const allowedTags = new Set(['p', 'br', 'strong', 'b', 'em', 'i', 's', 'del', 'code', 'pre', 'ul', 'ol', 'li', 'a',
  'blockquote', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

function copyAllowed(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(node.textContent);
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = node.tagName.toLowerCase();
    if (!allowedTags.has(tag)) {
      copyAllowed(node, to); // keep the text of what is not allowed, drop the element
      continue;
    }
    if (tag === 'a') {
      const href = safeHref(node.getAttribute('href') || '');
      if (!href) {
        copyAllowed(node, to);
        continue;
      }
      const a = link(href, '');
      copyAllowed(node, a);
      to.append(a);
      continue;
    }
    const el = document.createElement(/^h[1-6]$/.test(tag) ? 'strong' : tag);
    copyAllowed(node, el);
    to.append(el);
  }
}

// html renders htmlText through the allowlist into a fragment.
export function html(htmlText) {
  const doc = new DOMParser().parseFromString(String(htmlText), 'text/html');
  const frag = document.createDocumentFragment();
  copyAllowed(doc.body, frag);
  return frag;
}

// richText renders a content's text: its htmlText when it has one, else its text as markdown.
export function richText(content) {
  if (content.htmlText) return html(content.htmlText);
  return markdown(content.text || '');
}
