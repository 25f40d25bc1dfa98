"""Evaluation fan-out: 1,000 scenarios against a provider answering after 50 ms, at concurrency 20.

The run is created through the API (its scenarios are written and staged on the `evaluations` queue in
batches of 20), then the local SQS event-source mapping (`lamina_local.sqs_poller`, configured as the
template configures EvaluationsWorkerFunction: batch size 5, at most 5 concurrent invocations) feeds the
worker's Lambda handler. Each invocation runs its batch's scenarios concurrently on one event loop (the
services layer is async), as many as the run's slots allow: the run's concurrency is shared across
invocations through Redis, so 20 scenarios are in flight whichever invocations hold them.

The wall time, from the create request to the run's `finished` state, is reported as a ratio to the
ideal, 1,000 x 50 ms / 20 = 2.5 s (the fake provider's latency is the only unavoidable cost).

    DATABASE_URL=... .venv/bin/python bench/evaluation_fanout.py [--scenarios 1000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.registry_retrieve import (
    ROOT,
    Context,
    http_event,
    run_cleanups,
    start_scratch_stack,
)
from tests.fake_openai import fake_openai_server

PROVIDER_LATENCY_S = 0.05
GOAL_RATIO = 1.25
PROVIDER = "fakeai"


def _serve_fake(latency_s: float, pipe: Any) -> None:
    """The fake provider in a process of its own: its threads must not share the worker's GIL."""
    with fake_openai_server() as fake:
        fake.latency_s = latency_s
        pipe.send(fake.api_base)
        pipe.recv()  # until the benchmark is done


def start_fake_provider(latency_s: float) -> tuple[str, Any]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_fake, args=(latency_s, child), daemon=True)
    process.start()
    api_base = parent.recv()

    def stop() -> None:
        parent.send("stop")
        process.join(5)

    return str(api_base), stop


async def litellm_floor(api_base: str, calls: int, concurrency: int) -> float:
    """The same calls made by litellm alone, `concurrency` at a time: what the client library costs here."""
    from lamina.services.llm import litellm

    module = litellm()
    limit = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with limit:
            await module.acompletion(
                model="openai/fake-model",
                messages=[{"role": "user", "content": f"Say hi to n{index}."}],
                api_base=api_base,
                api_key="sk-bench-floor-0001",
                num_retries=0,
                max_retries=0,
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(calls)))
    return time.perf_counter() - started


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def _testset(project_id: uuid.UUID, count: int) -> uuid.UUID:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluations.worker import service_principal
    from lamina.testsets import service as testsets

    with unit_of_work() as session:
        principal = service_principal(session, project_id)
        testset = testsets.create_testset(session, principal, slug="fanout", name="fanout")
        variant = testsets.create_variant(session, principal, testset.id, slug="fanout-main")
        rows = [
            {"data": {"name": f"n{i}", "correct_answer": f"fake says: Say hi to n{i}."}} for i in range(count)
        ]
        return testsets.commit_testcases(session, principal, variant.id, testcases=rows).id


def _evaluator(project_id: uuid.UUID) -> uuid.UUID:
    from lamina.artifacts import revisions
    from lamina.artifacts import service as artifacts
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluations.worker import service_principal
    from lamina.evaluators.service import EVALUATORS

    with unit_of_work() as session:
        principal = service_principal(session, project_id)
        evaluator = artifacts.create_artifact(session, EVALUATORS, principal, slug="exact", name="exact")
        variant = artifacts.create_variant(session, EVALUATORS, principal, evaluator.id, slug="exact-main")
        data = {
            "uri": "agenta:builtin:auto_exact_match:v0",
            "parameters": {"correct_answer_key": "correct_answer"},
        }
        return revisions.commit(session, EVALUATORS, principal, variant.id, data=data).id


def run_async(coroutine: Any) -> Any:
    """`asyncio.run`, then a fresh current loop again: Mangum (the API handler) runs on the thread's loop."""
    try:
        return asyncio.run(coroutine)
    finally:
        asyncio.set_event_loop(asyncio.new_event_loop())


