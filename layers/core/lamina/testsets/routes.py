"""`/api/testsets/...`, `/api/simple/testsets/...` (with upload and download) and `/api/testcases/...`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query, Request, Response
from starlette.concurrency import run_in_threadpool

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.artifacts.envelopes import ONLY_SET_FIELDS, many, one
from lamina.artifacts.routes import ArtifactRoutes
from lamina.artifacts.schemas import query_arguments
from lamina.testsets import responses, schemas

if TYPE_CHECKING:
    from lamina.artifacts import service as artifacts
    from lamina.testsets import files, service, simple, testcases
else:
    from lamina.lazy import lazy_module

    artifacts = lazy_module("lamina.artifacts.service")
    files = lazy_module("lamina.testsets.files")
    service = lazy_module("lamina.testsets.service")
    simple = lazy_module("lamina.testsets.simple")
    testcases = lazy_module("lamina.testsets.testcases")

router = DeferredRouter(tags=["testsets"])
FileType = Literal["csv", "json"]
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The latest revision's rows: a JSON array of objects, or CSV with a header line",
        "model": responses.TestsetRows,
        "content": {"text/csv": {}},
    }
}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
TESTSET_ROUTES = ArtifactRoutes(
    router, "/testsets", "testset", responses.TestsetResponse, kind=lambda: service.TESTSETS
)


def _query(session: Any, principal: Any, body: schemas.TestsetQuery) -> Any:
    return artifacts.query_artifacts(
        session,
        service.TESTSETS,
        principal,
        **query_arguments(
            body.testset, body.testset_refs, include_archived=body.include_archived, windowing=body.windowing
        ),
    )


# ---------------------------------------------------------------- test sets


@router.post("/testsets/", response_model=responses.TestsetResponse, **ONLY_SET_FIELDS)
def create_testset(
    body: schemas.TestsetCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    fields = body.testset.model_dump(exclude={"folder_id"})
    return one("testset", service.testset_view(service.create_testset(session, principal, **fields)))


@router.post("/testsets/query", response_model=responses.TestsetsResponse, **ONLY_SET_FIELDS)
def query_testsets(
    body: schemas.TestsetQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = _query(session, principal, body)
    return many("testsets", [service.testset_view(t) for t in window.items], window.next)


@router.post("/testsets/variants/", response_model=responses.VariantResponse, **ONLY_SET_FIELDS)
def create_variant(
    body: schemas.VariantCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    fields = body.testset_variant.model_dump(exclude={"testset_id", "tags"})
    variant = service.create_variant(session, principal, body.testset_variant.testset_id, **fields)
    return one("testset_variant", service.variant_view(variant))


@router.post("/testsets/variants/query", response_model=responses.VariantsResponse, **ONLY_SET_FIELDS)
def query_variants(
    body: schemas.VariantQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = service.query_variants(session, principal, body)
    return many("testset_variants", [service.variant_view(v) for v in window.items], window.next)


@router.post("/testsets/variants/fork", response_model=responses.ForkResponse, **ONLY_SET_FIELDS)
def fork_variant(body: schemas.VariantFork, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    variant, revision = service.fork_variant(session, principal, body)
    return one(
        "testset_variant",
        service.variant_view(variant),
        testset_revision=service.revision_view(session, revision),
    )


TESTSET_ROUTES.declare_variant_route(responses.VariantResponse)


@router.post("/testsets/revisions/commit", response_model=responses.RevisionResponse, **ONLY_SET_FIELDS)
def commit_revision(
    body: schemas.RevisionCommit, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    revision = service.commit_revision(session, principal, body.testset_revision)
    return one("testset_revision", service.revision_view(session, revision))


@router.post("/testsets/revisions/retrieve", response_model=responses.RevisionResponse, **ONLY_SET_FIELDS)
def retrieve_revision(
    body: schemas.RevisionRetrieve, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    revision = service.retrieve(session, principal, body)
    if revision is None:
        return {"count": 0}
    with_testcases = body.include_testcases is not False
    return one("testset_revision", service.revision_view(session, revision, with_testcases=with_testcases))


@router.post("/testsets/revisions/log", response_model=responses.RevisionsResponse, **ONLY_SET_FIELDS)
def log_revisions(body: schemas.RevisionLog, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    revisions = service.log_revisions(session, principal, body)
    views = [service.revision_view(session, r, with_testcases=False) for r in revisions]
    return many("testset_revisions", views)


@router.post("/testsets/revisions/query", response_model=responses.RevisionsResponse, **ONLY_SET_FIELDS)
def query_revisions(
    body: schemas.RevisionQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = service.query_revisions(session, principal, body)
    views = [service.revision_view(session, r, with_testcases=False) for r in window.items]
    return many("testset_revisions", views, window.next)


TESTSET_ROUTES.declare_revision_route(
    responses.RevisionResponse,
    view=lambda session, revision: service.revision_view(session, revision),
)


@router.post(
    "/testsets/revisions/{revision_id}/download", response_class=Response, responses=DOWNLOAD_RESPONSES
)
def download_revision(
    revision_id: uuid.UUID,
    session: SessionDep,
    principal: ProjectViewer,
    file_type: FileType = "csv",
) -> Response:
    revision = service.get_revision(session, principal, revision_id)
    rows = [case.data for case in testcases.revision_testcases(session, revision)]
    return _file(rows, file_type, f"testset-{revision_id}")


TESTSET_ROUTES.declare_artifact_routes(
    edit=lambda session, principal, testset_id, edits: service.edit_testset(
        session, principal, testset_id, edits
    ),
    edit_request=schemas.TestsetEdit,
)


# ---------------------------------------------------------------- simple test sets


@router.post("/simple/testsets/", response_model=responses.SimpleTestsetResponse, **ONLY_SET_FIELDS)
def simple_create(
    body: schemas.SimpleTestsetCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    testset = simple.create(session, principal, body.testset)
    return one("testset", simple.view(session, testset))


@router.post("/simple/testsets/query", response_model=responses.SimpleTestsetsResponse, **ONLY_SET_FIELDS)
def simple_query(body: schemas.TestsetQuery, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    window = _query(session, principal, body)
    return many("testsets", simple.views(session, window.items), window.next)


@router.post(
    "/simple/testsets/from-traces", response_model=responses.SimpleTestsetResponse, **ONLY_SET_FIELDS
)
def simple_from_traces(
    body: schemas.TestsetFromTraces, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    """A test set (or its next revision) from selected spans: their inputs as columns, outputs as the answer."""
    testset = simple.from_traces(session, principal, body)
    return one("testset", simple.view(session, testset))


async def _upload(
    request: Request, session: Any, principal: Any, testset_id: uuid.UUID | None
) -> dict[str, Any]:
    # The test set is looked up first: another project's test set is a 404 whatever the file holds.
    target = (
        await run_in_threadpool(service.get_testset, session, principal, testset_id) if testset_id else None
    )
    content_type = request.headers.get("content-type") or ""
    body = await request.body()
    form: dict[str, Any] = {}
    if content_type.lower().startswith("multipart/form-data"):
        parts = files.read_form(body, content_type)
        upload = parts.get("file")
        if upload is None:
            raise files.MalformedUploadError("the form has no `file` field")
        raw, filename, part_type = upload.value, upload.filename, upload.content_type
        form = {name: part.value.decode("utf-8", "replace") for name, part in parts.items() if name != "file"}
    else:
        raw, filename, part_type = body, None, content_type
    explicit = form.get("file_type") or request.query_params.get("file_type")
    file_type = files.file_type_of(explicit, filename, part_type)
    rows = files.read_rows(raw, file_type)

    def store() -> dict[str, Any]:
        if target is not None:
            testset = target
            simple.commit_to_default(
                session, principal, testset, cases=[{"data": r} for r in rows], message="uploaded"
            )
        else:
            name = form.get("testset_name") or request.query_params.get("testset_name") or filename
            fields = schemas.SimpleTestsetFields(
                name=(name or "uploaded")[:200],
                slug=form.get("testset_slug") or None,
                description=form.get("testset_description") or None,
            )
            testset = simple.create(session, principal, fields, rows=rows)
        return one("testset", simple.view(session, testset, with_testcases=False))

    return await run_in_threadpool(store)


UPLOAD_DOC = (
    "A CSV (with a header line) or JSON (an array of objects) file: multipart/form-data with a `file` field "
    "(and Agenta's `file_type`, `testset_name`, ...), or the file itself as the body with `?file_type=`. "
    "A malformed file is a 400 that names the row."
)


@router.post(
    "/simple/testsets/upload",
    response_model=responses.SimpleTestsetResponse,
    description=UPLOAD_DOC,
    **ONLY_SET_FIELDS,
)
async def simple_upload(request: Request, session: SessionDep, principal: ProjectEditor) -> dict[str, Any]:
    return await _upload(request, session, principal, None)


@router.post(
    "/simple/testsets/{testset_id}/upload",
    response_model=responses.SimpleTestsetResponse,
    description=UPLOAD_DOC,
    **ONLY_SET_FIELDS,
)
async def simple_upload_revision(
    testset_id: uuid.UUID, request: Request, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    return await _upload(request, session, principal, testset_id)


def _file(rows: list[dict[str, Any]], file_type: str, name: str) -> Response:
    content = files.write_csv(rows) if file_type == "csv" else files.write_json(rows)
    return Response(
        content,
        media_type=MEDIA_TYPES[file_type],
        headers={"content-disposition": f'attachment; filename="{name}.{file_type}"'},
    )


@router.get("/simple/testsets/{testset_id}/download", response_class=Response, responses=DOWNLOAD_RESPONSES)
@router.post("/simple/testsets/{testset_id}/download", response_class=Response, responses=DOWNLOAD_RESPONSES)
def simple_download(
    testset_id: uuid.UUID,
    session: SessionDep,
    principal: ProjectViewer,
    format: FileType | None = None,
    file_type: Annotated[FileType | None, Query(description="Agenta's name for `format`")] = None,
) -> Response:
    rows = simple.rows_of(session, principal, testset_id)
    return _file(rows, format or file_type or "csv", f"testset-{testset_id}")


TESTSET_ROUTES.simple_api(
    responses.SimpleTestsetResponse,
    lambda session, testset: simple.view(session, testset),
    archived_view=lambda session, testset: simple.view(session, testset, with_testcases=False),
).declare_artifact_routes(
    edit=lambda session, principal, testset_id, edits: simple.edit(session, principal, testset_id, edits),
    edit_request=schemas.SimpleTestsetEdit,
)


# ---------------------------------------------------------------- test cases


@router.post("/testcases/query", response_model=responses.TestcasesResponse, **ONLY_SET_FIELDS)
def query_testcases(
    body: schemas.TestcaseQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    if body.testset_revision_id is not None:
        revision = service.get_revision(session, principal, body.testset_revision_id)
        cases = testcases.revision_testcases(session, revision)
        views = [testcases.testcase_view(c.id, c.data, revision.testset_id) for c in cases]
        return many("testcases", views)
    window = testcases.query_testcases(
        session,
        principal,
        testcase_ids=body.testcase_ids,
        testset_id=body.testset_id,
        windowing=body.windowing,
    )
    views = [testcases.testcase_view(row.id, row.data, row.testset_id) for row in window.items]
    return many("testcases", views, window.next)


@router.get("/testcases/{testcase_id}", response_model=responses.TestcaseResponse, **ONLY_SET_FIELDS)
def get_testcase(testcase_id: uuid.UUID, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return one("testcase", testcases.get_testcase(session, principal, testcase_id))
