// kyoka's runtime loop for the nodejs*.x Lambda runtimes.
//
// Run as `node /var/runtime/bootstrap.cjs` with the environment Lambda sets.
// It loads the handler named by _HANDLER, then loops over the Lambda Runtime
// API (2018-06-01): GET next -> call the handler -> POST response or error.
// Error shapes, messages and log lines follow what AWS's nodejs runtimes
// emit, so code and tooling written against Lambda see the same thing here.
//
// CommonJS, in one file, for cold start: node runs a CommonJS entry ~7 ms
// sooner than an ES module one, as it skips the ESM loader (~5 ms to set up)
// that only ES module handlers need; those still load, through import().
// Each further file would be another resolve, read and compile.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { pathToFileURL } = require('url');
const { format } = require('util');

// AWS's entry is an ES module, so require.main is undefined in the handler's
// CommonJS code; keep it so rather than exposing this file as the main module.
process.mainModule = undefined;

// ---- Runtime API client -----------------------------------------------
//
// A minimal HTTP/1.1 keep-alive client. A warm invoke is two requests (next,
// response), so this is the hot path. node:http spends ~400 us of CPU per
// pair in agent bookkeeping, its parser and header objects; one plain socket
// to one local server needs none of it. Requests go one at a time, which is
// all the runtime loop ever does.

const EMPTY = Buffer.alloc(0);

