"""Span queries: Agenta's filter tree compiled to SQL, cursor windowing, and trace trees."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Float, Select, and_, cast, false, func, not_, or_, select, true, tuple_
from sqlalchemy.sql.elements import ColumnElement

from lamina.errors import ValidationFailedError
from lamina.tracing import schemas
from lamina.tracing.models import Span
from lamina.tracing.views import trace_tree

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.orm import Session

# Condition fields that are columns; `attributes` (with a dotted key) reaches into the attribute tree.
COLUMN_FIELDS: dict[str, Any] = {
    "trace_id": Span.trace_id,
    "span_id": Span.span_id,
    "parent_id": Span.parent_id,
    "trace_type": Span.trace_type,
    "span_type": Span.span_type,
    "span_kind": Span.span_kind,
    "span_name": Span.span_name,
    "name": Span.span_name,
    "start_time": Span.start_time,
    "end_time": Span.end_time,
    "duration": Span.duration_ms,
    "duration_ms": Span.duration_ms,
    "status_code": Span.status_code,
    "status_message": Span.status_message,
    "session_id": Span.session_id,
    "user_id": Span.user_id,
    "model": Span.model,
    "cost": Span.cost,
    "prompt_tokens": Span.prompt_tokens,
    "completion_tokens": Span.completion_tokens,
    "total_tokens": Span.total_tokens,
}
TIME_FIELDS = frozenset({"start_time", "end_time"})
TRACE_FOCUS_MAX_SPANS = 10_000
_datetime = TypeAdapter(datetime)


def query_spans(
    session: Session, project_id: uuid.UUID, query: schemas.SpansQuery
) -> schemas.SpansQueryResponse:
    """One window of matching spans (newest first unless asked), or with `focus: trace` their traces' trees."""
    limit = _limit(query)
    statement = spans_statement(project_id, query)
    spans = list(session.execute(statement).scalars())
    next_cursor = _encode_cursor(spans[limit - 1]) if len(spans) > limit else None
    spans = spans[:limit]
    windowing_out = schemas.WindowingNext(next=next_cursor) if next_cursor else None
    if query.focus == "trace":
        trace_ids = list(dict.fromkeys(span.trace_id for span in spans))
        traces = [fetch_trace(session, project_id, trace_id) for trace_id in trace_ids]
        found = [trace for trace in traces if trace is not None]
        return schemas.SpansQueryResponse(count=len(found), traces=found, windowing=windowing_out)
    from lamina.tracing.views import span_view

    totals = trace_totals(session, project_id, [span.trace_id for span in spans if span.parent_id is None])
    views = [span_view(span, totals.get(span.trace_id) if span.parent_id is None else None) for span in spans]
    return schemas.SpansQueryResponse(count=len(spans), spans=views, windowing=windowing_out)


def trace_totals(
    session: Session, project_id: uuid.UUID, trace_ids: Collection[str]
) -> dict[str, dict[str, float]]:
    """Tokens and cost summed over each trace (`metric_totals`' names), for its root span in a list of traces
    and for an evaluation's cells: what the whole trace cost, not only its root span. One grouped query over
    the primary key (a page holds at most 1000 traces)."""
    from lamina.tracing.views import metric_totals

    if not trace_ids:
        return {}
    rows = session.execute(
        select(
            Span.trace_id,
            func.sum(Span.prompt_tokens),
            func.sum(Span.completion_tokens),
            func.sum(Span.total_tokens),
            func.sum(Span.cost),
        )
        .where(Span.project_id == project_id, Span.trace_id.in_(sorted(set(trace_ids))))
        .group_by(Span.trace_id)
    )
    return {row[0]: metric_totals(*row[1:]) for row in rows}


def _limit(query: schemas.SpansQuery) -> int:
    return (query.windowing or schemas.Windowing()).limit or schemas.SPANS_QUERY_DEFAULT_LIMIT


def spans_statement(project_id: uuid.UUID, query: schemas.SpansQuery) -> Select[Any]:
    """The SELECT of one window: one row past the limit, which says whether a next window exists."""
    windowing = query.windowing or schemas.Windowing()
    descending = windowing.order == "descending"
    statement = select(Span).where(Span.project_id == project_id)
    if query.filtering is not None:
        statement = statement.where(compile_filter(query.filtering))
    if windowing.oldest is not None:
        statement = statement.where(Span.start_time >= windowing.oldest)
    if windowing.newest is not None:
        statement = statement.where(Span.start_time < windowing.newest)
    if windowing.next:
        after = tuple_(Span.start_time, Span.trace_id, Span.span_id)
        cursor = tuple_(*_decode_cursor(windowing.next))
        statement = statement.where(after < cursor if descending else after > cursor)
    keys = (Span.start_time, Span.trace_id, Span.span_id)
    return statement.order_by(*(key.desc() if descending else key.asc() for key in keys)).limit(
        _limit(query) + 1
    )


def fetch_trace(session: Session, project_id: uuid.UUID, trace_id: str) -> schemas.TraceView | None:
    spans = list(
        session.execute(
            select(Span)
            .where(Span.project_id == project_id, Span.trace_id == trace_id.replace("-", "").lower())
            .order_by(Span.start_time, Span.span_id)
            .limit(TRACE_FOCUS_MAX_SPANS)
        ).scalars()
    )
    return trace_tree(spans[0].trace_id, spans) if spans else None


