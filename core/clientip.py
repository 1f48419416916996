"""The client's address, by one rule for every caller (sign-in throttling, the password-reset
limit, any throttle keyed by address).

`X-Forwarded-For` is only words the client may have written itself, unless a proxy we run wrote
them. So the header counts only when settings say which proxies stand in front:

- `TRUSTED_PROXY_COUNT = N` (N > 0): exactly N proxies, each appending the address it was
  connected from; the client is the Nth entry from the right. Entries left of it were sent by the
  client and are ignored, so rotating them buys nothing.
- `TRUSTED_PROXIES = [addresses or networks]`: walking from the socket's address leftwards
  through the header, every hop inside those networks is a proxy; the first one outside is the
  client.

Otherwise, and whenever the header is missing, too short for the configured proxies or holds
something that is not an address, the answer is the socket's address (`REMOTE_ADDR`).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


def client_address(request) -> str:
    """The address of whoever sent `request`, by the settings above."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    proxies = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not count and not proxies:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [_address(part) for part in header.split(",")] if header.strip() else []
    if count:
        if len(hops) < count:
            return remote  # fewer hops than proxies: this request did not come through them
        return hops[-count] or remote
    chain = [*hops, _address(remote)]
    for hop in reversed(chain):
        if hop is None:
            return remote  # garbage inside the chain: trust nothing the client wrote
        if not any(ipaddress.ip_address(hop) in net for net in proxies):
            return hop
    return chain[0] or remote  # every hop a proxy: the left-most is the nearest to a client


def _address(text: str) -> str | None:
    """One header entry as a plain address ("1.2.3.4:80" and "[::1]:80" lose their port), or
    None when it is not an address."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)
