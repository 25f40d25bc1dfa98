"""Stored spans as the API shows them: Agenta's span shape, and trace trees with cumulative metrics."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from lamina.tracing import schemas
from lamina.tracing.models import Span


def span_view(span: Span, trace_totals: dict[str, float] | None = None) -> schemas.SpanView:
    """The span; with `trace_totals` (a root span in a list of traces) its trace's sums as cumulative metrics,
    as the trace tree gives its root."""
    fields = _fields(span)
    if trace_totals:
        _put_metrics(fields["attributes"]["ag"]["metrics"], "cumulative", trace_totals)
    return schemas.SpanView(**fields)


def metric_totals(prompt: object, completion: object, total: object, cost: object) -> dict[str, float]:
    """Summed metrics (SUM answers NULL when no span had one) under the names `_own_metrics` uses."""
    found = {
        "tokens.prompt": prompt,
        "tokens.completion": completion,
        "tokens.total": total,
        "costs.total": cost,
    }
    return {name: float(str(amount)) for name, amount in found.items() if amount is not None}


def trace_tree(trace_id: str, spans: Sequence[Span]) -> schemas.TraceView:
    """The spans as a tree under their roots (a span whose parent is missing is a root too)."""
    by_id = {span.span_id: span for span in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in by_id else None
        children.setdefault(parent, []).append(span)

    def node(span: Span) -> tuple[schemas.SpanNode, dict[str, float]]:
        own = _own_metrics(span)
        kids = [node(child) for child in children.get(span.span_id, [])]
        cumulative = dict(own)
        for _, child_metrics in kids:
            for name, amount in child_metrics.items():
                cumulative[name] = cumulative.get(name, 0) + amount
        fields = _fields(span)
        metrics = fields["attributes"].setdefault("ag", {}).setdefault("metrics", {})
        _put_metrics(metrics, "cumulative", cumulative)
        return schemas.SpanNode(**fields, spans=_keyed([kid for kid, _ in kids]) or None), cumulative

    roots = [node(span)[0] for span in children.get(None, [])]
    return schemas.TraceView(trace_id=trace_id, spans=_keyed(roots))


def _keyed(nodes: list[schemas.SpanNode]) -> dict[str, schemas.SpanNode | list[schemas.SpanNode]]:
    keyed: dict[str, schemas.SpanNode | list[schemas.SpanNode]] = {}
    for item in nodes:
        existing = keyed.get(item.span_name)
        if existing is None:
            keyed[item.span_name] = item
        elif isinstance(existing, list):
            existing.append(item)
        else:
            keyed[item.span_name] = [existing, item]
    return keyed


def _own_metrics(span: Span) -> dict[str, float]:
    found = {
        "tokens.prompt": span.prompt_tokens,
        "tokens.completion": span.completion_tokens,
        "tokens.total": span.total_tokens,
        "costs.total": span.cost,
    }
    return {name: float(amount) for name, amount in found.items() if amount is not None}


def _put_metrics(metrics: dict[str, Any], scope: str, values: dict[str, float]) -> None:
    for name, amount in values.items():
        group, unit = name.split(".")
        number: float | int = int(amount) if group == "tokens" else amount
        metrics.setdefault(group, {}).setdefault(scope, {})[unit] = number


def _fields(span: Span) -> dict[str, Any]:
    attributes: dict[str, Any] = copy.deepcopy(span.attributes or {})
    ag = dict(attributes.get("ag") or {})
    ag["type"] = {**(ag.get("type") or {}), "trace": span.trace_type, "span": span.span_type}
    data = dict(ag.get("data") or {})
    if span.inputs is not None:
        data["inputs"] = span.inputs
    if span.outputs is not None:
        data["outputs"] = span.outputs
    if data:
        ag["data"] = data
    metrics = dict(ag.get("metrics") or {})
    metrics["duration"] = {"cumulative": span.duration_ms}
    _put_metrics(metrics, "incremental", _own_metrics(span))
    ag["metrics"] = metrics
    if span.model:
        ag["meta"] = {
            **(ag.get("meta") or {}),
            "request": {**((ag.get("meta") or {}).get("request") or {}), "model": span.model},
        }
    attributes["ag"] = ag
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "trace_type": span.trace_type,
        "span_type": span.span_type,
        "span_kind": span.span_kind,
        "span_name": span.span_name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status_code": span.status_code,
        "status_message": span.status_message,
        "session_id": span.session_id,
        "user_id": span.user_id,
        "attributes": attributes,
        "events": span.events or [],
        "links": span.links or [],
        "created_at": span.created_at,
    }
