"""The prompt registry end to end through the API function's Mangum handler."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.integration.api_client import (
    Tenant,
    api_env,
    cognito_pool,
    make_tenant,
    own_events_queue,
    prompt_data,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]  # fixtures used by the tests below


def events_of_project(
    queue_url: str, project_id: str, wanted: set[str], timeout_s: float = 10
) -> list[dict[str, Any]]:
    """Envelopes of one project on the events queue (other tests' messages are left alone)."""
    from lamina import aws

    sqs = aws.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not wanted <= {e["type"] for e in found}:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            envelope = json.loads(message["Body"])
            if envelope.get("project_id") == project_id:
                found.append(envelope)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_commit_deploy_retrieve_rollback_fork(
    make_tenant: Callable[..., Tenant], api_env: dict[str, str]
) -> None:
    tenant = make_tenant()
    api = tenant.client
    # GIVEN an application with a variant
    app = api.post("/api/applications/", {"application": {"slug": "translator", "name": "Translator"}}).ok()
    app_id = app["application"]["id"]
    variant = api.post(
        "/api/applications/variants/", {"application_variant": {"application_id": app_id, "slug": "main"}}
    ).ok()["application_variant"]
    # WHEN two revisions are committed
    commits = [
        api.post(
            "/api/applications/revisions/commit",
            {
                "application_revision": {
                    "application_variant_id": variant["id"],
                    "message": f"v{n}",
                    "data": prompt_data(llm_config={"model": f"gpt-{n}"}),
                }
            },
        ).ok()["application_revision"]
        for n in (1, 2)
    ]
    # THEN versions count up and the log lists them newest first
    assert [c["version"] for c in commits] == ["1", "2"]
    log = api.post("/api/applications/revisions/log", {"application_variant_ref": {"id": variant["id"]}}).ok()
    assert [r["message"] for r in log["application_revisions"]] == ["v2", "v1"]

    # WHEN v1 is deployed to production, the SDK's retrieve-by-environment returns it
    def retrieve() -> dict[str, Any]:
        return api.post(
            "/api/applications/revisions/retrieve",
            {"environment_ref": {"slug": "production"}, "application_ref": {"slug": "translator"}},
        ).ok()

    api.post(
        "/api/applications/revisions/deploy",
        {"application_revision_ref": {"id": commits[0]["id"]}, "environment_ref": {"slug": "production"}},
    ).ok()
    assert retrieve()["application_revision"]["version"] == "1"
    assert retrieve()["application_revision"]["version"] == "1"  # served from the cache now
    from lamina.cache import get_redis

    assert get_redis().keys(f"lamina:registry:retrieve:{tenant.project_id}:*"), "retrieve was not cached"
    # WHEN v2 is deployed, the very next retrieve sees it (cache invalidated by the deploy)
    second = api.post(
        "/api/applications/revisions/deploy",
        {"application_revision_ref": {"id": commits[1]["id"]}, "environment_ref": {"slug": "production"}},
    ).ok()
    assert second["environment_revision"]["version"] == 2
    assert retrieve()["application_revision"]["version"] == "2"
    # WHEN production is rolled back to its first environment revision
    api.post(
        "/api/applications/revisions/deploy",
        {
            "environment_revision_ref": {"version": 1},
            "application_ref": {"id": app_id},
            "environment_ref": {"slug": "production"},
            "message": "rollback",
        },
    ).ok()
    # THEN v1 is served again and the history shows three deployments
    assert retrieve()["application_revision"]["version"] == "1"
    history = api.post(
        "/api/environments/revisions/log", {"environment_ref": {"slug": "production"}, "key": "translator"}
    ).ok()
    assert [d["version"] for d in history["environment_revisions"]] == [3, 2, 1]
    # AND the simple environments view shows what production serves
    environments = api.post("/api/simple/environments/query", {"key": "translator"}).ok()["environments"]
    production = next(e for e in environments if e["slug"] == "production")
    assert production["data"]["references"]["translator"]["application_revision"]["version"] == "1"

    # WHEN v2 is forked into a new variant
    fork = api.post(
        "/api/applications/variants/fork",
        {"application_revision_ref": {"id": commits[1]["id"]}, "application_variant": {"slug": "experiment"}},
    ).ok()
    # THEN the fork starts at version 1 with v2's data
    assert fork["application_revision"]["version"] == "1"
    assert fork["application_revision"]["data"] == commits[1]["data"]
    assert fork["application_variant"]["forked_from_revision_id"] == commits[1]["id"]

    # AND the registry changes were published as domain events, after their commits
    wanted = {
        "applications.application.created",
        "applications.variant.created",
        "applications.revision.committed",
        "applications.revision.deployed",
        "applications.variant.forked",
    }
    events = events_of_project(api_env["EVENTS_QUEUE_URL"], tenant.project_id, wanted)
    assert wanted <= {e["type"] for e in events}
    # (a standard queue does not keep order: sort by when they happened)
    events.sort(key=lambda e: e["occurred_at"])
    deployed = [e["payload"] for e in events if e["type"] == "applications.revision.deployed"]
    assert [d["application_revision_version"] for d in deployed] == [1, 2, 1]
    assert [d["rollback"] for d in deployed] == [False, False, True]
    # AND nothing was left behind in the outbox
    from sqlalchemy import func, select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import OutboxEvent

    with unit_of_work() as session:
        pending = session.execute(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.project_id == tenant.project_id)
        ).scalar_one()
    assert pending == 0


