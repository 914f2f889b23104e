"""Fault injection for users: run a blueprint with chosen nodes failing on purpose.

An error path (a ``catch`` node, ``on_error: continue``, retries, an ``error_handler``
blueprint) is only trusted once it has run. ``config.inject`` — ``conductor run
--inject node=error``, the app's "Simulate failure" — makes a node fail or stall
without touching its code or the blueprint:

* ``error``: the node raises an :class:`~app.errors.InjectedFaultError` at once,
  instead of running;
* ``timeout``: the node sleeps past its own ``timeout``, so the engine's real
  timeout path ends it (a ``NodeTimeoutError``). A node without a timeout cannot
  time out: injecting one there is a ConfigError naming the node, before anything
  runs (give the node a timeout, or inject ``error``);
* ``slow:SECONDS``: the node waits that long, then runs normally (inside its
  timeout, so a delay past it times out as a slow service would).

Each attempt gets the fault, so retries run and are used up as with a real failure.
The injection is recorded in the execution's config (a resume applies it again),
shown by ``conductor history`` / ``show`` and marked in the app's History.

This module is the vocabulary (parsing, wording) shared by the config model, the CLI
and the app; :mod:`main_process.engine.injection` applies it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from app.errors import ConfigError

__all__ = ["FaultKind", "Injection", "inject_text", "parse_inject_flag", "parse_injection"]

#: Longest ``slow:`` delay accepted (one day): a typo of 100000 would hang a run.
MAX_SLOW_SECONDS = 86_400.0


class FaultKind(StrEnum):
    ERROR = "error"
    TIMEOUT = "timeout"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class Injection:
    """One node's fault: its kind and, for ``slow``, the delay in seconds."""

    kind: FaultKind
    seconds: float = 0.0

    @property
    def spec(self) -> str:
        """The canonical text of the fault (``error``, ``timeout``, ``slow:2.5``)."""
        return f"slow:{self.seconds:g}" if self.kind is FaultKind.SLOW else self.kind.value


def parse_injection(spec: str) -> Injection:
    """``error``, ``timeout`` or ``slow:SECONDS`` as an :class:`Injection`; a ValueError
    that says what is accepted otherwise."""
    text = spec.strip().lower()
    kind, colon, rest = text.partition(":")
    if kind == FaultKind.SLOW and colon:
        try:
            seconds = float(rest)
        except ValueError:
            seconds = math.nan
        if not 0 <= seconds <= MAX_SLOW_SECONDS:  # nan fails too
            raise ValueError(
                f"slow takes a delay of 0 to {MAX_SLOW_SECONDS:g} seconds (slow:2.5), not {rest!r}"
            )
        return Injection(FaultKind.SLOW, seconds)
    if not colon and kind in (FaultKind.ERROR, FaultKind.TIMEOUT):
        return Injection(FaultKind(kind))
    raise ValueError(f"a fault is error, timeout or slow:SECONDS, not {spec!r}")


def parse_inject_flag(value: str) -> tuple[str, str]:
    """One ``--inject NODE=FAULT`` as ``(node id, canonical fault)``; ConfigError where
    ``--inject`` otherwise."""
    node_id, equals, spec = value.partition("=")
    if not equals or not node_id.strip():
        raise ConfigError(
            f"expected NODE=error|timeout|slow:SECONDS, got {value!r}", where="--inject"
        )
    try:
        return node_id.strip(), parse_injection(spec).spec
    except ValueError as exc:
        raise ConfigError(f"{node_id.strip()}: {exc}", where="--inject") from None


def inject_text(inject: dict[str, str] | None) -> str:
    """``fetch=error, save=slow:2`` — how History and ``show`` name a run's faults."""
    return ", ".join(f"{node_id}={spec}" for node_id, spec in (inject or {}).items())