class RuntimeClient {
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

// ---- the runtime ------------------------------------------------------

const env = process.env;
const NEXT = '/2018-06-01/runtime/invocation/next';
const INVOCATION = '/2018-06-01/runtime/invocation/';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const JSON_LOGS = (env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';

// One kept-alive connection for the life of the process.
const api = new RuntimeClient(env.AWS_LAMBDA_RUNTIME_API);

let requestId;      // invoke in progress; undefined during init, as AWS logs it
let current = null; // { id, done, deferred, finish } of the invoke in progress

// ---- logging ----------------------------------------------------------

const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };

function isError(e) {
  return e instanceof Error || (e != null && typeof e.name === 'string' && typeof e.message === 'string'
    && typeof e.stack === 'string');
}

function writeLog(level, args) {
  let line;
  if (JSON_LOGS) {
    const rec = { timestamp: new Date().toISOString(), level, requestId };
    const err = args.find(isError);
    if (args.length === 1 && err) {
      rec.message = { errorType: err.name, errorMessage: err.message, stackTrace: stackLines(err) };
    } else {
      rec.message = format(...args);
      if (err) Object.assign(rec, { errorType: err.name, errorMessage: err.message, stackTrace: stackLines(err) });
    }
    line = JSON.stringify(rec);
  } else {
    // AWS keeps one console call as one log event: inner newlines become \r.
    line = `${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args).replace(/\n/g, '\r')}`;
  }
  process.stdout.write(line + '\n');
}

function patchConsole() {
  const min = LEVELS[(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? 0;
  const method = (level) => (LEVELS[level] < min ? () => {} : (...args) => writeLog(level, args));
  console.trace = method('TRACE');
  console.debug = method('DEBUG');
  console.log = console.info = method('INFO');
  console.warn = method('WARN');
  console.error = method('ERROR');
  console.fatal = method('FATAL');
}

// ---- errors -----------------------------------------------------------

function stackLines(err) {
  return typeof err.stack === 'string' ? err.stack.split('\n') : [];
}

// A Runtime.* error whose stack header carries its type, as AWS's do.
function runtimeError(type, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.name = type;
  Error.captureStackTrace(e, runtimeError);
  return e;
}

// The body of /error and /init/error.
function errorResponse(err) {
  try {
    if (isError(err)) return { errorType: err.name, errorMessage: err.message, trace: stackLines(err) };
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch {
    return { errorType: 'handled', errorMessage: 'the error could not be read: its name, message or stack threw' };
  }
}

// What the log shows for a failure: type, message, the error's own fields, stack.
function errorLog(err) {
  if (!isError(err)) return errorResponse(err);
  const out = { errorType: err.name, errorMessage: err.message };
  for (const [k, v] of Object.entries(err)) if (!(k in out) && k !== 'name') out[k] = isError(v) ? errorLog(v) : v;
  out.stack = stackLines(err);
  return out;
}

function logFailure(label, err, extra) {
  try {
    if (JSON_LOGS) writeLog('ERROR', [err]);
    else writeLog('ERROR', [label, '\t' + safeStringify({ ...errorLog(err), ...extra })]);
  } catch {
    writeLog('ERROR', [label]); // a hostile error object must not stop the report
  }
}

function safeStringify(v) {
  try { return JSON.stringify(v); } catch { return String(v); }
}

function postError(urlPath, err) {
  const body = errorResponse(err);
  const type = String(body.errorType).replace(/[\r\n]+/g, ' '); // err.name is anyone's string
  return api.request('POST', urlPath, safeStringify(body),
    `Lambda-Runtime-Function-Error-Type: ${type}\r\nContent-Type: application/json\r\n`);
}

// An error outside any handler's control flow: report it against the invoke
// in progress (or init) and end the process, as AWS's runtime does.
async function fatal(err, code) {
  try {
    if (current && !current.done) {
      current.done = true;
      await postError(INVOCATION + current.id + '/error', err);
    } else if (!current) {
      await postError(INIT_ERROR, err);
    }
  } finally {
    process.exit(code);
  }
}

process.on('uncaughtException', (err) => {
  logFailure('Uncaught Exception', err);
  fatal(err, 129);
});

process.on('unhandledRejection', (reason, promise) => {
  let text;
  try { text = String(reason); } catch { text = typeof reason; }
  const err = runtimeError('Runtime.UnhandledPromiseRejection', text);
  logFailure('Unhandled Promise Rejection', err, { reason: isError(reason) ? errorLog(reason) : reason, promise });
  fatal(err, 128);
});

// ---- the handler ------------------------------------------------------

function isEsm(file) {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'ENOTDIR') return false;
    }
    if (dir === path.dirname(dir)) return false;
  }
}

async function importModule(root, moduleDir, moduleName) {
  const base = path.resolve(root, moduleDir, moduleName);
  let file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  // Like AWS, a name that is no file falls back to require resolution
  // (node_modules, NODE_PATH), whose error is the "Cannot find module" one.
  file ??= require.resolve(moduleName, { paths: [path.resolve(root, moduleDir)] });
  if (!isEsm(file)) return require(file);
  // node:module is required only here: ~0.4 ms a CommonJS handler never needs.
  if (needsNodePathHook(file)) require('module').register('./node_path_hook.mjs', pathToFileURL(__filename));
  return import(pathToFileURL(file).href);
}

// ESM ignores NODE_PATH; the hook lets bare imports fall back to it, so the
// SDK kyoka provides there resolves as require() finds it. Node 20 runs hooks
// on a loader thread that costs ~65 ms to start, so only when a NODE_PATH
// node_modules holds packages that ESM would not find anyway (it searches the
// node_modules next to the handler and above it). Other NODE_PATH entries
// (AWS lists /var/runtime and /var/task) serve require('file') lookups only.
// Compared by real path: kyoka's sandbox links /var/node_modules to the SDK
// in /var/runtime/node_modules, so ESM finds that one itself.
function needsNodePathHook(file) {
  if (!env.NODE_PATH || typeof require('module').register !== 'function') return false;
  const real = (dir) => { try { return fs.realpathSync.native(dir); } catch { return null; } };
  const searched = new Set();
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    searched.add(path.join(dir, 'node_modules'));
    if (dir === path.dirname(dir)) break;
  }
  let searchedReal; // only resolved if some NODE_PATH entry is worth it
  return env.NODE_PATH.split(path.delimiter).some((dir) => {
    dir = path.resolve(dir);
    if (path.basename(dir) !== 'node_modules' || searched.has(dir)) return false;
    try { if (fs.readdirSync(dir).length === 0) return false; } catch { return false; }
    searchedReal ??= new Set([...searched].map(real));
    return !searchedReal.has(real(dir));
  });
}

