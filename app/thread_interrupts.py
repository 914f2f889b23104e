"""Raising an exception in another thread, and making sure none stays pending.

:mod:`app.evaluation_limits` stops a runaway evaluation by raising its timeout inside
the evaluating thread (``PyThreadState_SetAsyncExc``); these are the two primitives.
"""

from __future__ import annotations

import threading


def raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Raise ``exc_type`` in the thread at its next bytecode; ``None`` clears a pending one.

    ``None`` goes to C as NULL (no ``argtypes`` is declared, on purpose: a declared
    ``py_object`` would pass ``Py_None`` instead of NULL).
    """
    import ctypes  # here: only a limit that fires needs it, and it is not a cheap import

    exc = ctypes.py_object(exc_type) if exc_type is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


class _Flush(BaseException):
    """Delivered on purpose by :func:`drop_pending`, and caught there."""


#: Backward jumps :func:`drop_pending` waits through for its own exception to arrive
#: (each checks for pending exceptions; one is enough).
_FLUSH_TURNS = 1000


def drop_pending(expected: type[BaseException]) -> None:
    """Make sure no asynchronous exception is pending for this thread, whether the
    limit's was delivered or not.

    ``expected``: the limit's exception type, which may still arrive first.

    Clearing it with ``PyThreadState_SetAsyncExc(id, NULL)`` is not enough: CPython
    3.11 still signals its eval breaker and never unsignals it (it does only when it
    delivers an exception), so every later check takes the slow path, and a function
    called under a profile hook (:mod:`main_process.runners.straight_line`) never
    returned: a node hung once any template had timed out in its process. So: deliver
    an exception of our own right here (replacing a pending one), which clears it.
    """
    thread_id = threading.get_ident()
    for _ in range(3):
        try:
            raise_in(thread_id, _Flush)  # replaces the limit's, if still pending
            for _ in range(_FLUSH_TURNS):
                pass
        except _Flush:
            return
        except expected:
            continue  # the limit's own arrived just before: flush again
    raise_in(thread_id, None)  # not delivered (no such check here): never later
