"""Agenta's own SDK driving Lamina, run by `.venv-agenta/bin/python` (pytest imports only its prompts):

    agenta_sdk_scenario.py <host> <api_key> <app_slug_prefix> <mode>...   (mode: sync | async)

Calls the SDK's managers, unmodified, as its documentation does (their sync or their async forms), and prints
one JSON object: per mode (on its own application, `<prefix>-<mode>`), each step's outcome (`{"ok": true,
"value": ...}` or `{"ok": false, "error": ...}`); and every connection the process tried to open off loopback
(refused, so the SDK can never phone home). One process runs every mode: importing agenta takes seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import sys
import traceback
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
    """Runs each step with the SDK's sync method (`create`) or its async twin (`acreate`), recording the outcome."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.results: dict[str, dict[str, Any]] = {}

    async def __call__(self, name: str, manager: Any, method: str, **kwargs: Any) -> Any:
        try:
            if self.mode == "async":
                value = await getattr(manager, f"a{method}")(**kwargs)
            else:
                value = getattr(manager, method)(**kwargs)
        except Exception as error:  # the scenario goes on: every step's outcome is reported
            self.results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]}
            traceback.print_exc(file=sys.stderr)
            return None
        self.results[name] = {"ok": True, "value": _plain(value)}
        return value


async def scenario(ag: Any, step: Steps, app: str) -> None:
    from agenta.sdk.managers.apps import AppManager

    variants, deployments, configs = ag.VariantManager, ag.DeploymentManager, ag.ConfigManager
    created = await step("app_create", AppManager, "create", app_slug=app)
    app_id = created.app_id if created else None
    # The variant Agenta's quick start commits to first, right after creating the app: "default".
    default = {"variant_slug": "default", "app_slug": app}
    await step("variant_create", variants, "create", parameters=PROMPT_V1, **default)
    await step("variant_commit", variants, "commit", parameters=PROMPT_V2, **default)
    # A variant added and never committed to (as when a commit is refused): listed and fetched as empty.
    await step("variant_add_uncommitted", variants, "add", variant_slug="draft", app_slug=app)
    await step("variant_list", variants, "list", app_slug=app)
    await step("config_uncommitted", configs, "get_from_registry", variant_slug="draft", app_slug=app)
    await step("variant_history", variants, "history", **default)
    await step("deploy_latest_to_production", deployments, "deploy", environment_slug="production", **default)
    await step(
        "deploy_v1_to_staging",
        deployments,
        "deploy",
        environment_slug="staging",
        variant_version=1,
        **default,
    )
    await step("config_production", configs, "get_from_registry", app_slug=app, environment_slug="production")
    await step(
        "config_staging_by_app_id", configs, "get_from_registry", app_id=app_id, environment_slug="staging"
    )
    # Production moves to version 1; its environment version 1 still serves what it served first.
    await step(
        "deploy_v1_to_production",
        deployments,
        "deploy",
        environment_slug="production",
        variant_version=1,
        **default,
    )
    await step(
        "config_production_now", configs, "get_from_registry", app_slug=app, environment_slug="production"
    )
    await step(
        "config_production_env_v1",
        configs,
        "get_from_registry",
        app_slug=app,
        environment_slug="production",
        environment_version=1,
    )
    await step("config_variant_v1", configs, "get_from_registry", variant_version=1, **default)
    await step("config_variant_latest", configs, "get_from_registry", **default)
    fork = await step("variant_fork", variants, "fork", variant_version=1, **default)
    fork_slug = fork.variant_slug if fork else "missing"
    await step("variant_delete", variants, "delete", variant_slug=fork_slug, app_slug=app)
    await step("variant_list_after_delete", variants, "list", app_slug=app)
    await step("app_list", AppManager, "list")
    await step("app_update", AppManager, "update", app_id=app_id, app_slug=f"{app}-renamed")
    await step("app_delete", AppManager, "delete", app_id=app_id)
    await step("app_list_after_delete", AppManager, "list")


def main() -> None:
    host, api_key, prefix, *modes = sys.argv[1:]
    _guard_network()
    import agenta as ag

    ag.init(host=host, api_key=api_key)
    results = {}
    for mode in modes:
        step = Steps(mode)
        asyncio.run(scenario(ag, step, f"{prefix}-{mode}"))
        results[mode] = step.results
    print(json.dumps({"modes": results, "off_loopback": OFF_LOOPBACK_ATTEMPTS}))


if __name__ == "__main__":
    main()
