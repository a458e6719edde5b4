// The web messenger's client of Sunlamp's visitor endpoints (/_sunlamp/v1/web/{integrationId}/).
// The visitor credential goes in the Authorization header, never in a URL or a cookie; the event
// stream is read with fetch for that reason (EventSource cannot send headers).

export class ApiError extends Error {
  constructor(status, code, title) {
    super(title || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

export class Client {
  constructor(integrationId) {
    this.base = new URL(`../_sunlamp/v1/web/${encodeURIComponent(integrationId)}/`, document.baseURI).toString();
    this.token = null;
  }

  async request(method, path, body) {
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.base + path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
    let data = {};
    try { data = await res.json(); } catch { /* an empty body */ }
    if (!res.ok) {
      const e = (data.errors && data.errors[0]) || {};
      throw new ApiError(res.status, e.code, e.title);
    }
    return data;
  }

  config() { return this.request('GET', 'config'); }
  createVisitor(body) { return this.request('POST', 'visitors', body); }
  session() { return this.request('GET', 'session'); }
  endSession() { return this.request('DELETE', 'session'); }
  login(jwt) { return this.request('POST', 'login', { jwt }); }
  createConversation() { return this.request('POST', 'conversations', {}); }
  messages(conv, after) {
    const q = after ? `?after=${encodeURIComponent(after)}` : '';
    return this.request('GET', `conversations/${encodeURIComponent(conv)}/messages${q}`);
  }
  send(conv, content) { return this.request('POST', `conversations/${encodeURIComponent(conv)}/messages`, { content }); }
  postback(conv, messageId, payload) {
    return this.request('POST', `conversations/${encodeURIComponent(conv)}/postback`, { messageId, payload });
  }
  activity(conv, type) { return this.request('POST', `conversations/${encodeURIComponent(conv)}/activity`, { type }); }
  upload(conv, file) {
    const form = new FormData();
    form.append('source', file, file.name);
    return this.request('POST', `attachments?conversationId=${encodeURIComponent(conv)}`, form);
  }

  // stream reads the conversation's Server-Sent Events until signal aborts or the server ends the
  // stream, calling onEvent(name, data) for each. It resolves when the stream ends.
  async stream(conv, onEvent, signal) {
    const res = await fetch(this.base + `conversations/${encodeURIComponent(conv)}/events`, {
      headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' },
      credentials: 'omit', cache: 'no-store', signal,
    });
    if (!res.ok || !res.body) throw new ApiError(res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const chunk = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let name = 'message';
        const data = [];
        for (const line of chunk.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trim());
        }
        if (data.length) {
          let parsed = {};
          try { parsed = JSON.parse(data.join('\n')); } catch { /* not JSON */ }
          onEvent(name, parsed);
        }
      }
    }
  }
}
