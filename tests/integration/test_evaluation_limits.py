"""The limits evaluation workers share in Redis: a run's concurrency slots and per-provider requests per
minute; without Redis they degrade to no limiting, with one log line."""

from __future__ import annotations

import logging
import uuid

import pytest


def test_run_slots_and_provider_limits_are_shared_and_degrade_without_redis(
    stack_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from lamina import state
    from lamina.evaluations.limits import RunSlots, record_tokens, take_request

    provider = f"prov{uuid.uuid4().hex[:6]}"
    settings = state.current().settings.model_copy(
        update={"evaluation_provider_limits": {provider: {"rpm": 2, "tpm": 100}}}
    )
    state.configure(settings)

    # GIVEN a run with concurrency 3, worked on by two invocations
    run_id = uuid.uuid4()
    first, second = RunSlots(run_id, 3), RunSlots(run_id, 3)
    # WHEN both ask for more slots than the run has
    held = first.acquire(2)
    more = second.acquire(5)
    # THEN together they hold exactly 3, and a released slot goes to whoever asks next
    assert (len(held), len(more)) == (2, 1)
    assert second.acquire(1) == []
    first.release(held[0])
    assert len(second.acquire(4)) == 1

    # GIVEN a provider limited to 2 requests and 100 tokens a minute
    # THEN two requests go, the third waits for the next window
    assert take_request(provider) == 0 and take_request(provider) == 0
    assert 0 < take_request(provider) <= 60
    # AND a provider over its tokens waits too
    other = f"{provider}b"
    state.configure(
        settings.model_copy(update={"evaluation_provider_limits": {other: {"rpm": 0, "tpm": 100}}})
    )
    record_tokens(other, 150)
    assert take_request(other) > 0

    # WHEN Redis cannot be reached
    state.configure(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    caplog.set_level(logging.WARNING, logger="lamina.evaluations.limits")
    # THEN nothing is limited, and it is said once
    assert len(RunSlots(run_id, 3).acquire(10)) == 10
    assert take_request(provider) == 0 and take_request(provider) == 0
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1
