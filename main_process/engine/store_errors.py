"""Telling a store failure apart from a bug when an execution ends with an exception."""

from __future__ import annotations

from app.errors import StoreError


def store_error(exc: BaseException) -> StoreError | None:
    """The StoreError that ended the run, also inside a task group's exception group."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = store_error(inner)
            if found is not None:
                return found
    return None
