// A minimal HTTP/1.1 keep-alive client for the Lambda Runtime API.
//
// A warm invoke is two requests (next, response), so this is the hot path.
// node:http spends ~400 us of CPU per pair in agent bookkeeping, its parser
// and header objects; one plain socket to one local server needs none of it.
// Requests go one at a time, which is all the runtime loop ever does.
import net from 'node:net';

const EMPTY = Buffer.alloc(0);

export class RuntimeClient {
  #host; #port; #hostHeader;
  #sock = null;
  #buf = EMPTY;
  #head = null;      // parsed status line and headers of the response being read
  #waiting = null;   // { data, resolve, reject, retried } of the request in flight

  constructor(hostport) {
    const i = hostport.lastIndexOf(':');
    this.#host = hostport.slice(0, i).replace(/^\[|\]$/g, '');
    this.#port = Number(hostport.slice(i + 1));
    this.#hostHeader = hostport;
  }

  // Resolves to { status, headers (lowercased names), body (string) }.
  request(method, path, body = '', headers = '') {
    const data = `${method} ${path} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\n${headers}`
      + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      this.#waiting = { data, resolve, reject, retried: false };
      this.#send();
    });
  }

  #send() {
    if (!this.#sock) this.#connect();
    this.#sock.ref(); // an answer is awaited: keep the process alive for it
    this.#sock.write(this.#waiting.data);
  }

  #connect() {
    const sock = net.connect({ host: this.#host, port: this.#port });
    sock.setNoDelay(true);
    sock.on('data', (chunk) => this.#onData(chunk));
    sock.on('error', () => {}); // 'close' follows and decides
    sock.on('close', () => this.#onClose(sock));
    this.#sock = sock;
  }

  #onData(chunk) {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    if (!this.#head) {
      const end = this.#buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.#head = parseHead(this.#buf.toString('latin1', 0, end));
      this.#head.start = end + 4;
    }
    const head = this.#head;
    let body, used;
    if (head.length !== undefined) {
      if (this.#buf.length < head.start + head.length) return;
      used = head.start + head.length;
      body = this.#buf.toString('utf8', head.start, used);
    } else if (head.chunked) {
      const r = dechunk(this.#buf, head.start);
      if (!r) return;
      [body, used] = r;
    } else {
      return; // delimited by close: #onClose finishes it
    }
    this.#buf = this.#buf.subarray(used);
    this.#head = null;
    this.#finish({ status: head.status, headers: head.headers, body });
    if (head.close) this.#sock.destroy();
  }

  #finish(response) {
    const w = this.#waiting;
    this.#waiting = null;
    // Idle between requests: an open keep-alive socket must not hold the
    // event loop, or a callback handler's "wait for empty loop" never ends.
    this.#sock?.unref();
    w?.resolve(response);
  }

  #onClose(sock) {
    if (sock !== this.#sock) return;
    const head = this.#head, buffered = this.#buf;
    this.#sock = null;
    this.#buf = EMPTY;
    this.#head = null;
    const w = this.#waiting;
    if (!w) return;
    if (head && head.length === undefined && !head.chunked) {
      this.#finish({ status: head.status, headers: head.headers, body: buffered.toString('utf8', head.start) });
    } else if (!head && !buffered.length && !w.retried) {
      // The server dropped an idle keep-alive connection: nothing of this
      // request was answered, so send it once more on a fresh one.
      w.retried = true;
      this.#send();
    } else {
      this.#waiting = null;
      w.reject(new Error(`Runtime API connection to ${this.#hostHeader} closed`));
    }
  }
}

function parseHead(text) {
  const lines = text.split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  const head = { status, headers, length: undefined, chunked: false,
    close: (headers.connection || '').toLowerCase() === 'close' };
  if (headers['content-length'] !== undefined) head.length = Number(headers['content-length']);
  else if ((headers['transfer-encoding'] || '').toLowerCase().includes('chunked')) head.chunked = true;
  else if (status === 204 || status === 304 || status < 200) head.length = 0;
  return head;
}

// [body, bytes used] once the whole chunked body is buffered, else null.
function dechunk(buf, pos) {
  const parts = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', pos, eol), 16);
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', eol); // after any trailers, a blank line
      return end < 0 ? null : [Buffer.concat(parts).toString('utf8'), end + 4];
    }
    if (buf.length < eol + 2 + size + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}