async function loadHandler(spec) {
  const moduleDir = path.dirname(spec);
  const name = path.basename(spec);
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) throw runtimeError('Runtime.MalformedHandlerName', 'Bad handler');
  let mod;
  try {
    mod = await importModule(env.LAMBDA_TASK_ROOT || '/var/task', moduleDir, name.slice(0, dot));
  } catch (e) {
    if (e instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', String(e), e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw runtimeError('Runtime.ImportModuleError', String(e), e);
    }
    throw e; // the module's own init failed: report its error as it is
  }
  const fn = name.slice(dot + 1).split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (typeof fn !== 'function') throw runtimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  return fn;
}

// ---- the loop ---------------------------------------------------------

const staticContext = {
  functionName: env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
  memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
};

function parseHeader(value) {
  return value ? JSON.parse(value) : undefined;
}

// Resolves once the invoke's outcome has been posted.
function invoke(handler, headers, body) {
  return new Promise((resolveInvoke) => {
    const id = headers['lambda-runtime-aws-request-id'];
    requestId = id;
    if (headers['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;

    const inv = { id, done: false, deferred: null };
    current = inv;
    inv.finish = (failed, value) => {
      if (inv.done) return;
      inv.done = true;
      let posted;
      if (!failed) {
        // Serialized now, not when the callback ran: a callback result is
        // only sent once the event loop drains, as on AWS.
        let payload;
        try {
          payload = JSON.stringify(value);
        } catch (e) {
          failed = true;
          value = e;
        }
        if (!failed) posted = api.request('POST', INVOCATION + id + '/response', payload ?? 'null');
      }
      if (failed) {
        logFailure('Invoke Error', value);
        posted = postError(INVOCATION + id + '/error', value);
      }
      posted.then(resolveInvoke, (e) => fatal(e, 1));
    };
    const callback = (err, result) => {
      if (inv.done || inv.deferred) return;
      const outcome = [err !== undefined && err !== null, err ?? result];
      if (context.callbackWaitsForEmptyEventLoop) inv.deferred = outcome;
      else inv.finish(...outcome);
    };
    // context.succeed/fail/done answer at once, whatever the event loop holds.
    const legacy = (err, result) => {
      context.callbackWaitsForEmptyEventLoop = false;
      callback(err, result);
    };
    let deadline;
    const context = {
      ...staticContext,
      callbackWaitsForEmptyEventLoop: true,
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: id,
      identity: undefined,
      clientContext: undefined,
      getRemainingTimeInMillis: () => deadline - Date.now(),
      succeed: (result) => legacy(null, result),
      fail: (err) => legacy(err),
      done: legacy,
    };

    let event;
    try {
      deadline = Number(headers['lambda-runtime-deadline-ms']);
      context.identity = parseHeader(headers['lambda-runtime-cognito-identity']);
      context.clientContext = parseHeader(headers['lambda-runtime-client-context']);
      event = JSON.parse(body);
    } catch (e) {
      return inv.finish(true, runtimeError('Runtime.UnmarshalError', `Unable to unmarshal input: ${e.message}`));
    }
    try {
      const result = handler(event, context, callback);
      if (result && typeof result.then === 'function') {
        result.then((v) => inv.finish(false, v), (e) => inv.finish(true, e));
      }
    } catch (e) {
      inv.finish(true, e);
    }
  });
}

// The event loop drained: a callback-style invoke is complete now; one that
// never answered gets null, as AWS answers it.
process.on('beforeExit', () => {
  if (current && !current.done) current.finish(...(current.deferred ?? [false, null]));
});

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler(env._HANDLER || '');
  } catch (e) {
    logFailure('Uncaught Exception', e);
    await postError(INIT_ERROR, e).catch(() => {});
    process.exit(129);
  }
  for (;;) {
    const next = await api.request('GET', NEXT);
    if (next.status !== 200) {
      process.stderr.write(`kyoka bootstrap: next invocation failed: HTTP ${next.status} ${next.body.slice(0, 200)}\n`);
      process.exit(1);
    }
    await invoke(handler, next.headers, next.body);
  }
}

main().catch((e) => fatal(e, 1));
