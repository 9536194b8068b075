"""A TCP relay a test cuts and restores, as a network failing and coming back."""

from __future__ import annotations

import contextlib
import socket
import threading


class Relay:
    """Forwards connections from a port of its own to a target's (a server, PostgreSQL), until
    cut: what a network between them would do, failing and coming back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a stopped server would."""
        _end(self._listener)
        with self._lock:
            for connection in self._open:
                _end(connection)
            self._open.clear()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self._start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for end in (source, sink):
        _end(end)


def _end(end: socket.socket) -> None:
    """Shut down, then close: a close alone neither wakes another thread blocked on the
    socket nor, while one is, lets the other side know."""
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    end.close()
