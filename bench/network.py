"""A network that can be cut, as a basement cuts a phone's signal (the offline browser tests and
bench_offline).

Playwright's `context.set_offline(True)` makes the page see no network (`navigator.onLine`,
failed fetches), but it has been reported not to stop a service worker's own requests
(microsoft/playwright#2311). The offline tests therefore reach the live server through this
relay and cut it too: with the relay down every connection, the worker's included, is refused,
so a test can only pass on what the phone really kept.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from urllib.parse import urlsplit


class NetworkSwitch:
    def __init__(self, target_url: str):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.is_up = True
        self.requests = 0  # connections relayed, for a test that wants to see traffic
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self):
        """Cut the signal: open connections are reset and new ones refused."""
        with self._lock:
            self.is_up = False
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def up(self):
        with self._lock:
            self.is_up = True

    def close(self):
        self._closed = True
        self.down()
        self.listener.close()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.is_up:
                    _reset(client)
                    continue
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    _reset(client)
                    continue
                upstream.settimeout(None)
                self._open |= {client, upstream}
                self.requests += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _reset(sock: socket.socket):
    """Close with a reset, as a lost network looks to the browser (no orderly goodbye).
    shutdown() first: close() alone would not wake a relay thread blocked reading it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
