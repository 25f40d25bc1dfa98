"""Agenta's `aevaluate` (agenta.sdk.evaluations.preview, unmodified) driving Lamina, run by `.venv-agenta/bin/python`:

    agenta_sdk_aevaluate_scenario.py <host> <api_key> <fake_openai_base> <name_prefix>

The quick-start shape of Agenta's docs: an `@ag.application` that asks an OpenAI-compatible provider (the fake
server, over HTTP through litellm), a custom `@ag.evaluator`, a built-in evaluator, and an inline test set.
`aevaluate` creates the test set, application and evaluators through Lamina's API, runs the slice locally,
writes scenarios, results and metrics, and closes the run. Prints one JSON object: the outcome, and every
connection tried off loopback (refused).
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any

from agenta_sdk_scenario import OFF_LOOPBACK_ATTEMPTS, _guard_network, _plain  # type: ignore[import-not-found]

ROWS = [
    {"country": "France", "capital": "Paris"},
    {"country": "Japan", "capital": "Tokyo"},
    {"country": "Peru", "capital": "Lima"},
]


def build(ag: Any, fake_base: str, prefix: str) -> tuple[Any, list[Any]]:
    import litellm
    from agenta.sdk.engines.running import builtin

    @ag.application(slug=f"{prefix}-capitals", name=f"{prefix} capitals")
    async def capitals(country: str) -> str:
        response = await litellm.acompletion(
            model="openai/fake-model",
            api_base=fake_base,
            api_key="sk-fake",
            messages=[{"role": "user", "content": country}],
        )
        return str(response.choices[0].message.content)

    @ag.evaluator(slug=f"{prefix}-names-country", name=f"{prefix} names the country")
    async def names_country(country: str, outputs: str) -> dict[str, Any]:
        named = country in str(outputs)
        return {"score": 1.0 if named else 0.0, "success": named}

    says = builtin.auto_starts_with(prefix="fake says", name=f"{prefix} starts with")
    return capitals, [names_country, says]


async def run(ag: Any, report: dict[str, Any], fake_base: str, prefix: str) -> None:
    from agenta.sdk.evaluations import aevaluate

    application, evaluators = build(ag, fake_base, prefix)
    try:
        outcome = await aevaluate(
            name=f"{prefix} quick start",
            testsets=[ROWS],
            applications=[application],
            evaluators=evaluators,
        )
    except Exception as error:
        report["error"] = f"{error!r}\n{traceback.format_exc()[-4000:]}"
        return
    if outcome is None:
        report["error"] = "aevaluate returned None (the run was not created)"
        return
    report["run"] = _plain(outcome["run"])
    report["scenarios"] = [
        {
            "scenario": _plain(item["scenario"]),
            "status": str(getattr(item["status"], "value", item["status"])),
            "results": {key: _plain(value) for key, value in (item["results"] or {}).items()}
            if isinstance(item["results"], dict)
            else _plain(item["results"]),
        }
        for item in outcome["scenarios"]
    ]
    report["metrics"] = {name: _plain(value) for name, value in outcome["metrics"].items()}


def main() -> None:
    host, api_key, fake_base, prefix = sys.argv[1:5]
    _guard_network()
    import agenta as ag

    ag.init(host=host, api_key=api_key)
    report: dict[str, Any] = {}
    asyncio.run(run(ag, report, fake_base, prefix))
    print(json.dumps({**report, "off_loopback": OFF_LOOPBACK_ATTEMPTS}, default=str))


if __name__ == "__main__":
    main()
