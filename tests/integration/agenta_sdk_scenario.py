"""Agenta's own SDK driving Lamina: run by `.venv-agenta/bin/python` (never imported by pytest).

    agenta_sdk_scenario.py <host> <api_key> <sync|async> <app_slug>

Calls the SDK's managers, unmodified, the way its documentation does, and prints one JSON object: each step's
outcome (`{"ok": true, "value": ...}` or `{"ok": false, "error": ...}`), the names of the steps in order, and
every connection the process tried to open off loopback (refused, so the SDK can never phone home).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

OFF_LOOPBACK_ATTEMPTS: list[str] = []


def _prompt(instruction: str, temperature: float) -> dict[str, Any]:
    """Agenta's PromptTemplate shape, which Lamina validates."""
    return {
        "prompt": {
            "messages": [{"role": "user", "content": f"{instruction} {{{{x}}}}"}],
            "template_format": "curly",
            "input_keys": ["x"],
            "llm_config": {"model": "gpt-4o-mini", "temperature": temperature},
        }
    }


PROMPT_V1 = _prompt("Say", 0.1)
PROMPT_V2 = _prompt("Shout", 0.7)


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str) or host == "localhost":
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _guard_network() -> None:
    """Refuse (and record) every name lookup or connection that is not loopback or a Unix socket."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name):
            OFF_LOOPBACK_ATTEMPTS.append(f"lookup {name}")
            raise socket.gaierror(socket.EAI_NONAME, f"off-loopback lookup refused: {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            OFF_LOOPBACK_ATTEMPTS.append(f"connect {address[0]}")
            raise ConnectionRefusedError(f"off-loopback connection refused: {address[0]}")

    def connect(sock: socket.socket, address: Any) -> None:
        _check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        _check(sock, address)
        return real_connect_ex(sock, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class Steps:
    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def record(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            value = call()
        except Exception as error:  # the scenario goes on: every step's outcome is reported
            self.results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]}
            traceback.print_exc(file=sys.stderr)
            return None
        self.results[name] = {"ok": True, "value": _plain(value)}
        return value

    async def arecord(self, name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await call()
        except Exception as error:
            self.results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]}
            traceback.print_exc(file=sys.stderr)
            return None
        self.results[name] = {"ok": True, "value": _plain(value)}
        return value


def run_sync(ag: Any, steps: Steps, app: str) -> None:
    from agenta.sdk.managers.apps import AppManager

    created = steps.record("app_create", lambda: AppManager.create(app_slug=app))
    app_id = created.app_id if created else None
    # The variant every Agenta quick start commits to first: "default", right after creating the app.
    steps.record(
        "variant_create",
        lambda: ag.VariantManager.create(parameters=PROMPT_V1, variant_slug="default", app_slug=app),
    )
    steps.record(
        "variant_commit",
        lambda: ag.VariantManager.commit(parameters=PROMPT_V2, variant_slug="default", app_slug=app),
    )
    steps.record("variant_list", lambda: ag.VariantManager.list(app_slug=app))
    steps.record("variant_history", lambda: ag.VariantManager.history(variant_slug="default", app_slug=app))
    steps.record(
        "deploy_latest_to_production",
        lambda: ag.DeploymentManager.deploy(
            variant_slug="default", environment_slug="production", app_slug=app
        ),
    )
    steps.record(
        "deploy_version_1_to_staging",
        lambda: ag.DeploymentManager.deploy(
            variant_slug="default", environment_slug="staging", app_slug=app, variant_version=1
        ),
    )
    steps.record(
        "config_production",
        lambda: ag.ConfigManager.get_from_registry(app_slug=app, environment_slug="production"),
    )
    steps.record(
        "config_staging_by_app_id",
        lambda: ag.ConfigManager.get_from_registry(app_id=app_id, environment_slug="staging"),
    )
    steps.record(
        "config_variant_version_1",
        lambda: ag.ConfigManager.get_from_registry(app_slug=app, variant_slug="default", variant_version=1),
    )
    steps.record(
        "config_variant_latest",
        lambda: ag.ConfigManager.get_from_registry(app_slug=app, variant_slug="default"),
    )
    fork = steps.record(
        "variant_fork",
        lambda: ag.VariantManager.fork(variant_slug="default", variant_version=1, app_slug=app),
    )
    fork_slug = fork.variant_slug if fork else "missing"
    steps.record("variant_delete", lambda: ag.VariantManager.delete(variant_slug=fork_slug, app_slug=app))
    steps.record("variant_list_after_delete", lambda: ag.VariantManager.list(app_slug=app))


async def run_async(ag: Any, steps: Steps, app: str) -> None:
    from agenta.sdk.managers.apps import AppManager

    created = await steps.arecord("app_create", lambda: AppManager.acreate(app_slug=app))
    app_id = created.app_id if created else None
    await steps.arecord(
        "variant_create",
        lambda: ag.VariantManager.acreate(parameters=PROMPT_V1, variant_slug="default", app_slug=app),
    )
    await steps.arecord(
        "variant_commit",
        lambda: ag.VariantManager.acommit(parameters=PROMPT_V2, variant_slug="default", app_slug=app),
    )
    await steps.arecord("variant_list", lambda: ag.VariantManager.alist(app_slug=app))
    await steps.arecord(
        "variant_history", lambda: ag.VariantManager.ahistory(variant_slug="default", app_slug=app)
    )
    await steps.arecord(
        "deploy_latest_to_production",
        lambda: ag.DeploymentManager.adeploy(
            variant_slug="default", environment_slug="production", app_slug=app
        ),
    )
    await steps.arecord(
        "deploy_version_1_to_staging",
        lambda: ag.DeploymentManager.adeploy(
            variant_slug="default", environment_slug="staging", app_slug=app, variant_version=1
        ),
    )
    await steps.arecord(
        "config_production",
        lambda: ag.ConfigManager.aget_from_registry(app_slug=app, environment_slug="production"),
    )
    await steps.arecord(
        "config_staging_by_app_id",
        lambda: ag.ConfigManager.aget_from_registry(app_id=app_id, environment_slug="staging"),
    )
    await steps.arecord(
        "config_variant_version_1",
        lambda: ag.ConfigManager.aget_from_registry(app_slug=app, variant_slug="default", variant_version=1),
    )
    await steps.arecord(
        "config_variant_latest",
        lambda: ag.ConfigManager.aget_from_registry(app_slug=app, variant_slug="default"),
    )
    fork = await steps.arecord(
        "variant_fork",
        lambda: ag.VariantManager.afork(variant_slug="default", variant_version=1, app_slug=app),
    )
    fork_slug = fork.variant_slug if fork else "missing"
    await steps.arecord(
        "variant_delete", lambda: ag.VariantManager.adelete(variant_slug=fork_slug, app_slug=app)
    )
    await steps.arecord("variant_list_after_delete", lambda: ag.VariantManager.alist(app_slug=app))


def main() -> None:
    host, api_key, mode, app = sys.argv[1:5]
    _guard_network()
    import agenta as ag

    steps = Steps()
    steps.record("init", lambda: ag.init(host=host, api_key=api_key))
    if mode == "async":
        asyncio.run(run_async(ag, steps, app))
    else:
        run_sync(ag, steps, app)
    print(json.dumps({"steps": steps.results, "off_loopback": OFF_LOOPBACK_ATTEMPTS}))


if __name__ == "__main__":
    main()
