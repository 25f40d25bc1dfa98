"""Agenta's own SDK driving Lamina's test sets and evaluators, run by `.venv-agenta/bin/python`:

    agenta_sdk_testsets_scenario.py <host> <api_key> <name_prefix>

Calls `ag.testsets` (acreate, afetch, aupsert, alist, aretrieve) and the evaluators manager (aupsert of a
built-in and of a custom evaluator, aretrieve), unmodified, and prints one JSON object: each step's outcome
and every connection the process tried to open off loopback (refused), as agenta_sdk_scenario.py does.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any

from agenta_sdk_scenario import OFF_LOOPBACK_ATTEMPTS, _guard_network, _plain

ROWS_V1 = [{"country": "France", "correct_answer": "Paris"}, {"country": "Japan", "correct_answer": "Tokyo"}]
ROWS_V2 = [*ROWS_V1, {"country": "Peru", "correct_answer": "Lima"}]


class Steps:
    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    async def __call__(self, step_name: str, call: Any, **kwargs: Any) -> Any:
        try:
            value = await call(**kwargs)
        except Exception as error:  # the scenario goes on: every step's outcome is reported
            self.results[step_name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]}
            traceback.print_exc(file=sys.stderr)
            return None
        self.results[step_name] = {"ok": True, "value": _plain(value)}
        return value


def is_paris(inputs: dict[str, Any], outputs: Any) -> float:
    """A custom evaluator: the SDK runs it client-side; Lamina stores its revision."""
    return float(outputs == "Paris")


async def scenario(ag: Any, step: Steps, prefix: str) -> None:
    from agenta.sdk.engines.running import builtin
    from agenta.sdk.managers import evaluators

    testsets = ag.testsets
    created = await step("testset_create", testsets.acreate, name=f"{prefix} capitals", data=ROWS_V1)
    testset_id = created.testset_id if created else None
    await step("testset_fetch", testsets.afetch, testset_id=testset_id)
    upserted = await step("testset_upsert", testsets.aupsert, name=f"{prefix} capitals", data=ROWS_V2)
    await step("testset_list", testsets.alist)
    await step("testset_retrieve_latest", testsets.aretrieve, testset_id=testset_id)
    await step(
        "testset_retrieve_v1",
        testsets.aretrieve,
        testset_revision_id=created.id if created else None,
    )
    await step(
        "testset_upsert_new",
        testsets.aupsert,
        name=f"{prefix} other",
        data=[{"q": "x"}],
    )
    _ = upserted
    builtin_id = await step(
        "evaluator_upsert_builtin",
        evaluators.aupsert,
        handler=builtin.auto_exact_match(correct_answer_key="correct_answer"),
        name=f"{prefix} exact",
    )
    stored = await step("evaluator_retrieve_builtin", evaluators.aretrieve, evaluator_revision_id=builtin_id)
    custom_id = await step(
        "evaluator_upsert_custom", evaluators.aupsert, handler=is_paris, name=f"{prefix} is paris"
    )
    await step("evaluator_retrieve_custom", evaluators.aretrieve, evaluator_revision_id=custom_id)
    again = await step(
        "evaluator_upsert_builtin_again",
        evaluators.aupsert,
        handler=builtin.auto_exact_match(correct_answer_key="answer"),
        name=f"{prefix} exact",
        # The SDK's slugs carry a random suffix: an update names the evaluator.
        evaluator_id=stored.evaluator_id if stored else None,
    )
    await step("evaluator_retrieve_builtin_again", evaluators.aretrieve, evaluator_revision_id=again)


def main() -> None:
    host, api_key, prefix = sys.argv[1:]
    _guard_network()
    import agenta as ag

    ag.init(host=host, api_key=api_key)
    step = Steps()
    asyncio.run(scenario(ag, step, prefix))
    print(json.dumps({"steps": step.results, "off_loopback": OFF_LOOPBACK_ATTEMPTS}, default=str))


if __name__ == "__main__":
    main()
