"""Outbound HTTP to URLs a user typed (webhooks, webhook evaluators): the SSRF guard.

A user-supplied URL must not reach the stack's own network: private, loopback, link-local (the cloud metadata
service at 169.254.169.254 lives there), CGNAT, multicast, unspecified and other non-global ranges are refused,
for IPv4 and IPv6 alike (an IPv4-mapped, NAT64 or 6to4 IPv6 address is judged by the IPv4 address it carries).

The host is resolved once (the answer reused by the client for PIN_TTL_S) and the connection goes to the
address that was checked (the URL's host is swapped for the pinned IP, the `Host` header and the TLS
SNI/certificate check keep the name), so a DNS answer that changes between the check and the connect (DNS
rebinding) cannot redirect it. Redirects are never
followed, the environment's proxies are ignored, and outside local mode only https is allowed.

Loopback is allowed only when `Settings.outbound_allow_loopback` is set, which the settings refuse outside
local mode and tests (a receiver on 127.0.0.1 in a test or on a developer's machine).

Usage:
    check_url(url)                       # at write time: scheme and literal-address checks, no DNS
    with outbound_client() as client:    # at send time: every request resolved, checked and pinned
        client.post(url, content=body)
    outbound_session()                   # the same for asyncio (lamina.outbound_async, aiohttp)
An OutboundRefusedError (a 422 at the API) says why a URL was refused.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from lamina.errors import ValidationFailedError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 10.0
POOL_TIMEOUT_S = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(
    connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S, write=WRITE_TIMEOUT_S, pool=POOL_TIMEOUT_S
)
MAX_URL_CHARS = 2048
# How long a client reuses a host's checked address. Short, so a moved receiver is followed soon; the reuse
# is still safe against rebinding: connections only ever go to an address that passed the check.
PIN_TTL_S = 30.0
PIN_CACHE_MAX = 10_000
ALLOWED_SCHEMES_LOCAL = ("http", "https")
ALLOWED_SCHEMES = ("https",)

# Ranges refused even where `is_global` would let them through, named for the reader.
_EXTRA_BLOCKED: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT (Alibaba's metadata service is 100.100.100.200)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (Oracle's metadata is 192.0.0.192)
    ipaddress.ip_network("224.0.0.0/4"),  # multicast
    ipaddress.ip_network("240.0.0.0/4"),  # reserved, broadcast
    ipaddress.ip_network("fd00:ec2::/32"),  # AWS's IPv6 metadata endpoint (also ULA, listed to be plain)
    ipaddress.ip_network("ff00::/8"),  # IPv6 multicast
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefusedError(ValidationFailedError):
    """A URL the guard will not connect to: its scheme, or an address in a refused range."""

    code = "outbound_refused"


def _allow_loopback(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    from lamina.settings import get_settings

    return get_settings().outbound_allow_loopback


def _is_local() -> bool:
    from lamina.settings import get_settings

    return get_settings().is_local


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal_reason(address: IpAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `address` may not be connected to, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return refusal_reason(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address (cloud metadata)"
    if address.is_multicast:
        return "a multicast address"
    if any(address in network for network in _EXTRA_BLOCKED if network.version == address.version):
        return "a reserved, CGNAT or metadata address"
    if address.is_private or not address.is_global:
        return "a private address"
    return None


def check_url(url: str, *, allow_loopback: bool | None = None) -> None:
    """Refuse a URL that can never be sent to (scheme, no host, a literal refused address), without DNS."""
    if len(url) > MAX_URL_CHARS:
        raise OutboundRefusedError(f"the URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as error:
        raise OutboundRefusedError(f"not a URL: {error}") from error
    schemes = ALLOWED_SCHEMES_LOCAL if _is_local() else ALLOWED_SCHEMES
    if parts.scheme not in schemes:
        raise OutboundRefusedError(f"the URL's scheme must be {' or '.join(schemes)}")
    if not parts.hostname:
        raise OutboundRefusedError("the URL has no host")
    if parts.username or parts.password:
        raise OutboundRefusedError("the URL must not carry credentials; use headers")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    reason = refusal_reason(literal, allow_loopback=_allow_loopback(allow_loopback))
    if reason is not None:
        raise OutboundRefusedError(f"the URL's host is {reason}")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the OS resolver, numeric forms like `2130706433` included)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundRefusedError(f"cannot resolve {host!r}: {error}") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pinned_address(
    host: str, port: int, *, allow_loopback: bool = False, resolver: Resolver = system_resolver
) -> str:
    """Resolve `host` once and return the address to connect to; refuse if ANY answer is in a refused range.

    Every answer is checked, not just the first: a name answering both a public and a private address would
    otherwise reach the private one whenever the connection falls back to it.
    """
    addresses = resolver(host, port)
    if not addresses:
        raise OutboundRefusedError(f"{host!r} resolves to no address")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        reason = refusal_reason(address, allow_loopback=allow_loopback)
        if reason is not None:
            raise OutboundRefusedError(f"{host!r} resolves to {reason}")
    return addresses[0].split("%", 1)[0]


class Pins:
    """A transport's checked addresses, per host and port, each kept for PIN_TTL_S (a refusal is never kept:
    it is raised again on the next request)."""

    def __init__(self, *, allow_loopback: bool, https_only: bool, resolver: Resolver) -> None:
        self._allow_loopback = allow_loopback
        self._https_only = https_only
        self._resolver = resolver
        self._pins: dict[tuple[str, int], tuple[str, float]] = {}

    @property
    def allow_loopback(self) -> bool:
        return self._allow_loopback

    def check_scheme(self, scheme: str) -> None:
        if scheme not in (ALLOWED_SCHEMES if self._https_only else ALLOWED_SCHEMES_LOCAL):
            raise OutboundRefusedError(f"{scheme}:// is not allowed here")

    def target(self, request: httpx.Request) -> tuple[str, int]:
        """The request's host and port, after its scheme was checked."""
        url = request.url
        self.check_scheme(url.scheme)
        return url.host, url.port or (443 if url.scheme == "https" else 80)

    def cached(self, host: str, port: int) -> str | None:
        pinned = self._pins.get((host, port))
        if pinned is not None and pinned[1] > time.monotonic():
            return pinned[0]
        return None

    def resolve(self, host: str, port: int) -> str:
        """Resolve and check `host` (blocking: the system resolver), and keep its address."""
        address = pinned_address(host, port, allow_loopback=self._allow_loopback, resolver=self._resolver)
        if len(self._pins) >= PIN_CACHE_MAX:
            self._pins.clear()
        self._pins[(host, port)] = (address, time.monotonic() + PIN_TTL_S)
        return address

    @staticmethod
    def redirect(request: httpx.Request, address: str) -> None:
        """Send `request` to the checked `address`, its name kept in `Host` and in the TLS SNI/certificate check."""
        url = request.url
        request.url = url.copy_with(host=address)
        # httpx set `Host` from the original URL when it built the request; TLS must verify the name, too.
        request.headers.setdefault("Host", url.netloc.decode("ascii"))
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}


class PinnedTransport(httpx.BaseTransport):
    """Sends each request to the address its host resolved to when checked, keeping `Host` and TLS SNI.

    Connections are pooled per pinned address and port: one to an address serves any name resolving to it.
    A host's checked address is kept for PIN_TTL_S, so a worker sending to one receiver many times resolves
    it once rather than per request.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        https_only: bool = True,
        resolver: Resolver = system_resolver,
        **transport_options: Any,
    ) -> None:
        self._pins = Pins(allow_loopback=allow_loopback, https_only=https_only, resolver=resolver)
        self._inner = httpx.HTTPTransport(trust_env=False, **transport_options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host, port = self._pins.target(request)
        address = self._pins.cached(host, port) or self._pins.resolve(host, port)
        Pins.redirect(request, address)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def outbound_client(
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    allow_loopback: bool | None = None,
    resolver: Resolver = system_resolver,
    max_connections: int = 100,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An httpx client for user-supplied URLs: guarded, pinned, no redirects, no proxies, bounded in time."""
    transport = PinnedTransport(
        allow_loopback=_allow_loopback(allow_loopback),
        https_only=not _is_local(),
        resolver=resolver,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )
