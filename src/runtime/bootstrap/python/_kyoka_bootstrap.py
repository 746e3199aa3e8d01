"""kyoka's runtime loop for the python3.x Lambda runtimes.

Started by bootstrap.py with the environment Lambda sets. It imports the
handler named by _HANDLER, then loops over the Lambda Runtime API
(2018-06-01): GET next -> call the handler -> POST response or error.
Messages, error types and log formats follow what AWS's python runtimes emit,
so code and tooling written against Lambda see the same thing here.

Cold start matters, so the runtime itself imports only builtin modules:
`socket` (enum, selectors), `json` (re) and `logging` (traceback, threading,
string...) together cost more than the interpreter's own start. Logging is
set up when the function's code imports it.
"""
import _json
import _socket
import os
import sys
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NEXT = "/2018-06-01/runtime/invocation/next"
INVOCATION = "/2018-06-01/runtime/invocation/"
INIT_ERROR = "/2018-06-01/runtime/init/error"
JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"

# The request id of the invoke in progress, read by the log filter. Empty
# during init, as on AWS.
_request_id = ""


# ---- json ---------------------------------------------------------------
# json.dumps/json.loads run on _json's C encoder and scanner; these call
# the very same ones with the settings json's defaults give them, minus the
# `re` import json.decoder and json.encoder need for their Python fallbacks.

def _not_serializable(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _encoder(default, ensure_ascii):
    # Fresh for each call, as json's: a failed call leaves its
    # circular-reference markers behind.
    return _json.make_encoder(
        {}, default, _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring,
        None, ": ", ", ", False, False, True)


def dumps(obj, ensure_ascii=True, default=_not_serializable):
    """json.dumps(obj, ensure_ascii=..., default=...)."""
    return "".join(_encoder(default, ensure_ascii)(obj, 0))


try:
    _encoder(_not_serializable, True)
except TypeError:  # a Python whose _json takes other arguments: use json's own
    def dumps(obj, ensure_ascii=True, default=_not_serializable):
        import json
        return json.dumps(obj, ensure_ascii=ensure_ascii, default=default)


class _DecoderSettings:
    """What _json.make_scanner reads off json's default JSONDecoder."""
    strict = True
    object_hook = object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_DecoderSettings)
_WS = " \t\n\r"  # json's whitespace


_FALLBACK = object()


def _fast_loads(data):
    if isinstance(data, bytes):
        # A BOM or NUL bytes up front make json.loads pick another codec.
        if not data or data[0] in b"\0\xef\xfe\xff" or data[1:2] == b"\0":
            return _FALLBACK
        data = data.decode("utf-8", "surrogatepass")
    elif data[:1] == "\ufeff":
        return _FALLBACK
    start, end = 0, len(data)
    while start < end and data[start] in _WS:
        start += 1
    obj, stop = _scan(data, start)
    while stop < end and data[stop] in _WS:
        stop += 1
    return obj if stop == end else _FALLBACK


def loads(data):
    """json.loads(data). What the fast path leaves or fails on goes through
    json itself, for its exact result or error message."""
    try:
        obj = _fast_loads(data)
    except Exception:
        obj = _FALLBACK
    if obj is _FALLBACK:
        import json
        obj = json.loads(data)
    return obj


# ---- Runtime API client -------------------------------------------------

class _Disconnected(Exception):
    """The server closed the connection before answering."""


class RuntimeClient:
    """A minimal HTTP/1.1 keep-alive client for the Runtime API.

    http.client would cost ~40-75 ms of imports (ssl, email) at every cold
    start and parses headers through the email package on every call; this
    loop only ever talks plain HTTP to one local server.
    """

    def __init__(self, hostport):
        host, _, port = hostport.rpartition(":")
        self.addr = (host.strip("[]"), int(port))
        self.sock = None
        self.buf = bytearray()  # received and not yet consumed, from self.pos
        self.pos = 0

    def _connect(self):
        # socket.create_connection, minus the socket module. A bytes host
        # keeps getaddrinfo from loading the idna codec.
        host, port = self.addr
        error = None
        for family, kind, proto, _, sockaddr in _socket.getaddrinfo(
                host.encode(), port, 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(sockaddr)
            except OSError as e:
                sock.close()
                error = error or e
                continue
            # Each request goes out in one send; without NODELAY a small POST
            # can sit behind the peer's delayed ACK for ~40 ms.
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self.sock = sock
            return
        raise error or OSError(f"cannot resolve {host}")

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buf = bytearray()
        self.pos = 0

    def request(self, method, path, body=b"", headers=""):
        """Send one request; returns (status, {lowercased header: value}, body)."""
        data = (
            f"{method} {path} HTTP/1.1\r\nHost: {API}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        for attempt in (1, 2):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(data)
                return self._read_response()
            except (_Disconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server dropped: nothing
                # reached it, so one retry on a fresh connection is safe.
                self.close()
                if attempt == 2:
                    raise

    # Buffered reads with a file's semantics: short at end of stream.
    def _fill(self):
        data = self.sock.recv(65536)
        self.buf.extend(data)
        return bool(data)

    def _readline(self):
        buf = self.buf
        while True:
            i = buf.find(b"\n", self.pos)
            if i >= 0:
                break
            if not self._fill():
                i = len(buf) - 1
                break
        line = bytes(buf[self.pos:i + 1])
        self.pos = i + 1
        return line

    def _read(self, n=-1):
        while n < 0 or len(self.buf) - self.pos < n:
            if not self._fill():
                break
        end = len(self.buf) if n < 0 else self.pos + n
        data = bytes(self.buf[self.pos:end])
        self.pos = min(end, len(self.buf))
        return data

    def _read_response(self):
        del self.buf[:self.pos]  # what earlier responses used
        self.pos = 0
        line = self._readline()
        if not line:
            raise _Disconnected()
        status = int(line.split(None, 2)[1])
        headers = {}
        while True:
            line = self._readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = self._read(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self._readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self._read(size))
                self._readline()
            body = b"".join(parts)
        elif status in (204, 304) or status < 200:
            body = b""
        else:
            body = self._read()  # delimited by close
            self.close()
            return status, headers, body
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body


# ---- context ------------------------------------------------------------

class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data):
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    __slots__ = ("installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name")

    def __init__(self, data):
        for name in self.__slots__:
            setattr(self, name, data.get(name))


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data):
        client = data.get("client")
        self.client = Client(client) if client is not None else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    __slots__ = ("aws_request_id", "invoked_function_arn", "client_context",
                 "identity", "_deadline_ms")
    # Fixed for the life of the process: class attributes, not per invoke.
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    # A string, as AWS's runtime reads it from the environment.
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
    log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")

    def __init__(self, request_id, deadline_ms, arn, client_context, identity):
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.invoked_function_arn = arn
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},"
                f"invoked_function_arn={self.invoked_function_arn}])")


# ---- logging ------------------------------------------------------------

def _iso_ms(created):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + ".%03dZ" % (created % 1 * 1000)


def configure_logging():
    """AWS's root logger setup: one handler printing each record to stdout
    as one log event, in the Text or JSON log format. Its classes are made
    here because their bases come with logging."""
    import logging

    class _RequestIdFilter(logging.Filter):
        """Gives every record aws_request_id, so user formatters can use it too."""

        def filter(self, record):
            record.aws_request_id = _request_id
            return True

    # Attributes every LogRecord has; anything else came from `extra=`.
    record_attrs = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
        "message", "asctime", "aws_request_id"}

    class _JsonFormatter(logging.Formatter):
        def format(self, record):
            out = {
                "timestamp": _iso_ms(record.created),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
            }
            if record.exc_info and record.exc_info[0] is not None:
                # In AWS's order: the stack, then type and message.
                import traceback
                etype, exc, tb = record.exc_info
                out["stackTrace"] = traceback.format_tb(tb)
                out["errorType"] = etype.__name__
                out["errorMessage"] = str(exc)
            if _request_id:
                out["requestId"] = _request_id
            for key, value in vars(record).items():
                if key not in record_attrs:
                    out[key] = value
            return dumps(out, ensure_ascii=False, default=str)

    class _StdoutHandler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                if msg.endswith("\n"):
                    msg = msg[:-1]
                # One record is one log event: kyoka reads stdout line by
                # line, so inner newlines become \r (AWS's Text format keeps
                # a multi-line record as a single event too).
                sys.stdout.write(msg.replace("\n", "\r") + "\n")
            except Exception:
                self.handleError(record)

    handler = _StdoutHandler()
    handler.addFilter(_RequestIdFilter())
    if JSON_LOGS:
        handler.setFormatter(_JsonFormatter())
    else:
        fmt = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.addHandler(handler)  # makes a user's logging.basicConfig() a no-op, as on AWS
    levels = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
              "WARN": logging.WARNING, "WARNING": logging.WARNING,
              "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in levels:
        root.setLevel(levels[level])
    elif JSON_LOGS:
        root.setLevel(logging.INFO)  # AWS's default application log level for JSON