def compile_filter(filtering: schemas.Filtering, depth: int = 0) -> ColumnElement[bool]:
    """The SQL condition for an Agenta filter tree."""
    if depth > schemas.FILTER_MAX_DEPTH:
        raise ValidationFailedError(f"filters nest at most {schemas.FILTER_MAX_DEPTH} deep")
    parts = [
        compile_filter(item, depth + 1) if isinstance(item, schemas.Filtering) else compile_condition(item)
        for item in filtering.conditions
    ]
    operator = filtering.operator
    joined = and_(true(), *parts) if operator in ("and", "not", "nand") else or_(false(), *parts)
    return not_(joined) if operator in ("not", "nand", "nor") else joined


def compile_condition(condition: schemas.Condition) -> ColumnElement[bool]:
    operator = condition.operator.lower()
    value = condition.value
    if condition.field in ("attributes", "ag") or condition.field.startswith("attributes."):
        return _attribute_condition(condition, operator)
    column = COLUMN_FIELDS.get(condition.field)
    if column is None:
        known = ", ".join(sorted(COLUMN_FIELDS))
        raise ValidationFailedError(f"unknown filter field {condition.field!r} (attributes, {known})")
    if condition.field in TIME_FIELDS:
        value = _times(value)
    if condition.field in ("trace_id", "span_id", "parent_id"):
        value = _ids(value)
    return _compare(column, operator, value, condition.options or {})


def _attribute_condition(condition: schemas.Condition, operator: str) -> ColumnElement[bool]:
    result: ColumnElement[bool] = _attribute_test(condition, operator)
    return result


def _attribute_test(condition: schemas.Condition, operator: str) -> Any:
    dotted = condition.field.removeprefix("attributes").lstrip(".")
    key = ".".join(part for part in (dotted, condition.key or "") if part)
    if condition.field == "ag":
        key = f"ag.{key}" if key else "ag"
    path = tuple(key.split(".")) if key else ()
    value = condition.value
    if not path:
        if operator in ("has", "has_not") and isinstance(value, str):
            has = Span.attributes.has_key(value)
            return has if operator == "has" else not_(has)
        raise ValidationFailedError("an attributes condition names a key")
    node = Span.attributes[path]
    if operator in ("is", "eq") and not isinstance(value, (list, dict)) and value is not None:
        # Containment uses the GIN index on attributes.
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        return Span.attributes.contains(nested)
    if operator in ("exists", "not_exists"):
        return node.is_not(None) if operator == "exists" else node.is_(None)
    if operator in ("has", "has_not"):
        has = node.has_key(str(value))
        return has if operator == "has" else not_(has)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if operator == "btwn" and isinstance(value, list):
        numeric = all(isinstance(item, (int, float)) for item in value)
    text_node = Span.attributes[path].astext
    return _compare(
        cast(text_node, Float) if numeric else text_node, operator, value, condition.options or {}
    )


def _compare(column: Any, operator: str, value: Any, options: dict[str, Any]) -> ColumnElement[bool]:
    result: ColumnElement[bool] = _comparison(column, operator, value, options)
    return result


def _comparison(column: Any, operator: str, value: Any, options: dict[str, Any]) -> Any:
    case_sensitive = bool(options.get("case_sensitive", False))
    if operator in ("is", "eq"):
        return column.is_(None) if value is None else column == value
    if operator in ("is_not", "neq"):
        return column.is_not(None) if value is None else column.is_distinct_from(value)
    if operator in ("gt", "lt", "gte", "lte"):
        return {"gt": column > value, "lt": column < value, "gte": column >= value, "lte": column <= value}[
            operator
        ]
    if operator == "btwn":
        if not isinstance(value, list) or len(value) != 2:
            raise ValidationFailedError("btwn takes [low, high]")
        return column.between(value[0], value[1])
    if operator in ("in", "not_in"):
        values = value if isinstance(value, list) else [value]
        return column.in_(values) if operator == "in" else not_(column.in_(values))
    if operator in ("exists", "not_exists"):
        return column.is_not(None) if operator == "exists" else column.is_(None)
    if operator in ("contains", "startswith", "endswith", "like"):
        text = str(value)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {
            "contains": f"%{escaped}%",
            "startswith": f"{escaped}%",
            "endswith": f"%{escaped}",
            "like": text,
        }[operator]
        return column.like(pattern) if case_sensitive else column.ilike(pattern)
    if operator == "matches":
        return column.regexp_match(str(value), flags=None if case_sensitive else "i")
    raise ValidationFailedError(f"unknown filter operator {operator!r}")


def _times(value: Any) -> Any:
    try:
        if isinstance(value, list):
            return [_datetime.validate_python(item) for item in value]
        return _datetime.validate_python(value)
    except ValidationError as error:
        raise ValidationFailedError(f"{value!r} is not a time") from error


def _ids(value: Any) -> Any:
    if isinstance(value, list):
        return [str(item).replace("-", "").lower() for item in value]
    return str(value).replace("-", "").lower() if value is not None else None


def _encode_cursor(span: Span) -> str:
    raw = json.dumps([span.start_time.isoformat(), span.trace_id, span.span_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str, str]:
    try:
        start, trace_id, span_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(start), str(trace_id), str(span_id)
    except (ValueError, TypeError) as error:
        raise ValidationFailedError("windowing.next is not a cursor this API issued") from error
