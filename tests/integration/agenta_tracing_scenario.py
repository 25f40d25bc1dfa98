"""Agenta's own SDK tracing into Lamina, run by the agenta venv's python (never imported by pytest):

    agenta_tracing_scenario.py <host> <api_key> <marker>

`ag.init` then nested `@ag.instrument()` functions with inputs and outputs, exported by the SDK's own OTLP
exporter; prints one JSON object listing every connection attempted off loopback (refused).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from typing import Any

OFF_LOOPBACK_ATTEMPTS: list[str] = []


def _is_loopback(host: Any) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _guard_network() -> None:
    """Refuse (and record) every name lookup or connection that is not loopback or a Unix socket."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name):
            OFF_LOOPBACK_ATTEMPTS.append(f"lookup {name}")
            raise socket.gaierror(socket.EAI_NONAME, f"off-loopback lookup refused: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            OFF_LOOPBACK_ATTEMPTS.append(f"connect {address[0]}")
            raise ConnectionRefusedError(f"off-loopback connection refused: {address[0]}")
        return real_connect(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]


def main() -> int:
    host, api_key, marker = sys.argv[1:4]
    _guard_network()
    import agenta as ag

    ag.init(host=host, api_key=api_key)

    @ag.instrument(spankind="TOOL")
    def shout(text: str) -> dict[str, str]:
        return {"shouted": text.upper()}

    @ag.instrument(spankind="WORKFLOW")
    def pipeline(question: str, marker: str) -> dict[str, Any]:
        return {"answer": shout(question), "marker": marker}

    pipeline("why is the sky blue", marker)
    ag.tracing.tracer_provider.force_flush()
    print(json.dumps({"off_loopback": OFF_LOOPBACK_ATTEMPTS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
