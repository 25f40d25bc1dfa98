"""The SSRF guard for user-supplied URLs: refused ranges, pinned resolution, no redirects, https outside local."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lamina.outbound import (
    OutboundRefusedError,
    check_url,
    outbound_client,
    pinned_address,
)
from lamina.settings import Settings
from lamina.state import configure


class _Receiver(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Receiver.seen_hosts.append(self.headers.get("Host", ""))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        else:
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _local_settings() -> Iterator[None]:
    configure(Settings(LAMINA_ENV="test"))  # type: ignore[call-arg]
    yield
    configure(None)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.7/hook",
        "http://172.16.3.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/hook",  # CGNAT (a cloud's metadata)
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::ffff:169.254.169.254]/hook",
        "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "http://[fd00:ec2::254]/hook",  # AWS IPv6 metadata
        "http://[fe80::1]/hook",
        "http://[::]/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
    ],
)
def test_refused_urls_are_refused_before_any_dns(url: str) -> None:
    with pytest.raises(OutboundRefusedError):
        check_url(url, allow_loopback=False)


def test_public_urls_pass_and_https_is_required_outside_local_mode() -> None:
    check_url("http://93.184.216.34/hook")
    check_url("https://hooks.example.com/x")
    configure(Settings(LAMINA_ENV="dev", LAMINA_SECRET_KEY="k" * 40, DATABASE_URL="x", REDIS_URL="y"))  # type: ignore[call-arg]
    with pytest.raises(OutboundRefusedError, match="https"):
        check_url("http://hooks.example.com/x")
    check_url("https://hooks.example.com/x")


def test_loopback_is_never_allowed_outside_local_mode() -> None:
    with pytest.raises(ValueError, match="LAMINA_OUTBOUND_ALLOW_LOOPBACK"):
        Settings(  # type: ignore[call-arg]
            LAMINA_ENV="prod",
            LAMINA_SECRET_KEY="k" * 40,
            DATABASE_URL="x",
            REDIS_URL="y",
            LAMINA_OUTBOUND_ALLOW_LOOPBACK="true",
        )


def test_a_name_with_any_private_answer_is_refused_and_numeric_forms_resolve_first() -> None:
    # GIVEN a name answering a public and a private address; WHEN pinned; THEN it is refused
    with pytest.raises(OutboundRefusedError, match="private"):
        pinned_address("mixed.test", 443, resolver=lambda host, port: ["93.184.216.34", "10.1.2.3"])
    # AND the OS resolver turns the decimal form of 127.0.0.1 into loopback, which is refused
    with pytest.raises(OutboundRefusedError, match="loopback"):
        pinned_address("2130706433", 80)
    assert pinned_address("pub.test", 443, resolver=lambda host, port: ["93.184.216.34"]) == "93.184.216.34"


def test_the_connection_goes_to_the_pinned_address_with_the_name_in_host(receiver_port: int) -> None:
    # GIVEN a name that resolves to loopback, and loopback allowed (tests only)
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    with outbound_client(allow_loopback=True, resolver=resolver) as client:
        # WHEN posting to it
        response = client.post(f"http://receiver.test:{receiver_port}/hook", content=b"{}")
        # THEN the request reached the pinned address and kept the name in Host
        assert response.status_code == 204
        assert _Receiver.seen_hosts[-1] == f"receiver.test:{receiver_port}"
        assert calls == ["receiver.test"]
        # AND a redirect (here to the metadata service) is returned, never followed
        redirect = client.post(f"http://receiver.test:{receiver_port}/redirect", content=b"{}")
        assert redirect.status_code == 302
        # AND the second request reused the checked address: the name was resolved once (PIN_TTL_S)
        assert calls == ["receiver.test"]
    # AND without the loopback allowance the same name is refused before connecting
    with (
        outbound_client(allow_loopback=False, resolver=resolver) as client,
        pytest.raises(OutboundRefusedError, match="loopback"),
    ):
        client.post(f"http://receiver.test:{receiver_port}/hook", content=b"{}")


def test_the_async_session_connects_only_to_checked_addresses(receiver_port: int) -> None:
    import asyncio

    import aiohttp

    from lamina.outbound_async import outbound_session

    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    async def post(allow_loopback: bool, url: str) -> tuple[int, str]:
        session = outbound_session(
            timeout=aiohttp.ClientTimeout(total=5), allow_loopback=allow_loopback, resolver=resolver
        )
        async with session, session.post(url, data=b"{}", allow_redirects=False) as response:
            return response.status, _Receiver.seen_hosts[-1]

    # GIVEN a name that resolves to loopback, and loopback allowed (tests only)
    # WHEN posting to it THEN the request reached the pinned address and kept the name in Host
    named = f"http://receiver.test:{receiver_port}"
    assert asyncio.run(post(True, f"{named}/hook")) == (204, f"receiver.test:{receiver_port}")
    # AND a redirect (to the metadata service) is returned, never followed
    assert asyncio.run(post(True, f"{named}/redirect"))[0] == 302
    assert calls == ["receiver.test", "receiver.test"]  # one session each, resolved through the guard
    # AND without the loopback allowance the name is refused when resolved, a literal before connecting
    seen = len(_Receiver.seen_hosts)
    for url in (f"{named}/hook", f"http://127.0.0.1:{receiver_port}/hook"):
        with pytest.raises(OutboundRefusedError, match="loopback"):
            asyncio.run(post(False, url))
    assert len(_Receiver.seen_hosts) == seen