async def _pump(source: Any, create_run: Any, done: Any, timeout_s: float) -> tuple[float, float]:
    """Start the event-source mapping, then create the run and wait for it to finish: (wall s, CPU s) from
    the create request on. The mapping is polling before the run exists, as Lambda's always is (its client's
    start-up is not the run's cost)."""
    await source.start()
    try:

        def create() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs on the calling thread's loop
            create_run()

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.to_thread(create)
        deadline = time.monotonic() + timeout_s
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline:
                raise TimeoutError("the run did not finish in time")
            await asyncio.sleep(0.05)
        return time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await source.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    backends, env, cleanups = start_scratch_stack()
    try:
        import boto3

        session = boto3.session.Session(
            region_name="us-east-1",
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        )
        sqs = session.client("sqs", endpoint_url=backends.aws.url)
        env["LAMINA_BUCKET"] = f"lamina-bench-{uuid.uuid4().hex[:6]}"
        session.client("s3", endpoint_url=backends.aws.url).create_bucket(Bucket=env["LAMINA_BUCKET"])
        queue_name = f"lamina-bench-evaluations-{uuid.uuid4().hex[:6]}"
        env["EVALUATIONS_QUEUE_URL"] = sqs.create_queue(
            QueueName=queue_name, Attributes={"VisibilityTimeout": "300"}
        )["QueueUrl"]
        env["EVENTS_QUEUE_URL"] = sqs.create_queue(QueueName=f"lamina-bench-events-{uuid.uuid4().hex[:6]}")[
            "QueueUrl"
        ]

        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.service import seed_local_user
        from lamina_local.invoker import CallableInvoker
        from lamina_local.model import QueueSpec, SqsMapping
        from lamina_local.sqs_poller import SqsEventSource

        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        with unit_of_work() as db:
            _, project, api_key = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
        project_id = project.id
        auth = f"ApiKey {api_key}"
        api = _load(ROOT / "functions" / "api" / "app.py", "bench_api_app")
        worker = _load(ROOT / "functions" / "workers" / "evaluations.py", "bench_evaluations_worker")
        context = Context()

        def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
            response = api(http_event(method, path, body, auth), context)
            assert response["statusCode"] == 200, response["body"]
            answer: dict[str, Any] = json.loads(response["body"])
            return answer

        api_base, stop_fake = start_fake_provider(PROVIDER_LATENCY_S)
        cleanups.insert(0, stop_fake)
        provider = {"provider": "openai", "api_base": api_base, "api_key": "sk-bench-fanout-0001"}
        call(
            "POST",
            "/api/secrets/",
            {"secret": {"name": PROVIDER, "kind": "custom", "value": json.dumps(provider)}},
        )
        prompt = {
            "messages": [{"role": "user", "content": "Say hi to {{name}}."}],
            "template_format": "curly",
            "llm_config": {"model": f"{PROVIDER}/fake-model"},
        }
        app = call(
            "POST",
            "/api/simple/applications/",
            {"application": {"slug": "fanout", "data": {"parameters": {"prompt": prompt}}}},
        )["application"]["revision_id"]
        testset = _testset(project_id, args.scenarios)
        evaluator = _evaluator(project_id)
        # Warm litellm (its import and its first call's one-off work) once, as in a warm Lambda container.
        run_async(litellm_floor(api_base, 1, 1))

        mapping = SqsMapping(
            function="EvaluationsWorkerFunction",
            queue="EvaluationsQueue",
            batch_size=5,
            report_batch_item_failures=True,
            maximum_concurrency=5,
        )
        queue = QueueSpec("EvaluationsQueue", queue_name, 300, 3600, 0, None, None)
        invoker = CallableInvoker({"EvaluationsWorkerFunction": worker}, timeout_s=300)
        source = SqsEventSource(mapping, queue, invoker, endpoint_url=backends.aws.url)
        body = {
            "evaluation": {
                "name": "fanout",
                "data": {
                    "testset_steps": {str(testset): "custom"},
                    "application_steps": {app: "custom"},
                    "evaluator_steps": {str(evaluator): "auto"},
                    "concurrency": args.concurrency,
                },
            }
        }
        state: dict[str, Any] = {}

        def finished() -> bool:
            from lamina.evaluations.models import EvaluationRun

            with unit_of_work() as db:
                status = db.get(EvaluationRun, uuid.UUID(state["run_id"])).status  # type: ignore[union-attr]
            return status in ("success", "errors", "failure", "cancelled")

        def create_run() -> None:
            state["run_id"] = call("POST", "/api/simple/evaluations/", body)["evaluation"]["id"]

        wall_s, run_cpu_s = run_async(_pump(source, create_run, finished, args.timeout))
        cpu_started = time.process_time()
        floor_s = run_async(litellm_floor(api_base, args.scenarios, args.concurrency))
        floor_cpu_s = time.process_time() - cpu_started
        run = call("GET", f"/api/evaluations/runs/{state['run_id']}")["run"]

        ideal_s = args.scenarios * PROVIDER_LATENCY_S / args.concurrency
        print(
            f"scenarios={args.scenarios} concurrency={args.concurrency} provider_latency={PROVIDER_LATENCY_S * 1000:.0f}ms "
            f"status={run['status']} progress={run['progress']}"
        )
        print(
            f"wall={wall_s:.2f}s ideal={ideal_s:.2f}s litellm_alone={floor_s:.2f}s "
            f"invocations={source.stats.batches} peak_pollers={source.stats.peak_pollers}"
        )
        assert run["progress"]["success"] == args.scenarios, run
        ratio = wall_s / ideal_s
        # Not a goal: how much of the wall time the client library alone costs on this machine.
        print(
            f"evaluation_fanout_vs_litellm_alone={wall_s / floor_s:.2f} litellm_alone_vs_ideal={floor_s / ideal_s:.2f}"
        )
        # Not goals either: the CPU (all threads, one GIL) each scenario costs, against what litellm's call
        # alone costs. A process cannot finish faster than its CPU time: when litellm's CPU per call times
        # the scenarios exceeds the ideal wall time, the goal is out of reach in one process whatever we do.
        per_scenario_ms = run_cpu_s / args.scenarios * 1000
        per_call_ms = floor_cpu_s / args.scenarios * 1000
        print(
            f"cpu_per_scenario={per_scenario_ms:.2f}ms litellm_cpu_per_call={per_call_ms:.2f}ms "
            f"ours_per_scenario={per_scenario_ms - per_call_ms:.2f}ms "
            f"cpu_budget_per_scenario_at_goal={ideal_s * GOAL_RATIO / args.scenarios * 1000:.2f}ms "
            f"litellm_cpu_floor_vs_ideal={floor_cpu_s / ideal_s:.2f}"
        )
        print(f"RESULT evaluation_fanout_vs_ideal={ratio:.2f} goal<={GOAL_RATIO}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    sys.exit(main())
