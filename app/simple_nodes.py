"""Code-defined nodes: the seed's ``createSimpleNode`` in Python form.

``create_simple_node("double", "math.double", fn)`` returns a :class:`NodeSpec`
that carries ``fn`` with it. A blueprint built from such specs runs in-process
(the ``direct`` transport); across a process boundary only registered,
importable node types exist, and validation says so.

``fn`` is called with the node's input, or with ``(input, context)`` when it
takes two parameters. An ``async def`` runs on the engine loop; a plain function
runs on a worker thread unless ``runner="inline"`` is asked for (for trivial,
non-blocking functions where a thread hop would cost more than the work; with a
``timeout`` it still runs on a thread, where the timeout can fire).
``runner="process"`` runs it in a worker process killed at the timeout; that needs
a module-level function the worker can import (not a closure or lambda).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.blueprint import NodeSpec, Runner


def create_simple_node(
    id: str,
    type: str,
    fn: Callable[..., Any],
    *,
    runner: Runner | str | None = None,
    per_item: bool = False,
    **spec: Any,
) -> NodeSpec:
    """A node spec whose work is ``fn``; extra keywords are NodeSpec fields
    (``retry``, ``timeout``, ``when``, ``on_error``, ``params``, ``record``).

    A generator function (``def`` with ``yield``, or ``async def`` with ``yield``)
    makes the node produce a stream of items; ``per_item=True`` calls ``fn`` once
    per item of a stream (or list) it is fed (see :mod:`app.stream_roles`)."""
    node = NodeSpec(id=id, type=type, runner=Runner(runner) if runner else None, **spec)
    node._function = fn
    node._per_item = per_item
    return node
