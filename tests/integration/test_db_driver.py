"""pg8000 as `lamina.db.driver` tunes it: the same statements, on a socket that does not wait on Nagle."""

from __future__ import annotations

import socket
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

# Pieces of SQL that exercise pg8000's scanner: placeholders of each style, and the places a placeholder-like
# text must be left alone (string literals, E'' strings, quoted identifiers, dollar quotes, comments, %%).
FRAGMENTS = [
    "SELECT ",
    ", ",
    " FROM t WHERE a = ",
    "%s",
    "%(alpha)s",
    "%(beta_2)s",
    ":alpha",
    ":beta_2",
    "'it''s :alpha %(beta_2)s'",
    "E'\\\\:alpha'",
    '"col:alpha"',
    "$$ :alpha $$",
    "-- :alpha %s\n",
    "%%",
    "::text",
    "\n",
]


def test_a_connection_from_the_engine_has_nagle_off(stack_env: dict[str, str]) -> None:
    from lamina.db.unit_of_work import unit_of_work

    with unit_of_work() as session:
        dbapi_connection: Any = session.connection().connection.dbapi_connection
        sock = dbapi_connection._usock
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_statement_with_parameters_past_the_write_buffer_round_trips(stack_env: dict[str, str]) -> None:
    from sqlalchemy import text

    from lamina.db.unit_of_work import unit_of_work

    document = "x" * 50_000  # several segments: the case Nagle delayed
    with unit_of_work() as session:
        assert (
            session.execute(text("SELECT length(:document)"), {"document": document}).scalar_one() == 50_000
        )


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12),
    style=st.sampled_from(["format", "pyformat", "named"]),
)
def test_the_memoised_paramstyle_conversion_matches_pg8000s(parts: list[str], style: str) -> None:
    import pg8000.dbapi
    import pg8000.legacy

    from lamina.db.driver import tune_pg8000

    tune_pg8000()
    query = "".join(parts)
    names = {"alpha": 1, "beta_2": 2}
    args: Any = names if style != "format" else tuple(range(query.count("%s")))
    try:
        expected: Any = pg8000.dbapi.convert_paramstyle(style, query, args)
    except Exception as error:  # pg8000 refuses it: so must the memoised one
        expected = type(error)
    try:
        # Twice: the second answer comes from the cache.
        pg8000.legacy.convert_paramstyle(style, query, args)
        actual: Any = pg8000.legacy.convert_paramstyle(style, query, args)
    except Exception as error:
        actual = type(error)
    assert actual == expected
