"""The traces page with 100,000 spans stored: navigation to `/traces` until its first 50 rows show, in headless
Chromium, as a ratio to fetching the same page of spans over HTTP from the API (both measured in this run).
Also the initial JavaScript the browser downloads before any page's chunk: the Vite manifest's entry chunk plus
its static imports, gzipped. Goals: first rows <= 1.5 s, initial JS <= 400 kB gzipped.

How the spans are stored: OTLP protobuf requests (bench/ingest.py's agent → retrieve + chat traces, within the
last hour) go through the tracing worker's own path, `SpanLines` (decode + normalise) into `write_span_lines`
(COPY), straight into the database of a `lamina up` booted with its embedded backends; the HTTP hop and the
queue are skipped (bench/ingest_endpoint.py measures those). Each of the RUNS navigations uses a new browser
context (a cold HTTP cache, as a first visit) that carries the signed-in session (the API key in localStorage,
entered once through the sign-in form); the clock starts at `page.goto` and stops when row 50 is in the DOM.

    .venv/bin/python bench/ui.py [--spans 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "bench")]

SPANS = 100_000
# Spans per OTLP request, as bench/ingest.py sends them: one COPY each, well inside the statement timeout.
BODY_SPANS = 1_000
RUNS = 5
FIRST_ROWS = 50
GOAL_FIRST_ROWS_S = 1.5
GOAL_INITIAL_JS_KB = 400
# The list's default query (web/src/pages/traces/filters.ts): root spans of the last 7 days, newest first.
LIST_QUERY = {
    "filtering": {"operator": "and", "conditions": [{"field": "parent_id", "operator": "is", "value": None}]},
    "windowing": {"limit": FIRST_ROWS, "order": "descending"},
    "focus": "span",
}
LIST_WINDOW_S = 7 * 24 * 3600
# Where the time of one navigation went (ms from navigation start), read from the Performance API.
PHASES_JS = """() => {
  const resources = performance.getEntriesByType('resource');
  const script = resources.find((r) => r.initiatorType === 'script' || r.name.endsWith('.js'));
  const spans = resources.find((r) => r.name.endsWith('/api/spans/query'));
  return {
    html: performance.getEntriesByType('navigation')[0].responseEnd,
    entry_js: script ? script.responseEnd : null,
    spans_request_sent: spans ? spans.startTime : null,
    spans_response: spans ? spans.responseEnd : null,
    rows_shown: performance.now(),
  };
}"""


def list_query() -> dict[str, Any]:
    """The body the page sends for its first page (the default filters: root spans of the last 7 days)."""
    body: dict[str, Any] = json.loads(json.dumps(LIST_QUERY))
    oldest = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - LIST_WINDOW_S))
    body["windowing"]["oldest"] = oldest
    return body


def store_spans(database_url: str, project_id: uuid.UUID, spans: int) -> float:
    """Write `spans` spans through the ingest worker's code path; the seconds it took."""
    from ingest import otlp_body

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import random

    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing import otlp
    from lamina.tracing.rows import SpanLines
    from lamina.tracing.store import write_span_lines

    rng = random.Random(7)
    started = time.perf_counter()
    plans: dict[Any, Any] = {}
    for offset in range(0, spans, BODY_SPANS):
        body = otlp_body(min(BODY_SPANS, spans - offset), rng)
        request = otlp.parse_request(body, otlp.PROTOBUF)
        with unit_of_work() as session:
            write_span_lines(session, SpanLines(project_id, request, plans))
            session.commit()
    with unit_of_work() as session:
        from sqlalchemy import text

        session.execute(text("ANALYZE spans"))
        session.commit()
    return time.perf_counter() - started


