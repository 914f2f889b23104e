"""Redaction by value: a secret's value becomes ``••••`` wherever it would be recorded.

One :class:`Redactor` per process (:data:`REDACTOR`) knows every secret value this
process has set or read for a template. The state manager passes everything it
records or emits through it (node outputs, inputs, errors, event data, log messages,
execution inputs, config and outputs, variables and checkpoints as written), and so
do the HTTP error bodies and Python's log records (a record factory installed
when the first value becomes known): the few places everything recorded or sent
goes through, rather than every reader. It lives in ``app`` (pure code, no engine)
so the CLI and the pipe can use the same one.

Limits (documented in docs/secrets.md): only the exact value is recognised. A value
transformed by a template or a node (upper-cased, base64'd, split, hashed, URL-
encoded) is not. A value known to nobody in this process yet (set by another process
and not read here) is not masked until it is read. With no secret known, redaction
costs one attribute check.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

import orjson

from app.errors import ErrorInfo
from app.secret_rules import MASK, MIN_VALUE_LENGTH

__all__ = ["REDACTOR", "Redactor"]


class Redactor:
    """Replaces known secret values by :data:`~app.secret_rules.MASK` in JSON-like data."""

    __slots__ = ("_lock", "_values", "active")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Longest first, so a value containing another is masked whole.
        self._values: tuple[str, ...] = ()
        #: False while no value is known: every method returns its argument at once.
        self.active = False

    def add(self, value: str) -> None:
        """Mask ``value`` from now on (values shorter than the minimum are ignored)."""
        if len(value) < MIN_VALUE_LENGTH or value in self._values:
            return
        with self._lock:
            values = {*self._values, value}
            self._values = tuple(sorted(values, key=len, reverse=True))
            if not self.active:
                _install_log_redaction()
            self.active = True

    def forget_all(self) -> None:
        """Know no value (tests)."""
        with self._lock:
            self._values = ()
            self.active = False

    def text(self, text: str) -> str:
        """``text`` with every known value masked."""
        if not self.active:
            return text
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def value(self, value: Any) -> Any:
        """``value`` with every string inside (keys too) masked; the same object when
        nothing changed, so an unredacted record costs no copy.

        A container is first written as JSON (orjson, C speed) and searched for each
        value's JSON form (escaping is per character, so a string holding the value
        holds its escaped form): only one that holds a value is walked.
        """
        if not self.active:
            return value
        values = self._values
        if isinstance(value, dict | list | tuple):
            try:
                blob = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
            except (TypeError, orjson.JSONEncodeError):  # not JSON: walk it
                pass
            else:
                if not any(orjson.dumps(v)[1:-1] in blob for v in values):
                    return value
        return self._walk(value, values)

    def _walk(self, value: Any, values: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            for secret in values:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            changed = False
            out: dict[Any, Any] = {}
            for key, item in value.items():
                new_key = self._walk(key, values) if isinstance(key, str) else key
                new_item = self._walk(item, values)
                changed = changed or new_key is not key or new_item is not item
                out[new_key] = new_item
            return out if changed else value
        if isinstance(value, list | tuple):
            items = [self._walk(item, values) for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else type(value)(items)
        return value

    def values(self, *items: Any) -> tuple[Any, ...]:
        """Each of ``items`` masked: an :class:`ErrorInfo` by :meth:`error`, any other
        value by :meth:`value`."""
        return tuple(
            self.error(item) if isinstance(item, ErrorInfo) else self.value(item) for item in items
        )

    def error(self, info: ErrorInfo | None) -> ErrorInfo | None:
        """An error record with its message, place and traceback masked."""
        if info is None or not self.active:
            return info
        message, where, trace = self.text(info.message), info.where, info.traceback
        where = None if where is None else self.text(where)
        trace = None if trace is None else self.text(trace)
        problems = [p.model_copy(update={"message": self.text(p.message)}) for p in info.problems]
        if (
            message is info.message
            and where is info.where
            and trace is info.traceback
            and all(a.message is b.message for a, b in zip(problems, info.problems, strict=True))
        ):
            return info
        return info.model_copy(
            update={"message": message, "where": where, "traceback": trace, "problems": problems}
        )


def _install_log_redaction() -> None:
    """Mask secret values in every log record as it is made (message, arguments, and
    a traceback that shows one): the one place all Python logging goes through,
    whichever handlers ``conductor serve``, the worker or an embedding program set up."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if REDACTOR.active:
            try:
                text = record.getMessage()
            except Exception:  # a bad format string: logging reports it as usual
                return record
            masked = REDACTOR.text(text)
            if masked is not text:
                record.msg, record.args = masked, None
            if record.exc_info and record.exc_info[1] is not None:
                trace = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
                if REDACTOR.text(trace) != trace:
                    record.exc_text = REDACTOR.text(trace)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


#: The process's redactor (secrets belong to the process that runs the engine).
REDACTOR = Redactor()
