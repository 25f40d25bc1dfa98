"""Test sets as files: reading an uploaded CSV or JSON file into rows (a malformed one is refused, naming
the row), writing rows back out, and reading a multipart/form-data upload without a multipart dependency."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lamina.errors import LaminaError, PayloadTooLargeError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_COLUMNS = 500
FILE_TYPES = ("csv", "json")


class MalformedUploadError(LaminaError):
    """An uploaded file that is not a usable test set; the message names the row (400)."""

    status_code = 400
    code = "malformed_upload"


@dataclass(frozen=True)
class FormPart:
    filename: str | None
    content_type: str | None
    value: bytes


def file_type_of(explicit: str | None, filename: str | None, content_type: str | None) -> str:
    """csv or json: as told, else by the file name's extension, else by its content type."""
    if explicit:
        if explicit.lower() not in FILE_TYPES:
            raise MalformedUploadError(f"file_type must be csv or json, not {explicit!r}")
        return explicit.lower()
    name = (filename or "").lower()
    for kind in FILE_TYPES:
        if name.endswith(f".{kind}") or kind in (content_type or "").lower():
            return kind
    raise MalformedUploadError("say the file_type (csv or json), or name the file *.csv or *.json")


def _text(raw: bytes) -> str:
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError(f"an uploaded test set is at most {MAX_UPLOAD_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise MalformedUploadError(f"the file is not UTF-8 text (line {line})") from error
    if not text.strip():
        raise MalformedUploadError("the file is empty")
    return text


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def read_csv(raw: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV file with a header line; every row must have the header's number of fields."""
    reader = csv.reader(io.StringIO(_text(raw), newline=""))
    try:
        header = next(reader)
    except csv.Error as error:
        raise MalformedUploadError(f"the header line is not valid CSV: {error}") from error
    columns = [name.strip() for name in header]
    if not any(columns) or "" in columns:
        raise MalformedUploadError("the header line has an empty column name")
    if len(set(columns)) != len(columns):
        duplicate = next(name for name in columns if columns.count(name) > 1)
        raise MalformedUploadError(f"the header names column {duplicate!r} twice")
    if len(columns) > MAX_COLUMNS:
        raise MalformedUploadError(f"a test set has at most {MAX_COLUMNS} columns")
    if "\x00" in "".join(columns):
        raise MalformedUploadError("the header line contains a NUL character")
    rows: list[dict[str, Any]] = []
    row_number = 0
    try:
        for fields in reader:
            if not fields:  # a blank line
                continue
            row_number += 1
            if len(fields) != len(columns):
                raise MalformedUploadError(
                    f"row {row_number} (line {reader.line_num}) has {len(fields)} fields; "
                    f"the header has {len(columns)}"
                )
            if any("\x00" in value for value in fields):
                raise MalformedUploadError(
                    f"row {row_number} (line {reader.line_num}) contains a NUL character"
                )
            rows.append(dict(zip(columns, fields, strict=True)))
    except csv.Error as error:
        raise MalformedUploadError(
            f"row {row_number + 1} (line {reader.line_num}) is not valid CSV: {error}"
        ) from error
    if not rows:
        raise MalformedUploadError("the file has a header but no rows")
    return rows


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(raw: bytes) -> list[dict[str, Any]]:
    """Rows of a JSON file: an array of objects (or `{"testcases": [...]}`, each `{data}` or a row)."""
    try:
        parsed = json.loads(_text(raw), parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise MalformedUploadError(
            f"the file is not valid JSON: {error.msg} (line {error.lineno})"
        ) from error
    except (ValueError, RecursionError) as error:
        raise MalformedUploadError(f"the file is not usable JSON: {error}") from error
    if isinstance(parsed, dict) and isinstance(parsed.get("testcases"), list):
        parsed = [
            item["data"] if isinstance(item, dict) and isinstance(item.get("data"), dict) else item
            for item in parsed["testcases"]
        ]
    if not isinstance(parsed, list):
        raise MalformedUploadError("a JSON test set is an array of objects, one per row")
    if not parsed:
        raise MalformedUploadError("the file has no rows")
    for number, row in enumerate(parsed, 1):
        if not isinstance(row, dict):
            raise MalformedUploadError(f"row {number} is not an object (it is {type(row).__name__})")
        if _contains_nul(row):
            raise MalformedUploadError(f"row {number} contains a NUL character")
        if len(row) > MAX_COLUMNS:
            raise MalformedUploadError(f"row {number} has more than {MAX_COLUMNS} columns")
    return parsed


def read_rows(raw: bytes, file_type: str) -> list[dict[str, Any]]:
    return read_csv(raw) if file_type == "csv" else read_json(raw)


def columns_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every column, in the order of first appearance."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def write_csv(rows: list[dict[str, Any]]) -> bytes:
    """A header line, then one line per row (objects and lists as JSON text)."""
    columns = columns_of(rows)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


def write_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False).encode("utf-8")


def read_form(body: bytes, content_type: str) -> dict[str, FormPart]:
    """The fields of a multipart/form-data body, by name (the standard library's MIME parser)."""
    from email.message import EmailMessage
    from email.parser import BytesParser
    from email.policy import HTTP

    if len(body) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise PayloadTooLargeError(f"an uploaded test set is at most {MAX_UPLOAD_BYTES} bytes")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise MalformedUploadError("the upload is not a multipart/form-data body with a boundary")
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        parts[name] = FormPart(
            filename=part.get_filename(),
            content_type=part.get_content_type() if part.get("content-type") else None,
            value=payload if isinstance(payload, bytes) else b"",
        )
    return parts
