"""A session whose side effects (queue messages, cache invalidations) run only after its commit succeeded.

Side effects registered with `after_commit` are dropped on rollback, so a failed request never announces or
invalidates anything; a side effect that fails after the commit is logged and never undoes the commit (the
events outbox retries what was not published).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

AFTER_COMMIT_KEY = "lamina_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction has committed."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def run_after_commit(session: Session) -> None:
    callbacks: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception as error:
            from lamina.db.failures import classify_dependency_failure

            failure = classify_dependency_failure(error)
            if failure is None:
                logger.exception("after-commit side effect failed", extra={"callback": repr(callback)})
            else:  # an outage (Redis down): logged once per outage, not a traceback per request
                from lamina.outages import report_failure

                report_failure(failure.dependency, error)


def discard_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)


def commit(session: Session) -> None:
    """Commit, then run the side effects that waited for it."""
    try:
        session.commit()
    except BaseException:
        discard_after_commit(session)
        raise
    from lamina.outages import report_success

    report_success("postgres")  # ends a logged outage; a dictionary lookup otherwise
    run_after_commit(session)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session committed on success (then its side effects run) and rolled back on error."""
    from lamina.db import get_sessionmaker

    session = get_sessionmaker()()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        discard_after_commit(session)
        raise
    finally:
        session.close()
