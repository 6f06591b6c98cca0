"""A TCP proxy between the application and its database that a test can cut and restore.

The application connects to the proxy's port instead of the database's. While the proxy is
up it forwards bytes both ways; ``cut()`` drops every open connection and refuses new ones
(the port is closed, as when the database host is down); ``blackhole()`` drops every open
connection and then accepts new ones without ever answering (a firewall that silently
drops packets: only a connect timeout ends the wait); ``restore()`` forwards again on the
same port. ``cut_on(pattern)`` cuts at the moment the application sends bytes containing
the pattern, before they reach the database: a connection lost in the middle of a
transaction.
"""

import contextlib
import socket
import threading
from typing import Self

CHUNK = 65536


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.tripped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._answering = True
        self._trigger: bytes | None = None

    def start(self) -> Self:
        self._listen()
        return self

    def stop(self) -> None:
        self._close_listener()
        self._drop_connections()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._close_listener()
        self._drop_connections()

    def blackhole(self) -> None:
        """Drop every connection; accept new ones but never answer them."""
        self._drop_connections()
        self._answering = False
        if self._listener is None:
            self._listen()

    def restore(self) -> None:
        """Forward again, on the same port."""
        self._drop_connections()
        self._answering = True
        if self._listener is None:
            self._listen()

    def cut_on(self, pattern: bytes) -> None:
        """Cut when the application next sends bytes containing ``pattern``; they are not
        forwarded. ``tripped`` is set when that has happened."""
        self.tripped.clear()
        self._trigger = pattern

    # The machinery.

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _shut(listener)

    def _drop_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _shut(sock)

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._sockets.update(socks)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self._track(client)
            if self._listener is not listener:
                _shut(client)  # cut while this connection was being accepted
                return
            if not self._answering:
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _shut(client)
                continue
            server.settimeout(None)
            self._track(server)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        tail = b""
        try:
            while data := source.recv(CHUNK):
                trigger = self._trigger if from_client else None
                if trigger is not None:
                    seen = tail + data
                    if trigger in seen:
                        self._trigger = None
                        self.cut()
                        self.tripped.set()
                        return
                    tail = seen[-len(trigger) :]
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(source)
            _shut(sink)


def _shut(sock: socket.socket) -> None:
    """Close a socket and wake any thread blocked on it (close alone does not)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
