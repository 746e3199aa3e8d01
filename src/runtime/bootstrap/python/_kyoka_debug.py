"""A debugger for a python function, started by `kyoka lambda debug NAME`.

kyoka sets _KYOKA_DEBUG_PORT; the bootstrap calls start(port) before it
imports the handler. With debugpy importable (from the function's code, a
layer, or the system) the environment listens for an IDE on
127.0.0.1:port. Otherwise breakpoint() serves pdb on that port: connect
with `nc 127.0.0.1 PORT` (or telnet), and the invocation waits there until
you continue. The sandbox shares the host's network, so the port is on the
host's loopback.
"""
import os
import socket
import sys


class _RemotePdb:
    """pdb over one TCP connection, accepted at the first breakpoint()."""

    def __init__(self, port):
        self.port = port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1)
        self.conn = None
        self.stream = None
        self.out = None

    def _connect(self):
        if self.stream is not None:
            return
        sys.stderr.write(f"kyoka: pdb waiting on 127.0.0.1:{self.port} (nc 127.0.0.1 {self.port})\n")
        self.conn, _ = self.listener.accept()
        self.stream = self.conn.makefile("r", encoding="utf-8", errors="replace")
        self.out = self.conn.makefile("w", buffering=1, encoding="utf-8", errors="replace")

    def hook(self, *args, **kwargs):
        import pdb

        self._connect()
        debugger = pdb.Pdb(stdin=self.stream, stdout=self.out)
        debugger.use_rawinput = False
        try:
            debugger.set_trace(sys._getframe(1))
        except (OSError, ValueError):
            # The client went away: run on, and wait for a new one next time.
            self.stream = None


def start(port):
    try:
        import debugpy  # noqa: F401
    except Exception:
        debugpy = None
    if debugpy is not None:
        debugpy.listen(("127.0.0.1", port))
        sys.stderr.write(f"kyoka: debugpy listening on 127.0.0.1:{port}: attach your IDE\n")
        return
    try:
        remote = _RemotePdb(port)
    except OSError as e:
        sys.stderr.write(f"kyoka: cannot serve pdb on 127.0.0.1:{port}: {e}\n")
        return
    os.environ.pop("PYTHONBREAKPOINT", None)
    sys.breakpointhook = remote.hook
    sys.stderr.write(
        f"kyoka: debugpy is not importable here; breakpoint() serves pdb on 127.0.0.1:{port} "
        f"(nc 127.0.0.1 {port})\n"
    )
