"""Why an execution is stopped from outside, and the status and error it ends with.

Its own module because the driver, the engine's runs and the transports all speak of
it, and the table is the contract: a user's cancel ends ``cancelled``, the
execution's own timeout ``failed``, a shut-down engine ``interrupted`` (resumable).
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import ConductorError, ExecutionCancelledError, ExecutionTimeoutError
from app.states import ExecutionStatus


class CancelReason(StrEnum):
    """Why an execution is stopped from outside."""

    USER = "user"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"


#: The status each reason ends an execution in, and its error.
ENDINGS: dict[CancelReason, tuple[ExecutionStatus, type[ConductorError], str]] = {
    CancelReason.USER: (
        ExecutionStatus.CANCELLED,
        ExecutionCancelledError,
        "the execution was cancelled",
    ),
    CancelReason.TIMEOUT: (
        ExecutionStatus.FAILED,
        ExecutionTimeoutError,
        "the execution timed out",
    ),
    CancelReason.SHUTDOWN: (
        ExecutionStatus.INTERRUPTED,
        ExecutionCancelledError,
        "the engine shut down while the execution ran; resume it to finish",
    ),
}