def test_invalid_prompt_template_is_422_with_a_clear_message(make_tenant: Callable[..., Tenant]) -> None:
    api = make_tenant().client
    created = api.post(
        "/api/simple/applications/", {"application": {"slug": "bot", "data": prompt_data()}}
    ).ok()
    variant_id = created["application"]["variant_id"]

    def commit(data: dict[str, Any]) -> Any:
        return api.post(
            "/api/applications/revisions/commit",
            {"application_revision": {"application_variant_id": variant_id, "data": data}},
        )

    # A variable the input keys do not list
    response = commit(prompt_data(input_keys=["text"]))
    assert response.status == 422
    assert "{language}" in response.body["message"] and "input_keys" in response.body["message"]
    # A temperature out of range
    response = commit(prompt_data(llm_config={"model": "gpt-4o", "temperature": 7}))
    assert response.status == 422
    assert response.body["message"].startswith("data.parameters.prompt.llm_config.temperature")
    # Broken jinja2
    response = commit(
        prompt_data(
            template_format="jinja2", input_keys=None, messages=[{"role": "user", "content": "{% if x %}"}]
        )
    )
    assert response.status == 422 and "jinja2" in response.body["message"]
    # Nothing was committed by the failures
    log = api.post("/api/applications/revisions/log", {"application_variant_ref": {"id": variant_id}}).ok()
    assert log["count"] == 1


def test_a_variant_slug_is_looked_up_in_the_named_application(make_tenant: Callable[..., Tenant]) -> None:
    api = make_tenant().client
    # GIVEN two applications, each with a variant called "default" holding one revision
    revisions = {}
    for slug in ("alpha", "beta"):
        app_id = api.post("/api/applications/", {"application": {"slug": slug}}).ok()["application"]["id"]
        variant = api.post(
            "/api/applications/variants/",
            {"application_variant": {"application_id": app_id, "slug": "default"}},
        ).ok()["application_variant"]
        revisions[slug] = api.post(
            "/api/applications/revisions/commit",
            {"application_revision": {"application_variant_id": variant["id"], "data": prompt_data()}},
        ).ok()["application_revision"]
    # WHEN production is deployed by application slug and variant slug, for each application in turn
    for slug in ("beta", "alpha"):
        deployed = api.post(
            "/api/applications/revisions/deploy",
            {
                "application_ref": {"slug": slug},
                "application_variant_ref": {"slug": "default"},
                "environment_ref": {"slug": "production"},
            },
        ).ok()
        # THEN the named application's variant is deployed, not the other's
        assert deployed["application_revision"]["id"] == revisions[slug]["id"]
        assert deployed["environment_revision"]["application_id"] == revisions[slug]["application_id"]
    # AND each application serves its own revision
    for slug in ("alpha", "beta"):
        served = api.post(
            "/api/applications/revisions/retrieve",
            {"environment_ref": {"slug": "production"}, "application_ref": {"slug": slug}},
        ).ok()
        assert served["application_revision"]["id"] == revisions[slug]["id"]
    # AND a revision named next to another application is not found there
    response = api.post(
        "/api/applications/revisions/deploy",
        {
            "application_ref": {"slug": "alpha"},
            "application_revision_ref": {"id": revisions["beta"]["id"]},
            "environment_ref": {"slug": "production"},
        },
    )
    assert response.status == 404
    # AND the applications are listed in windows: a cursor while there are more, none on the last window
    first = api.post("/api/applications/query", {"windowing": {"limit": 1}}).ok()
    last = api.post(
        "/api/applications/query", {"windowing": {"limit": 1, "next": first["windowing"]["next"]}}
    ).ok()
    assert [a["slug"] for a in first["applications"] + last["applications"]] == ["beta", "alpha"]
    assert "windowing" not in last
    # AND without an application the slug is ambiguous: refused, never a guess
    response = api.post(
        "/api/applications/revisions/deploy",
        {"application_variant_ref": {"slug": "default"}, "environment_ref": {"slug": "production"}},
    )
    assert response.status == 422 and "application_ref" in response.body["message"]
