"""Evaluators end to end: the catalog of kinds and their settings schemas, revisioned simple evaluators, the
library interface the evaluation runs use, and the LLM judge against the fake OpenAI-compatible server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.fake_openai import FakeOpenAI, fake_openai_server
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below

PROVIDER = "judgeai"
EXACT = "agenta:builtin:auto_exact_match:v0"
JUDGE_PROMPT = [
    {"role": "system", "content": "You grade answers. Reply with JSON {score, reason}."},
    {"role": "user", "content": "Question: {{country}}. Answer: {{outputs}}. Expected: {{correct_answer}}."},
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with fake_openai_server() as server:
        yield server


def test_simple_evaluators_are_revisioned_configs_checked_against_their_kind(
    make_tenant: Callable[..., Tenant],
) -> None:
    api = make_tenant().client
    # GIVEN the catalog of kinds
    catalog = api.get("/api/evaluators/catalog/templates/").ok()
    assert catalog["count"] == 16
    regex = api.get("/api/evaluators/catalog/templates/regex").ok()["template"]
    assert regex["key"] == "auto_regex_test" and regex["data"]["schemas"]["parameters"]["required"] == [
        "regex_pattern"
    ]
    # WHEN an evaluator of a built-in kind is created with settings off its schema
    refused = api.post(
        "/api/simple/evaluators/",
        {"evaluator": {"slug": "exact", "data": {"uri": EXACT, "parameters": {"correct_answer_key": 7}}}},
    )
    # THEN it is refused, naming the setting
    assert refused.status == 422 and "correct_answer_key" in refused.body["message"]
    # WHEN it is created with good settings, then edited with new ones
    created = api.post(
        "/api/simple/evaluators/",
        {
            "evaluator": {
                "slug": "exact",
                "name": "Exact",
                "data": {"uri": EXACT, "parameters": {"correct_answer_key": "city"}},
            }
        },
    ).ok()["evaluator"]
    edited = api.put(
        f"/api/simple/evaluators/{created['id']}",
        {
            "evaluator": {
                "id": created["id"],
                "data": {"uri": EXACT, "parameters": {"correct_answer_key": "answer"}},
            }
        },
    ).ok()["evaluator"]
    # THEN each change is a new revision, retrievable as Agenta's SDK retrieves it
    assert (created["version"], edited["version"]) == ("1", "2")
    latest = api.post("/api/evaluators/revisions/retrieve", {"evaluator_ref": {"slug": "exact"}}).ok()
    assert latest["evaluator_revision"]["data"]["parameters"] == {"correct_answer_key": "answer"}
    first = api.post(
        "/api/evaluators/revisions/retrieve", {"evaluator_revision_ref": {"id": created["revision_id"]}}
    ).ok()["evaluator_revision"]
    assert first["version"] == "1" and first["evaluator_slug"] == "exact"
    # AND a reference to nothing answers count 0 (the SDK's upsert probes a slug this way)
    assert api.post("/api/evaluators/revisions/retrieve", {"evaluator_ref": {"slug": "nope"}}).ok() == {
        "count": 0
    }
    # AND the library interface resolves the evaluator (by id, or revision) to its kind and settings
    from lamina.api.schemas import Reference
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluators.service import evaluator_of

    project = uuid.UUID(created["project_id"])
    with unit_of_work() as session:
        by_evaluator = evaluator_of(session, project, Reference(id=uuid.UUID(created["id"])))
        by_revision = evaluator_of(
            session, project, {"evaluator_revision_ref": {"id": created["revision_id"]}}
        )
    assert (by_evaluator.kind, by_evaluator.settings) == (
        "auto_exact_match",
        {"correct_answer_key": "answer"},
    )
    assert by_revision.settings == {"correct_answer_key": "city"} and by_revision.id == uuid.UUID(
        created["revision_id"]
    )
    # AND a kind can be tried on one case without saving anything
    tried = api.post(
        "/api/evaluators/catalog/evaluate",
        {"kind": "contains_all", "settings": {"substrings": ["a", "b"]}, "outputs": "ab", "testcase": {}},
    ).ok()
    assert tried["outputs"] == {"success": True} and tried["error"] is None


def test_the_llm_judge_grades_through_the_services_layer_against_the_provider(
    make_tenant: Callable[..., Tenant], fake: FakeOpenAI
) -> None:
    # GIVEN a project whose vault holds a provider pointing at the fake OpenAI-compatible server
    tenant = make_tenant()
    connection = {"provider": "openai", "api_base": fake.api_base, "api_key": "sk-judge-0001"}
    tenant.client.post(
        "/api/secrets/", {"secret": {"name": PROVIDER, "kind": "custom", "value": json.dumps(connection)}}
    ).ok()
    from lamina.evaluators.runtime import evaluate

    settings = {"model": f"{PROVIDER}/judge-model", "prompt_template": JUDGE_PROMPT, "threshold": 0.5}
    # WHEN the judge grades a case
    fake.requests.clear()
    outcome = evaluate(
        "llm_judge",
        settings,
        inputs={"country": "France"},
        outputs="Paris",
        testcase={"correct_answer": "Paris"},
        project_id=uuid.UUID(tenant.project_id),
    )
    # THEN the rendered prompt went to the provider with the vault's key, asking for a JSON verdict
    sent = fake.requests[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-judge-0001"
    assert sent["body"]["messages"][1]["content"] == "Question: France. Answer: Paris. Expected: Paris."
    assert sent["body"]["response_format"]["type"] == "json_schema"
    # AND the verdict is a score and a reason (the fake answers {"answer", "confidence": 0.9})
    assert outcome.error is None
    assert outcome.outputs["score"] == 0.9 and outcome.outputs["success"] is True
    assert outcome.outputs["reason"].startswith("Question: France") and outcome.outputs["tokens"] == 18
    # AND a provider that refuses (429 past the retries) is an outcome with the provider's error, not a raise
    limited = evaluate(
        "llm_judge",
        {**settings, "model": f"{PROVIDER}/judge-429"},
        inputs={"country": "France"},
        outputs="Paris",
        testcase={"correct_answer": "Paris"},
        project_id=uuid.UUID(tenant.project_id),
    )
    assert limited.outputs == {} and limited.error is not None and "Rate limit" in limited.error
