"""Serve the Walmart emulator on a loopback port, in a thread (tests) or in the foreground (demo).

The standard library's WSGI server, threaded: werkzeug's development server drops request
headers whose names contain underscores, and every Walmart header (``WM_SEC.ACCESS_TOKEN``...)
has them. The handler also exposes the connection's socket so the emulator can drop it.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that gave up (timeouts) and injected drops end in broken pipes: expected here.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["emulator.socket"] = self.connection
        return environ

    def log_message(self, *_args: Any) -> None:  # the emulator's own inspection API counts calls
        pass


class EmulatorServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server = make_server(host, port, app, server_class=_ThreadingServer,
                                   handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="walmart-emulator",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve on the calling thread (the ``emulator`` command) until interrupted."""
        self._server.serve_forever()

    def server_close(self) -> None:
        self._server.server_close()

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
