"""How big a value is once written out as JSON, without writing it out.

A template or a JMESPath expression can return a value whose parts are shared:
``[@, @] | [@, @] | …`` forty times is forty small lists in memory, and 2**40 items
once encoded, recorded or sent. So a value is measured as JSON would see it, every
shared part counted each time it appears, but each distinct container is walked only
once (its size is remembered), so measuring costs the value's size in memory, never
its expanded size. The walk stops as soon as the total passes the limit.

Sizes are estimates in bytes of compact JSON: exact for strings of ASCII text and
containers, approximate for numbers; good enough for a limit counted in megabytes.
"""

from __future__ import annotations

from typing import Any

from app.limits import limit

__all__ = ["expanded_size", "value_limit"]


def value_limit() -> int:
    """The value budget in bytes (``$CONDUCTOR_MAX_VALUE_BYTES``, else 64 MiB)."""
    return limit("value_bytes")


def _scalar(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        # Digits from the bit length: str() of a number past 4,300 digits raises.
        return 20 if -(10**18) < value < 10**18 else value.bit_length() * 30103 // 100000 + 2
    return 24


class _Over(Exception):
    """The walk passed the limit: stop at once."""


def _walk_recursive(value: Any, limit: int) -> int:
    memo: dict[int, int] = {}

    def walk(item: Any) -> int:
        if not isinstance(item, dict | list | tuple):
            return _scalar(item)
        key = id(item)
        known = memo.get(key)
        if known is not None:
            return known
        memo[key] = 2  # provisional: a cycle sees its container as empty
        total = 2
        if isinstance(item, dict):
            for k, child in item.items():
                total += _scalar(k) + 1 + walk(child)
        else:
            for child in item:
                total += 1 + walk(child)
        if total > limit:
            raise _Over
        memo[key] = total
        return total

    return walk(value)


def _walk_iterative(value: Any, limit: int) -> int:
    """The same walk with an explicit stack, for values nested past the recursion limit."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        children = list(item.values()) if isinstance(item, dict) else item
        if not children_done:
            if key in sizes:
                continue
            sizes[key] = 2
            stack.append((item, True))
            stack.extend((c, False) for c in children if isinstance(c, dict | list | tuple))
            continue
        total = 2 + sum(
            1 + (sizes.get(id(c), 2) if isinstance(c, dict | list | tuple) else _scalar(c))
            for c in children
        )
        if isinstance(item, dict):
            total += sum(_scalar(k) for k in item)
        if total > limit:
            raise _Over
        sizes[key] = total
    return sizes[id(value)]


def expanded_size(value: Any, limit: int) -> int:
    """Estimated bytes of ``value`` as JSON; ``limit + 1`` as soon as it is over.

    A container that contains itself counts once (JSON cannot hold it; recording it
    fails elsewhere with its own error).
    """
    if not isinstance(value, dict | list | tuple):
        return min(_scalar(value), limit + 1)
    try:
        try:
            return min(_walk_recursive(value, limit), limit + 1)
        except RecursionError:
            return min(_walk_iterative(value, limit), limit + 1)
    except _Over:
        return limit + 1
