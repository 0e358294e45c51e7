"""A loopback TCP proxy that can go silent: bytes stop flowing, the sockets stay open.

That is the failure a heartbeat/watchdog exists for: no error, no FIN, just nothing.
"""

from __future__ import annotations

import socket
import threading


class SilentableProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self._generation = 0
        self._silenced_below = 0
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def silence_existing(self) -> None:
        """Connections open now stop forwarding; new ones work normally."""
        self._silenced_below = self._generation + 1

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self._generation += 1
            generation = self._generation
            self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, generation), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, generation: int) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if generation < self._silenced_below:
                    continue  # swallow: the peer hears nothing, and no error either
                dst.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self._closed = True
        self.server.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
