"""The SSRF guard of `lamina.outbound` for asyncio: an aiohttp session that only connects to checked addresses.

aiohttp rather than httpx's AsyncClient: on the webhooks worker's loop, httpx's async stack (httpcore over
anyio) spent two to three times the CPU of its sync client per request, aiohttp a fifth to a tenth of it.

The same guarantees as `outbound_client`:
- every host name is resolved by `Pins` (checked against the refused ranges, ANY bad answer refuses, the
  answer kept PIN_TTL_S) through the connector's resolver, and aiohttp connects to exactly the address the
  resolver returned, keeping the name for `Host` and for TLS SNI and the certificate check, so DNS rebinding
  between the check and the connect cannot redirect a request; the connector keeps no DNS cache of its own;
- a URL whose host is a literal address never reaches the resolver in aiohttp, so the session's middleware
  checks it (and the scheme) before any connection is made;
- the environment's proxies are ignored (`trust_env=False`); a caller passes `allow_redirects=False` on
  each request (aiohttp has no session-wide setting), as `lamina.webhooks.delivery.send` does.
A session belongs to the event loop it was created on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from lamina.outbound import (
    OutboundRefusedError,
    Pins,
    Resolver,
    _allow_loopback,
    _is_local,
    refusal_reason,
    system_resolver,
)


class PinnedResolver(AbstractResolver):
    """The connector's resolver: the checked, pinned address of a name (resolved on a thread when not pinned
    yet, the system resolver blocks), or OutboundRefusedError."""

    def __init__(self, pins: Pins) -> None:
        self._pins = pins

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self._pins.cached(host, port)
        if address is None:
            address = await asyncio.to_thread(self._pins.resolve, host, port)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        pass


def _guard(pins: Pins) -> Any:
    """A client middleware refusing a scheme, or a literal address, the guard does not allow (before connecting)."""

    async def guard(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        url = request.url
        pins.check_scheme(url.scheme)
        try:
            literal = ipaddress.ip_address((url.host or "").split("%", 1)[0])
        except ValueError:
            return await handler(request)  # a name: the resolver checks what it resolves to
        reason = refusal_reason(literal, allow_loopback=pins.allow_loopback)
        if reason is not None:
            raise OutboundRefusedError(f"the URL's host is {reason}")
        return await handler(request)

    return guard


def outbound_session(
    *,
    timeout: aiohttp.ClientTimeout,
    allow_loopback: bool | None = None,
    resolver: Resolver = system_resolver,
    max_connections: int = 100,
) -> aiohttp.ClientSession:
    """An aiohttp session for user-supplied URLs: guarded, pinned, pooled, no proxies; create it on its loop."""
    pins = Pins(allow_loopback=_allow_loopback(allow_loopback), https_only=not _is_local(), resolver=resolver)
    connector = aiohttp.TCPConnector(
        resolver=PinnedResolver(pins), use_dns_cache=False, limit=max_connections, limit_per_host=0
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False, middlewares=(_guard(pins),)
    )