class _LoggingFinder:
    """AWS's runtime configures logging before any user code runs. Importing
    logging costs ~10 ms, and a function that never imports it cannot tell
    the difference, so this meta path finder waits for the import and runs
    configure_logging() right after logging's module body, before the
    importer sees the module."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        for finder in sys.meta_path:  # what the import system would ask next
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = getattr(spec.loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_and_configure(module):
            exec_module(module)
            # Only now: a find_spec alone (importlib.util.find_spec) imports nothing.
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            configure_logging()

        spec.loader.exec_module = exec_and_configure  # this loader is this spec's alone
        return spec


def defer_logging_setup():
    if "logging" in sys.modules:
        configure_logging()
    else:
        sys.meta_path.insert(0, _LoggingFinder())


def log_error(err):
    """Print a failed init or invoke the way AWS's runtime does."""
    if JSON_LOGS:
        # AWS's shape for this line: log_level, not level; whole seconds.
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = dumps({"timestamp": stamp, "log_level": "ERROR", **err}, ensure_ascii=False)
    else:
        lines = ["[ERROR] %s: %s" % (err["errorType"], err["errorMessage"]),
                 "Traceback (most recent call last):"]
        for frame in err["stackTrace"]:
            lines.extend(frame.splitlines())
        line = "\r".join(lines)
    sys.stdout.write(line + "\n")


# ---- errors -------------------------------------------------------------

class Fault(Exception):
    """A failure the runtime itself classifies (Runtime.* error types)."""

    def __init__(self, error_type, message, trace=()):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, list(trace)


def error_result(exc, request_id):
    if isinstance(exc, Fault):
        return {"errorMessage": exc.message, "errorType": exc.error_type,
                "requestId": request_id, "stackTrace": exc.trace}
    import traceback  # only failures pay for it
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "requestId": request_id, "stackTrace": traceback.format_list(frames)}


def load_handler(spec):
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {e}")
    if modname.split(".")[0] in sys.builtin_module_names:
        raise Fault("Runtime.BuiltInModuleConflict",
                    f"Cannot use built-in module {modname} as a handler module")
    import importlib  # as AWS's: its frame starts the stack of a failed init
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}")
    except SyntaxError as e:
        raise Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}",
                    [f'  File "{e.filename}" Line {e.lineno}\n    {e.text or ""}'])
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'")


# ---- the loop -----------------------------------------------------------

def invoke(handler, headers, body):
    """Run one invocation; returns (path, extra headers, body) to POST."""
    global _request_id
    request_id = headers["lambda-runtime-aws-request-id"]
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        client_context = headers.get("lambda-runtime-client-context")
        identity = headers.get("lambda-runtime-cognito-identity")
        context = LambdaContext(
            request_id, int(headers.get("lambda-runtime-deadline-ms") or 0),
            headers.get("lambda-runtime-invoked-function-arn"),
            loads(client_context) if client_context else None,
            loads(identity) if identity else None)
        try:
            event = loads(body)
        except ValueError as e:
            raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}")
        result = handler(event, context)
        try:
            payload = dumps(result, ensure_ascii=False).encode()
        except (TypeError, ValueError, OverflowError) as e:
            raise Fault("Runtime.MarshalError", f"Unable to marshal response: {e}")
        return INVOCATION + request_id + "/response", "", payload
    except Exception as e:  # SystemExit/KeyboardInterrupt end the process, as on AWS
        err = error_result(e, request_id)
        log_error(err)
        return INVOCATION + request_id + "/error", error_headers(err), dumps(err).encode()


def error_headers(err):
    error_type = " ".join(err["errorType"].splitlines())  # a class name can be any string
    return f"Lambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Type: application/json\r\n"


def add_site_packages():
    """What `site` does at start-up, minus the host's .pth files.

    kyoka starts python with -S: the .pth files of the machine's
    site-packages (namespace-package shims, a CA injector that imports
    certifi) run code on every interpreter start, a third of a cold start
    here, and AWS's runtimes have none of them. The directories themselves
    stay importable, after the standard library as site puts them, and
    kyoka's sitecustomize still runs before the function's code."""
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()
    for d in site.getsitepackages():
        if d not in sys.path and os.path.isdir(d):
            sys.path.append(d)
    try:
        import sitecustomize  # noqa: F401
    except ImportError:
        pass


def main():
    add_site_packages()
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    version = "python%d.%d" % sys.version_info[:2]
    # Function code first, then layers; the runtime dir goes (kyoka puts it
    # on PYTHONPATH, where it belongs: after the user's code).
    sys.path[0:1] = [task_root, "/opt/python", f"/opt/python/lib/{version}/site-packages"]
    # Lines must reach kyoka as they are printed, not when a buffer fills.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    defer_logging_setup()
    debug_port = os.environ.pop("_KYOKA_DEBUG_PORT", None)
    if debug_port:
        import _kyoka_debug

        _kyoka_debug.start(int(debug_port))
    client = RuntimeClient(API)
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:
        err = error_result(e, "")
        log_error(err)
        client.request("POST", INIT_ERROR, dumps(err).encode(), error_headers(err))
        sys.exit(1)
    while True:
        status, headers, body = client.request("GET", NEXT)
        if status != 200:
            sys.stderr.write(f"kyoka bootstrap: next invocation failed: HTTP {status} {body[:200]!r}\n")
            sys.exit(1)
        path, extra, payload = invoke(handler, headers, body)
        sys.stdout.flush()  # output without a trailing newline belongs to this invoke
        client.request("POST", path, payload, extra)
