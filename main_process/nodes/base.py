"""What a node type is, and what a node's code is handed when it runs.

A node type is a dotted name, a pydantic params model (its JSON schema is the
editor's form), and a function ``run(params, input, ctx)``. The engine renders
templates in every string of the params first, validates the result against the
model, and calls ``run`` with the model instance, the node's input and a
:class:`NodeContext`. ``run`` may be ``async def`` (runs on the engine loop) or a
plain function (runs on a worker thread when the type's runner is ``thread``).

A branch node returns :class:`PortOutput` to say which output port fired.
"""

from __future__ import annotations

import builtins
import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from app.blueprint import Runner
from app.stream_roles import StreamRole

_ROLE = re.compile(r":[a-z]+:`~?(?:[^`<]*<)?([^`>]+?)>?`")


def user_summary(docstring: str) -> str:
    """What the editor shows a user about a node type: the docstring's first paragraph,
    without reStructuredText markup. The rest of a docstring is for developers (a note
    on loop stalls once showed in the palette, ``code`` marks and all)."""
    first = inspect.cleandoc(docstring).split("\n\n", 1)[0]
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], first)
    return " ".join(text.replace("``", "").split())


@dataclass(frozen=True, slots=True)
class PortOutput:
    """A branch node's result: ``value`` leaves through ``port``."""

    port: str
    value: Any


class NodeContext(Protocol):
    """What a running node may see and do besides its params and input."""

    @property
    def execution_id(self) -> str: ...

    @property
    def node_id(self) -> str: ...

    @property
    def attempt(self) -> int:
        """1 on the first try, 2 on the first retry, ..."""
        ...

    @property
    def inputs(self) -> dict[str, Any]:
        """The blueprint's inputs for this execution."""
        ...

    @property
    def timeout(self) -> float | None:
        """This node's timeout per attempt in seconds (None: none); evaluations of
        templates and expressions inside the node stop there too."""
        ...

    @property
    def upstream(self) -> dict[str, Any]:
        """Outputs of the upstream nodes that ran, keyed by node id, in edge order."""
        ...

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in params resolve against."""
        ...

    @property
    def file_roots(self) -> Sequence[Path]:
        """Resolved folders that file and database paths must stay inside (see
        :func:`main_process.nodes.files.confined_path`)."""
        ...

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        """Record a log line as an event of this execution."""
        ...

    def get_variable(self, key: str, default: Any = None) -> Any: ...

    def set_variable(self, key: str, value: Any) -> None: ...


class EmptyParams(BaseModel):
    """Params model of node types that take none."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


NodeFunction = Callable[[Any, Any, NodeContext], Awaitable[Any] | Any]


@dataclass(slots=True)
class NodeType:
    """A registered node type.

    ``ports`` are fixed named output ports (``if``: true/false); ``port_names``
    computes them from raw params when they depend on them (``switch``: its cases
    plus ``default``). With neither, the node has one unnamed output.

    ``runs_code`` marks types that run code the blueprint names (a Python function,
    a program): an engine that allows no code nodes (``conductor serve
    --no-code-nodes``) refuses blueprints using them. Left ``None`` (undeclared), a
    plugin type counts as running code there — an unknown type cannot be trusted —
    while built-in types that leave it unset do not; a plugin that runs nothing it
    is given declares ``runs_code=False``.
    """

    type: str
    title: str
    category: str
    params_model: builtins.type[BaseModel]
    run: NodeFunction
    description: str = ""
    runner: Runner = Runner.INLINE
    ports: tuple[str, ...] = ()
    port_names: Callable[[dict[str, Any]], list[str]] | None = None
    runs_code: bool | None = None
    #: Only waits for child runs (``blueprint.call``, ``loop``): holds no slot of the
    #: engine-wide node limit while it waits (see :class:`~main_process.engine.plan.PlanNode`).
    waits_for_children: bool = False
    #: The type's part in streams of items (:class:`~app.stream_roles.StreamRole`): a
    #: fixed role, or one computed from raw params (``python.function``'s ``stream``).
    streams: StreamRole | Callable[[dict[str, Any]], StreamRole] = StreamRole.WHOLE
    #: Per-item types: ``item_function(params, ctx)`` gives the function applied to each
    #: item (sync or async); None: ``run(params, item, ctx)`` is called per item.
    item_function: Callable[[Any, NodeContext], Callable[[Any], Any]] | None = None
    #: Collecting types that run once per chunk of a stream (``sqlite.write``: one
    #: transaction each) fold their chunk outputs with this; None: ``run`` is handed
    #: the stream's reader (:mod:`main_process.streams.items`).
    combine: Callable[[Any, Any], Any] | None = None
    #: Collecting types that read a stream their own way (``file.write``):
    #: ``consume(params, reader, ctx)``, awaited on the loop; used before ``combine``.
    consume: Callable[[Any, Any, NodeContext], Awaitable[Any]] | None = None
    is_async: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.run)
        if not self.description:
            self.description = user_summary(self.run.__doc__ or "")

    def stream_role(self, params: dict[str, Any]) -> StreamRole:
        """This node's role for its raw params (see :mod:`app.stream_roles`)."""
        streams = self.streams
        return streams if isinstance(streams, StreamRole) else streams(params)

    def output_ports(self, params: dict[str, Any]) -> list[str] | None:
        if self.port_names is not None:
            return self.port_names(params)
        return list(self.ports) if self.ports else None
