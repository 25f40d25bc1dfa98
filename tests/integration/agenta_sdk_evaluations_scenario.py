"""Agenta's own SDK evaluation helpers driving Lamina, run by `.venv-agenta/bin/python`:

    agenta_sdk_evaluations_scenario.py <host> <api_key>

The loop `aevaluate` runs (`agenta.sdk.evaluations.{runs,scenarios,results,metrics}`, unmodified): create a
run the SDK drives itself, mint scenarios, write result cells in bulk and one by one, set scenario statuses,
refresh and read the metrics, close the run. Prints one JSON object: each step's outcome, and every
connection tried off loopback (refused).
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
import uuid
from typing import Any

from agenta_sdk_scenario import OFF_LOOPBACK_ATTEMPTS, _guard_network, _plain  # type: ignore[import-not-found]


async def steps(report: dict[str, Any]) -> None:
    from agenta.sdk.evaluations import metrics, results, runs, scenarios

    async def step(name: str, coroutine: Any) -> Any:
        try:
            value = await coroutine
        except Exception as error:
            report[name] = {"ok": False, "error": f"{error!r}\n{traceback.format_exc()[-2000:]}"}
            return None
        report[name] = {"ok": True, "value": _plain(value)}
        return value

    testset, application, evaluator = (uuid.uuid4() for _ in range(3))
    run = await step(
        "runs.acreate",
        runs.acreate(
            name="sdk loop",
            testset_steps={str(testset): "custom"},
            application_steps={str(application): "custom"},
            evaluator_steps={str(evaluator): "custom"},
            repeats=1,
        ),
    )
    if run is None:
        return
    minted = await step("scenarios.aadd", scenarios.aadd(run_id=run.id, count=2))
    extra = await step("scenarios.acreate", scenarios.acreate(run_id=run.id, meta={"source": "sdk"}))
    if not minted or extra is None:
        return
    cells = []
    for index, scenario in enumerate(minted):
        base = {"run_id": str(run.id), "scenario_id": str(scenario.id), "repeat_idx": 0}
        cells.append({**base, "step_key": "application", "status": "success", "trace_id": uuid.uuid4().hex})
        cells.append(
            {**base, "step_key": "evaluator", "status": "success" if index == 0 else "failure",
             "trace_id": uuid.uuid4().hex, "error": None if index == 0 else {"message": "boom"}}
        )  # fmt: skip
    await step("results.apopulate", results.apopulate(results=cells))
    await step(
        "results.acreate",
        results.acreate(
            run_id=run.id, scenario_id=extra.id, step_key="application", trace_id=uuid.uuid4().hex
        ),
    )
    for index, scenario in enumerate(minted):
        await step(
            f"scenarios.aedit_scenario.{index}",
            scenarios.aedit_scenario(scenario_id=scenario.id, status="success" if index == 0 else "errors"),
        )
    await step("metrics.arefresh", metrics.arefresh(run.id))
    await step("runs.aclose", runs.aclose(run_id=run.id, status="errors"))
    await step("metrics.aquery_global", metrics.aquery_global(run_id=run.id))
    await step("metrics.aquery_variational", metrics.aquery_variational(run_id=run.id))
    await step("runs.afetch", runs.afetch(run_id=run.id))
    # A closed run refuses edits: the SDK's adapter skips the write (None) instead of raising.
    await step(
        "scenarios.aedit_scenario.closed", scenarios.aedit_scenario(scenario_id=extra.id, status="success")
    )


def main() -> None:
    host, api_key = sys.argv[1:3]
    _guard_network()
    import agenta as ag

    ag.init(host=host, api_key=api_key)
    report: dict[str, Any] = {}
    asyncio.run(steps(report))
    print(json.dumps({"steps": report, "off_loopback": OFF_LOOPBACK_ATTEMPTS}, default=str))


if __name__ == "__main__":
    main()
