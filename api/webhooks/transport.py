"""POSTing a webhook without letting its URL reach inside our network (no SSRF).

An admin types the URL, so it may name anything: the cloud's metadata service at
169.254.169.254, a database on 10.0.0.5, a name whose DNS answers 127.0.0.1. Hence:

- only https URLs, without credentials in them;
- the host is resolved once, and EVERY address it resolves to is checked (one private answer
  among public ones refuses the delivery: which one a connection would use is not ours to pick);
  IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses are checked as the IPv4 address they carry;
- the connection goes to a checked address itself, never through a second lookup (which DNS
  rebinding could answer differently), with TLS for the URL's host name (SNI, certificate
  checked against that name, against settings.WEBHOOK_CA_FILE when set);
- connect and read timeouts, and a watchdog that closes the socket at their sum, so a receiver
  that drips bytes cannot hold a worker past its lease;
- no redirect is followed (a 3xx is a failed attempt), and only the start of the answer is read.

settings.WEBHOOK_ALLOW_PRIVATE lifts the address check (a test receiver on 127.0.0.1, an
intranet deployment); the other rules stay.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
# Read this much of an answer at most; the log keeps WEBHOOK_RESPONSE_KEEP characters of it.
_READ_AT_MOST = 16 * 1024


class DeliveryRefused(Exception):
    """The URL or an address it resolves to may not be called; nothing was sent."""


class DeliveryFailed(Exception):
    """The attempt was made and failed before an HTTP answer (connection, TLS, timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the start of it only
    location: str = ""


def url_problem(url: str) -> str | None:
    """What makes `url` unusable as an endpoint, before any lookup; None when it is fine."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "That is not a valid URL."
    if parts.scheme != "https":
        return "Use an https:// URL: deliveries are only sent over HTTPS."
    if not parts.hostname:
        return "The URL has no host name."
    if parts.username is not None or parts.password is not None:
        return "Leave credentials out of the URL; verify deliveries by their signature instead."
    if port == 0:
        return "The URL's port is not valid."
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    return address_problem(literal) if not settings.WEBHOOK_ALLOW_PRIVATE else None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why a delivery may not go to `ip` (private, loopback, link-local, ...), or None for a
    public address. An IPv6 address carrying an IPv4 one is judged by that IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(inner)
            return f"{ip} carries {problem}" if problem else None
    checks = [
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.version == 4 and ip in _SHARED, "shared (carrier-grade NAT)"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        # Whatever else IANA lists as not globally reachable (documentation, benchmarking...).
        (not ip.is_global, "not globally reachable"),
    ]
    for hit, what in checks:
        if hit:
            return f"{ip} is a {what} address"
    return None


# getaddrinfo takes no timeout; a lookup runs here so a slow name server costs an attempt at
# most WEBHOOK_CONNECT_TIMEOUT (counted in the delivery's lease), never the lease itself.
_lookups = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, looked up once, within WEBHOOK_CONNECT_TIMEOUT;
    DeliveryFailed when none, or when the lookup takes longer."""
    lookup = _lookups.submit(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    try:
        infos = lookup.result(timeout=settings.WEBHOOK_CONNECT_TIMEOUT)
    except concurrent.futures.TimeoutError as exc:
        lookup.cancel()
        raise DeliveryFailed(
            f"Looking up {host} took longer than {settings.WEBHOOK_CONNECT_TIMEOUT} s."
        ) from exc
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryFailed(f"Could not resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # A scoped IPv6 address ("fe80::1%eth0") is judged without its zone.
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise DeliveryFailed(f"{host} resolves to no address.")
    return addresses


def checked_addresses(url: str) -> tuple[str, int, list[IPAddress]]:
    """The URL's host, port and addresses, each checked; DeliveryRefused otherwise."""
    problem = url_problem(url)
    if problem:
        raise DeliveryRefused(problem)
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    addresses = resolve(host, port)
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        problems = [p for p in map(address_problem, addresses) if p]
        if problems:
            raise DeliveryRefused(f"{host} resolves to a forbidden address: {'; '.join(problems)}.")
    return host, port, addresses


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `address` (already checked) while speaking TLS and HTTP for `host`."""

    def __init__(self, host, port, *, address: IPAddress, context, connect_timeout, read_timeout):
        super().__init__(host, port, timeout=read_timeout, context=context)
        self._address = address
        self._connect_timeout = connect_timeout

    def connect(self):
        sock = socket.create_connection(
            (str(self._address), self.port), timeout=self._connect_timeout
        )
        try:
            # The TLS handshake is part of connecting; reads after it get the read timeout.
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock.settimeout(self.timeout)


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.WEBHOOK_CA_FILE or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` under the rules above. Returns the answer, whatever its status;
    raises DeliveryRefused (nothing sent) or DeliveryFailed (no HTTP answer).

    The lookup ends within the connect timeout, and the rest of the attempt, over every
    address tried, within the connect and read timeouts together: a delivery's lease
    outlasts all three, so an attempt never outlives it."""
    host, port, addresses = checked_addresses(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connect_timeout = settings.WEBHOOK_CONNECT_TIMEOUT
    read_timeout = settings.WEBHOOK_READ_TIMEOUT
    deadline = time.monotonic() + connect_timeout + read_timeout
    context = _tls_context()
    last_error: Exception | None = None
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            last_error = TimeoutError()
            break
        connection = _PinnedHTTPSConnection(
            host,
            port,
            address=address,
            context=context,
            connect_timeout=min(connect_timeout, left),
            read_timeout=read_timeout,
        )
        with _Watchdog(connection, left) as watchdog:
            try:
                connection.connect()
            except OSError as exc:  # refused, unreachable, timed out, TLS: try the next address
                last_error = TimeoutError() if watchdog.fired else exc
                continue
            try:
                connection.request(
                    "POST",
                    path,
                    body=body,
                    headers={
                        **headers,
                        "Content-Type": "application/json",
                        "User-Agent": "Trunkpool-Webhooks/1",
                    },
                )
                response = connection.getresponse()
                text = response.read(_READ_AT_MOST).decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException) as exc:
                raise DeliveryFailed(
                    _describe(TimeoutError() if watchdog.fired else exc, host)
                ) from exc
            return Answer(
                status=response.status,
                body=text[: settings.WEBHOOK_RESPONSE_KEEP],
                location=(response.getheader("Location") or "")[:300],
            )
    raise DeliveryFailed(_describe(last_error, host))


class _Watchdog:
    """Cuts the connection's socket after `seconds`, waking any read blocked on it (a receiver
    dripping one byte at a time never trips the read timeout); closes the connection on exit."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float):
        self.connection = connection
        self.fired = False
        self.timer = threading.Timer(seconds, self._cut)
        self.timer.daemon = True

    def _cut(self) -> None:
        self.fired = True
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc_info):
        self.timer.cancel()
        self.connection.close()
        return False


def _describe(exc: Exception | None, host: str) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate of {host} not accepted: {exc.verify_message}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{host} did not answer in time."
    return f"Could not deliver to {host}: {exc}"[:500]