def list_plan(database_url: str, project_id: uuid.UUID) -> str:
    """EXPLAIN ANALYZE of the SQL behind the list's first page (what the API runs for LIST_QUERY)."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing import schemas
    from lamina.tracing.query import spans_statement

    body = schemas.SpansQuery.model_validate(list_query())
    statement = spans_statement(project_id, body)
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with unit_of_work() as session:
        rows = session.execute(text(f"EXPLAIN ANALYZE {sql}")).scalars()
        return "\n".join(f"    {row}" for row in rows)


def initial_js_gzip_kb(dist: Path) -> tuple[float, list[str]]:
    """The entry chunk and its static imports (recursively), gzipped: what loads before any lazy page."""
    manifest = json.loads((dist / ".vite" / "manifest.json").read_text())
    entries = [key for key, chunk in manifest.items() if chunk.get("isEntry")]
    seen: set[str] = set()
    pending = list(entries)
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        pending.extend(manifest[key].get("imports", []))
    files = sorted({manifest[key]["file"] for key in seen if manifest[key]["file"].endswith(".js")})
    size = sum(len(gzip.compress((dist / name).read_bytes(), compresslevel=9)) for name in files)
    return size / 1000, files


def http_first_page_s(api: str, headers: dict[str, str]) -> float:
    import httpx

    body = list_query()
    with httpx.Client(base_url=api, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        response = client.post("/api/spans/query", json=body)
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    assert len(response.json()["spans"]) == FIRST_ROWS, response.text[:500]
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=SPANS)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import CHROMIUM, VIEWPORT, build_web, signed_in
    from tests.e2e.stack_process import StackProcess, scratch_state_dir

    dist = build_web()
    js_kb, js_files = initial_js_gzip_kb(dist)
    stack = StackProcess(scratch_state_dir())
    stack.boot()
    try:
        project_id = uuid.UUID(stack.project_id)
        store_s = store_spans(stack.state["database_url"], project_id, args.spans)
        print(
            f"stored {args.spans} spans in {store_s:.1f} s (SpanLines + write_span_lines, the worker's COPY path)"
        )
        print("plan of the list's first page:")
        print(list_plan(stack.state["database_url"], project_id))

        http_first_page_s(stack.api, stack.headers)  # warm: the API's first request imports the query code
        http_times = [http_first_page_s(stack.api, stack.headers) for _ in range(args.runs)]

        ui_times: list[float] = []
        phases: list[dict[str, float]] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
            page = signed_in(context.new_page(), stack, "/registry")
            signed_in_state = context.storage_state()
            context.close()
            for _ in range(args.runs):
                context = browser.new_context(viewport=VIEWPORT, storage_state=signed_in_state)  # type: ignore[arg-type]
                page = context.new_page()
                started = time.perf_counter()
                page.goto(f"{stack.api}/traces", wait_until="commit")
                page.get_by_test_id("trace-row").nth(FIRST_ROWS - 1).wait_for(
                    state="attached", timeout=60_000
                )
                ui_times.append(time.perf_counter() - started)
                phases.append(page.evaluate(PHASES_JS))
                context.close()
            browser.close()
    finally:
        stack.stop()

    ui_s = statistics.median(ui_times)
    http_s = statistics.median(http_times)
    print(f"initial JS ({len(js_files)} files: {', '.join(js_files)}): {js_kb:.1f} kB gzipped")
    print(
        f"API  POST /api/spans/query (first {FIRST_ROWS} root spans), httpx: median {http_s * 1000:.0f} ms "
        f"{[round(t * 1000) for t in http_times]}"
    )
    print(
        f"UI   /traces until row {FIRST_ROWS} is in the DOM, cold cache: median {ui_s * 1000:.0f} ms "
        f"{[round(t * 1000) for t in ui_times]}"
    )
    # Medians of each phase, over the runs (the critical path: HTML, entry JS, the page's chunk, its query).
    for name in phases[0]:
        values = [phase[name] for phase in phases if phase[name] is not None]
        if values:
            print(f"     {name:<20} median {statistics.median(values):6.0f} ms after navigation start")
    print(
        f"ratio UI / API: {ui_s / http_s:.1f}x (the UI adds the HTML, JS chunks, session and project requests)"
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average now {load}")
    print(f"RESULT ui_traces_first_rows_s={ui_s:.3f} goal<={GOAL_FIRST_ROWS_S}")
    print(f"RESULT ui_initial_js_gzip_kb={js_kb:.1f} goal<={GOAL_INITIAL_JS_KB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
