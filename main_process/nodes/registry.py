"""The node registry: dotted type names to :class:`NodeType`, refusing duplicates loudly.

Built-in types register from :mod:`main_process.nodes.builtin` by name, and their
modules are imported on first lookup (a run pays only for the types it uses); third-party
packages add theirs through the entry-point group ``conductor.nodes``, whose
value is a :class:`NodeType`, a list of them, or a function that takes the
registry and registers its own. A broken plugin is reported (``plugin_errors``)
and skipped: one bad package must not stop the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from app.errors import NodeTypeError
from app.results import NodeTypeInfo
from app.stream_roles import StreamRole
from main_process.nodes.base import NodeType

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "conductor.nodes"


class NodeRegistry:
    """Node types by dotted name."""

    def __init__(self, types: Iterable[NodeType] = ()) -> None:
        self._types: dict[str, NodeType] = {}
        #: Names registered but not loaded yet → how to load them (see ``register_lazy``).
        self._pending: dict[str, Callable[[str], NodeType]] = {}
        self._described: list[NodeTypeInfo] | None = None
        self._plugin_errors: list[str] = []
        #: Entry-point groups not scanned yet (see ``defer_entry_points``).
        self._unscanned: list[str] = []
        #: Loading a lazy type or scanning plugins: big blueprints are compiled and
        #: validated on threads, beside the loop's own lookups.
        self._loading = threading.RLock()
        for node_type in types:
            self.register(node_type)

    def register(self, node_type: NodeType) -> NodeType:
        """Add a type; a name already taken is an error, never a silent replacement."""
        self._scan_deferred()  # a plugin's type, registered at start, is taken already
        self._refuse_taken(node_type.type)
        self._types[node_type.type] = node_type
        self._described = None
        return node_type

    def register_lazy(self, type_names: Iterable[str], load: Callable[[str], NodeType]) -> None:
        """Register types by name; ``load(name)`` makes each on its first lookup (so a
        registry's start does not import every node module). Duplicates are refused
        here, at once, as ``register`` refuses them."""
        for name in type_names:
            self._refuse_taken(name)
            self._pending[name] = load
        self._described = None

    def _refuse_taken(self, type_name: str) -> None:
        if type_name in self._types or type_name in self._pending:
            raise NodeTypeError(f"node type {type_name!r} is already registered", where=type_name)

    def lookup(self, type_name: str) -> NodeType | None:
        found = self._types.get(type_name)
        if found is None and type_name not in self._pending and self._unscanned:
            self._scan_deferred()
            found = self._types.get(type_name)
        if found is None and type_name in self._pending:
            with self._loading:
                found = self._types.get(type_name)
                load = self._pending.get(type_name)
                if found is None and load is not None:
                    found = load(type_name)
                    self._types[type_name] = found
                    del self._pending[type_name]
        return found

    def get(self, type_name: str) -> NodeType:
        found = self.lookup(type_name)
        if found is None:
            raise NodeTypeError(f"unknown node type {type_name!r}", where=type_name)
        return found

    def type_names(self) -> list[str]:
        self._scan_deferred()
        return sorted([*self._types, *self._pending])

    def __contains__(self, type_name: object) -> bool:
        if type_name in self._types or type_name in self._pending:
            return True
        self._scan_deferred()
        return type_name in self._types or type_name in self._pending

    def __len__(self) -> int:
        self._scan_deferred()
        return len(self._types) + len(self._pending)

    @property
    def plugin_errors(self) -> list[str]:
        """One message per plugin that failed to load (after scanning any deferred group)."""
        self._scan_deferred()
        return self._plugin_errors

    def describe(self) -> list[NodeTypeInfo]:
        """Every type as the editor and ``conductor nodes`` show it (built once: the
        JSON schemas cost ~12 ms, and the GUI asks on every start)."""
        if self._described is None:
            self._described = self._describe()
        return [info.model_copy() for info in self._described]

    def _describe(self) -> list[NodeTypeInfo]:
        self._scan_deferred()
        for name in list(self._pending):
            self.lookup(name)
        return [
            NodeTypeInfo(
                type=t.type,
                title=t.title,
                category=t.category,
                description=t.description,
                params_schema=t.params_model.model_json_schema(),
                ports=list(t.ports),
                dynamic_ports=t.port_names is not None,
                runner=t.runner.value,
                streams=t.streams.value if isinstance(t.streams, StreamRole) else "params",
            )
            for t in sorted(self._types.values(), key=lambda t: (t.category, t.type))
        ]

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every plugin in ``group``; failures go to ``plugin_errors``."""
        from importlib.metadata import entry_points  # ~10 ms to import: only when scanning

        for ep in entry_points(group=group):
            try:
                self._register_plugin(ep.load())
            except Exception as exc:  # a plugin may raise anything; keep the engine alive
                message = f"node plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
                log.warning(message)
                self._plugin_errors.append(message)

    def defer_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """``load_entry_points(group)`` when first needed: a lookup of a name not built
        in, listing or counting the types, ``register`` or ``plugin_errors``. Scanning
        the installed distributions costs ~5-10 ms; a run of built-in types never needs
        it. Built-in types keep precedence (they are registered first either way)."""
        self._unscanned.append(group)

    def _scan_deferred(self) -> None:
        with self._loading:
            groups, self._unscanned = self._unscanned, []
            for group in groups:
                self.load_entry_points(group)

    def _register_plugin(self, value: Any) -> None:
        if isinstance(value, NodeType):
            self.register(value)
        elif isinstance(value, list | tuple):
            for item in value:
                self._register_plugin(item)
        elif callable(value):
            value(self)
        else:
            raise NodeTypeError(f"expected a NodeType, a list or a function, got {value!r}")


def default_registry(*, plugins: bool = True) -> NodeRegistry:
    """A registry with the built-in node types and, unless disabled, installed plugins
    (scanned when first needed, see :meth:`NodeRegistry.defer_entry_points`)."""
    from main_process.nodes.builtin import BUILTIN_MODULES, load_builtin

    registry = NodeRegistry()
    registry.register_lazy(BUILTIN_MODULES, load_builtin)
    if plugins:
        registry.defer_entry_points()
    return registry
