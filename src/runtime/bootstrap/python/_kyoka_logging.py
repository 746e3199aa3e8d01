"""The root logger setup of AWS's python runtimes: one handler writing each
record to stdout as one log event, in the Text or JSON log format.

_kyoka_bootstrap calls configure() as soon as the function's code imports
logging, so the process only pays for logging when the function uses it.
"""
import logging
import os
import sys
import time

import _kyoka_bootstrap as runtime


def _iso_ms(created):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + ".%03dZ" % (created % 1 * 1000)


class _RequestIdFilter(logging.Filter):
    """Gives every record aws_request_id, so user formatters can use it too."""

    def filter(self, record):
        record.aws_request_id = runtime._request_id
        return True


# Attributes every LogRecord has; anything else came from `extra=`.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
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
            import traceback
            etype, exc, tb = record.exc_info
            out["errorType"] = etype.__name__
            out["errorMessage"] = str(exc)
            out["stackTrace"] = traceback.format_tb(tb)
        if runtime._request_id:
            out["requestId"] = runtime._request_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS:
                out[key] = value
        return runtime.dumps(out, ensure_ascii=False, default=str)


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            msg = self.format(record)
            if msg.endswith("\n"):
                msg = msg[:-1]
            # One record is one log event: kyoka reads stdout line by line,
            # so inner newlines become \r (AWS's Text format keeps a
            # multi-line record as a single event too).
            sys.stdout.write(msg.replace("\n", "\r") + "\n")
        except Exception:
            self.handleError(record)


_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO,
           "WARN": logging.WARNING, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}


def configure():
    handler = _StdoutHandler()
    handler.addFilter(_RequestIdFilter())
    if runtime.JSON_LOGS:
        handler.setFormatter(_JsonFormatter())
    else:
        fmt = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.addHandler(handler)  # makes a user's logging.basicConfig() a no-op, as on AWS
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in _LEVELS:
        root.setLevel(_LEVELS[level])
    elif runtime.JSON_LOGS:
        root.setLevel(logging.INFO)  # AWS's default application log level for JSON
