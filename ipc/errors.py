"""The errors the pipe itself can cause, as typed :mod:`app.errors` members.

Both subclass :class:`~app.errors.TransportError` (so "could not reach the engine"
catches them) and register their ``type_name`` through
``ConductorError.__init_subclass__``, so an error reply naming them is rebuilt as
the same type by :func:`app.errors.error_from_info` once this module is imported.
"""

from __future__ import annotations

from app.errors import TransportError


class ProtocolError(TransportError):
    """A frame that is not a valid message: not JSON, truncated, too large, an
    unknown ``kind`` or ``method``, a wrong protocol version, or fields that do not
    fit the message's model.

    ``request_id`` is the id of the request the bad frame belonged to, when it
    could still be read, so the answer to it fails instead of hanging. It does not
    cross the pipe (the error reply carries it as its own ``id``).
    """

    type_name = "ProtocolError"

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        node_id: str | None = None,
        traceback: str | None = None,
        request_id: int | None = None,
    ) -> None:
        super().__init__(message, where=where, node_id=node_id, traceback=traceback)
        self.request_id = request_id


class WorkerDiedError(TransportError):
    """The worker process ended (crashed, was killed, or gave up restarting) while
    a call was waiting on it. What it had recorded is kept: executions it was
    running are marked ``interrupted`` by the next engine and can be resumed."""

    type_name = "WorkerDiedError"
