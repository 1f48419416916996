"""A real HTTPS webhook receiver for tests: a threaded http.server behind TLS with a self-signed
certificate made here (cryptography), that answers from a script and records every request,
and how many requests for one webhook-id were in flight at once."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory: Path, names=("localhost",), ips=("127.0.0.1",)):
    """A certificate for `names` and `ips`, and its key, as PEM files; the certificate is its
    own authority (point WEBHOOK_CA_FILE at it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    alternatives = [x509.DNSName(n) for n in names] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "receiver-cert.pem", directory / "receiver-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float = 0.0


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # When set, the answer's bytes go out one at a time, this many seconds apart: each read
    # gets a byte well within any read timeout, but the answer takes minutes.
    drip: float = 0.0


class Receiver:
    """Answers each request with the next scripted Answer (the last one repeats)."""

    def __init__(self, cert_path: Path, key_path: Path, answers=None, per_id=None):
        self.answers: list[Answer] = list(answers or [Answer()])
        # When given, per_id(n) answers the n-th request (from 1) of each webhook-id instead.
        self.per_id = per_id
        self.seen: dict[str, int] = {}
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                receiver._handle(self)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "localhost", path: str = "/hooks") -> str:
        return f"https://{host}:{self.port}{path}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        webhook_id = handler.headers.get("webhook-id", "")
        with self.lock:
            received = Received(
                path=handler.path,
                headers={k.lower(): v for k, v in handler.headers.items()},
                body=body,
                started=time.monotonic(),
            )
            self.requests.append(received)
            self.seen[webhook_id] = self.seen.get(webhook_id, 0) + 1
            if self.per_id is not None:
                answer = self.per_id(self.seen[webhook_id])
            else:
                answer = self.answers[min(len(self.requests) - 1, len(self.answers) - 1)]
            self.in_flight[webhook_id] = self.in_flight.get(webhook_id, 0) + 1
            self.max_in_flight[webhook_id] = max(
                self.max_in_flight.get(webhook_id, 0), self.in_flight[webhook_id]
            )
        try:
            if answer.delay:
                time.sleep(answer.delay)
        finally:
            # Out of flight before answering: the sender may start its next attempt as soon as
            # it reads the answer, and that is not an overlap.
            with self.lock:
                self.in_flight[webhook_id] -= 1
                received.ended = time.monotonic()
        if answer.drip:
            self._drip(handler, answer)
            return
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)

    @staticmethod
    def _drip(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        raw = f"HTTP/1.1 {answer.status} OK\r\nContent-Length: 2\r\n\r\nok".encode()
        try:
            for i in range(len(raw)):
                handler.wfile.write(raw[i : i + 1])
                handler.wfile.flush()
                time.sleep(answer.drip)
        except OSError:
            pass  # the sender gave up, as it should
        handler.close_connection = True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
