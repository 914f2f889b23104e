"""One open blueprint in the GUI: model, undo stack, file, dirty flag and problems.

:class:`EditorDocument` is the Qt adapter around a plain :class:`EditorModel`
(composition, not a QObject model): it listens to the model's facts and re-emits
each as a Qt signal, turns user intents into commands on its ``QUndoStack``, and
groups multi-item edits (delete a selection, paste, auto-layout) into one macro so
they are one undo step. Views connect to its signals and never write the model.

Assumptions: blueprint files are small, so ``open``/``save`` read and write them
on the calling (GUI) thread; saving writes a temporary file and renames it, so a
crash never leaves half a blueprint. Validation problems are computed elsewhere
(by the engine) and handed in with :meth:`set_problems`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, assert_never

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.blueprint import Blueprint, EdgeSpec, NodeSpec
from app.blueprint_files import dump_blueprint, load_blueprint_file
from app.errors import Problem
from app.results import NodeTypeInfo
from renderer.editor import clipboard
from renderer.editor.commands import (
    AddNodeCommand,
    ChangeBlueprintFieldCommand,
    ChangeNodeFieldCommand,
    ChangeUiFieldCommand,
    ConnectCommand,
    DisconnectCommand,
    MoveNodesCommand,
    PinNodeCommand,
    RemoveNodeCommand,
    RenameNodeCommand,
)
from renderer.editor.errors import EdgeRefusedError, EditError
from renderer.editor.facts import (
    BlueprintChanged,
    EdgeChanged,
    EdgeInserted,
    EdgeRemoved,
    Fact,
    ModelReset,
    NodeChanged,
    NodeInserted,
    NodeMoved,
    NodeRemoved,
    NodeRenamed,
    Point,
)
from renderer.editor.model import UNSET, EditorModel, FieldPath
from renderer.editor.node_catalog import NodeTypeCatalog

Format = Literal["json", "yaml"]
#: Horizontal gap when a new node is placed right of the others.
_APPEND_GAP = 260.0


class EditorDocument(QObject):
    """An editable blueprint with undo, a file and a dirty flag (see the module doc)."""

    #: A node now stands at (index, node_id).
    node_inserted = Signal(int, str)
    #: The node (index, node_id) was removed (its edges' edge_removed came first).
    node_removed = Signal(int, str)
    #: The node moved to a position (a ``(x, y)`` tuple, or None when forgotten).
    node_moved = Signal(str, object)
    #: The node's spec (params, retry, ...) was replaced: (index, node_id).
    node_changed = Signal(int, str)
    #: The node at index changed id: (index, old_id, new_id).
    node_renamed = Signal(int, str, str)
    #: An edge now stands at (index, EdgeSpec).
    edge_inserted = Signal(int, object)
    #: The edge (index, EdgeSpec) was removed.
    edge_removed = Signal(int, object)
    #: The edge at index was replaced: (index, new EdgeSpec).
    edge_changed = Signal(int, object)
    #: A blueprint-level field (``name``, ``inputs``, ...) changed.
    blueprint_changed = Signal(str)
    #: The whole blueprint was replaced (open, new): rebuild views.
    reset = Signal()
    #: The node types changed (the engine sent its list): ports and colours may differ.
    node_types_changed = Signal()
    #: An edit, undo or redo finished: a good moment to revalidate.
    edited = Signal()
    #: The document became dirty (True) or clean again (False).
    dirty_changed = Signal(bool)
    #: The file path changed (after open or save-as); "" for an unsaved document.
    path_changed = Signal(str)
    #: The validation problems were replaced (see :meth:`set_problems`).
    problems_changed = Signal()

    def __init__(
        self, node_types: Iterable[NodeTypeInfo] = (), parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._model = EditorModel(NodeTypeCatalog(node_types))
        self._model.add_listener(self._relay)
        self._stack = QUndoStack(self)
        self._stack.cleanChanged.connect(self._relay_clean)
        self._stack.indexChanged.connect(self._relay_index)
        self._path: Path | None = None
        self._format: Format = "json"
        self._problems: list[Problem] = []

    # -- state -------------------------------------------------------------------

    @property
    def model(self) -> EditorModel:
        """The model, to read; change it only through this document's methods."""
        return self._model

    @property
    def undo_stack(self) -> QUndoStack:
        """For Undo/Redo actions (``createUndoAction``) and a history view."""
        return self._stack

    @property
    def catalog(self) -> NodeTypeCatalog:
        return self._model.catalog

    def set_node_types(self, node_types: Iterable[NodeTypeInfo]) -> None:
        """Use the engine's node types (from ``conductor.node_types()``)."""
        self._model.catalog = NodeTypeCatalog(node_types)
        self.node_types_changed.emit()

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def is_dirty(self) -> bool:
        return not self._stack.isClean()

    def title(self) -> str:
        """``api-processing.json *``: the file name (or blueprint id) and a dirty mark."""
        name = self._path.name if self._path else self._model.blueprint_id
        return f"{name} *" if self.is_dirty else name

    def to_blueprint(self) -> Blueprint:
        return self._model.to_blueprint()

    # -- files -------------------------------------------------------------------

    def load(self, bp: Blueprint, path: Path | None = None) -> None:
        """Show ``bp`` (laying out nodes without positions), with a fresh undo history."""
        self._model.from_blueprint(bp, fill_positions=True)
        self._stack.clear()
        self._stack.setClean()
        self._set_path(path)
        self.set_problems([])
        self.edited.emit()

    def new(self, blueprint_id: str = "untitled") -> None:
        """An empty blueprint with no file."""
        self.load(Blueprint(id=blueprint_id))

    def open(self, path: Path) -> None:
        """Read a ``.json``/``.yaml`` blueprint; BlueprintError (typed, with places) if bad."""
        bp = load_blueprint_file(path)
        self.load(bp, path)

    def save(self, path: Path | None = None, fmt: Format | None = None) -> Path:
        """Write the blueprint (atomically) to ``path`` or the current file; marks it clean.

        The format is ``fmt``, else the suffix (``.yaml``/``.yml`` → YAML), else JSON.
        An OSError (disk full, no permission) propagates and leaves the old file intact.
        """
        target = path or self._path
        if target is None:
            raise EditError("no file to save to: give a path")
        suffix_format: Format = "yaml" if target.suffix.lower() in (".yaml", ".yml") else "json"
        text = dump_blueprint(self._model.to_blueprint(), fmt or suffix_format)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stack.setClean()
        self._set_path(target)
        return target

    def _set_path(self, path: Path | None) -> None:
        if path != self._path:
            self._path = path
            self.path_changed.emit(str(path) if path else "")

    # -- problems ----------------------------------------------------------------

    def set_problems(self, problems: Sequence[Problem]) -> None:
        """Problems from validating the current blueprint (places like ``nodes[2].params``)."""
        self._problems = list(problems)
        self.problems_changed.emit()

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)

    def node_problems(self, node_id: str) -> list[Problem]:
        """Problems whose place is inside this node (``nodes[i]`` or ``nodes[i].…``)."""
        if not self._model.has_node(node_id):
            return []
        prefix = f"nodes[{self._model.index_of(node_id)}]"
        return [
            p
            for p in self._problems
            if p.where.startswith(prefix)
            and p.where[len(prefix) : len(prefix) + 1] in ("", ".", " ")
        ]

    # -- edits (each one undo step) ----------------------------------------------

    @contextmanager
    def macro(self, text: str) -> Iterator[None]:
        """Group the edits made inside into one undo step."""
        self._stack.beginMacro(text)
        try:
            yield
        finally:
            self._stack.endMacro()

    def add_node(
        self,
        type_name: str,
        pos: Point | None = None,
        *,
        node_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Add a node of ``type_name``; returns its id (``request_1`` unless given).

        Without ``pos`` the node goes right of the rightmost node, level with the last.
        """
        new_id = node_id or self._model.fresh_id(NodeTypeCatalog.id_base(type_name))
        spec = NodeSpec(id=new_id, type=type_name, params=dict(params or {}))
        self._stack.push(AddNodeCommand(self._model, spec, pos or self._next_position()))
        return new_id

    def _next_position(self) -> Point:
        placed = [p for n in self._model.node_ids() if (p := self._model.position(n))]
        if not placed:
            return (0.0, 0.0)
        return (max(x for x, _ in placed) + _APPEND_GAP, placed[-1][1])

    def connect_nodes(self, source: str, target: str, source_port: str | None = None) -> None:
        """Connect ``source`` (through ``source_port``) to ``target``.

        Raises EdgeRefusedError (with its ``reason``) before anything changes. The
        first edge drawn in a sequential blueprint first turns its implicit chain
        into edges, so the nodes keep their order instead of all starting at once.
        A wire from a named port replaces a port-less edge between the same two nodes
        (once the chain's link): beside it, the target ran on either branch.
        """
        edge = EdgeSpec(source=source, target=target, source_port=source_port)
        self._model.check_edge(edge)
        with self.macro(f"Connect {source} → {target}"):
            self._materialise_sequence(drawn=edge)
            loose = EdgeSpec(source=source, target=target)
            if source_port is not None and loose in self._model.edges:
                self._stack.push(DisconnectCommand(self._model, self._model.edges.index(loose)))
            if edge not in self._model.edges:
                self._stack.push(ConnectCommand(self._model, edge))

    def _materialise_sequence(self, drawn: EdgeSpec | None = None) -> None:
        """Turn the implicit chain into edges, in order. Where ``drawn`` — the wire
        being drawn — joins the same two nodes as a link of the chain, it takes that
        link's place: an ``if``'s ``true`` wire beside the chain's port-less link made
        the target run on either branch."""
        if self._model.is_sequential:
            for source, target in self._model.edge_pairs():
                same = drawn is not None and (drawn.source, drawn.target) == (source, target)
                edge = drawn if same and drawn else EdgeSpec(source=source, target=target)
                self._stack.push(ConnectCommand(self._model, edge))

    def disconnect_edge(self, index: int) -> None:
        self._stack.push(DisconnectCommand(self._model, index))

    def remove_selection(self, node_ids: Iterable[str], edge_indices: Iterable[int] = ()) -> None:
        """Remove edges and nodes (with their edges) as one undo step."""
        nodes = [n for n in self._model.node_ids() if n in set(node_ids)]
        edges = sorted(set(edge_indices), reverse=True)
        if not nodes and not edges:
            return
        with self.macro(f"Remove {len(nodes)} nodes, {len(edges)} edges"):
            for index in edges:
                self._stack.push(DisconnectCommand(self._model, index))
            pins = self._model.pins()
            for node_id in nodes:
                if node_id in pins:  # a pin of no node would be saved and run
                    self._stack.push(PinNodeCommand(self._model, node_id, UNSET))
                self._stack.push(RemoveNodeCommand(self._model, node_id))

    def move_nodes(self, moves: Mapping[str, Point | None], drag_id: int | None = None) -> None:
        """Move nodes; calls with the same ``drag_id`` merge into one undo step."""
        self._stack.push(MoveNodesCommand(self._model, moves, drag_id))

    def set_node_field(
        self, node_id: str, path: FieldPath, value: Any, *, merge: bool = False
    ) -> None:
        """Set a node field (``("params", "url")``; ``("id",)`` renames); UNSET removes it."""
        if path == ("id",):
            self.rename_node(node_id, str(value))
            return
        self._stack.push(ChangeNodeFieldCommand(self._model, node_id, path, value, merge=merge))

    def set_pin(self, node_id: str, value: Any) -> None:
        """Pin ``value`` as the node's output (saved in ``ui.pins``); UNSET unpins."""
        self._stack.push(PinNodeCommand(self._model, node_id, value))

    def set_disabled(self, node_id: str, disabled: bool) -> None:
        """Disable (bypass) or enable a node; saved as its ``disabled`` field."""
        self.set_node_field(node_id, ("disabled",), True if disabled else UNSET)

    def rename_node(self, old_id: str, new_id: str) -> None:
        if old_id != new_id:
            self._stack.push(RenameNodeCommand(self._model, old_id, new_id))

    def set_blueprint_field(self, name: str, value: Any) -> None:
        self._stack.push(ChangeBlueprintFieldCommand(self._model, name, value))

    def set_ui_field(self, name: str, value: Any) -> None:
        """Set an editor-only ``ui`` entry (outside the hash) as one undo step."""
        self._stack.push(ChangeUiFieldCommand(self._model, name, value))

    def auto_layout(self, node_ids: Iterable[str] | None = None) -> None:
        """Lay the nodes (all by default) out left to right, as one undo step."""
        placed = self._model.auto_positions()
        wanted = set(node_ids) if node_ids is not None else set(placed)
        self.move_nodes({n: p for n, p in placed.items() if n in wanted})

    def copy(self, node_ids: Iterable[str]) -> str:
        """The nodes as blueprint JSON text (for the clipboard)."""
        return clipboard.copy_text(self._model, node_ids)

    def paste(self, text: str, at: Point | None = None) -> list[str]:
        """Add the nodes and edges of a blueprint fragment as one undo step; their ids.

        Raises EditError or BlueprintError when the text holds no blueprint. Edges the
        connection rules refuse (a cycle through existing nodes cannot happen, so
        only odd fragments hit this) are left out rather than failing the paste.
        """
        plan = clipboard.plan_paste(self._model, clipboard.parse_fragment(text), at)
        with self.macro(f"Paste {len(plan.nodes)} nodes"):
            if plan.edges:
                self._materialise_sequence()  # the existing nodes keep their order
            for spec, pos in plan.nodes:
                self._stack.push(AddNodeCommand(self._model, spec, pos))
            for node_id, value in plan.pins:
                self._stack.push(PinNodeCommand(self._model, node_id, value))
            for edge in plan.edges:
                try:
                    self._model.check_edge(edge)
                except EdgeRefusedError:
                    continue
                self._stack.push(ConnectCommand(self._model, edge))
        return plan.node_ids

    # -- facts → signals ---------------------------------------------------------

    def _relay_clean(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    def _relay_index(self, _index: int) -> None:
        self.edited.emit()

    def _relay(self, fact: Fact) -> None:
        match fact:
            case NodeInserted(index, node_id):
                self.node_inserted.emit(index, node_id)
            case NodeRemoved(index, node_id):
                self.node_removed.emit(index, node_id)
            case NodeMoved(node_id, pos):
                self.node_moved.emit(node_id, pos)
            case NodeChanged(index, node_id):
                self.node_changed.emit(index, node_id)
            case NodeRenamed(index, old_id, new_id):
                self.node_renamed.emit(index, old_id, new_id)
            case EdgeInserted(index, edge):
                self.edge_inserted.emit(index, edge)
            case EdgeRemoved(index, edge):
                self.edge_removed.emit(index, edge)
            case EdgeChanged(index, _old, edge):
                self.edge_changed.emit(index, edge)
            case BlueprintChanged(name):
                self.blueprint_changed.emit(name)
            case ModelReset():
                self.reset.emit()
            case _:
                assert_never(fact)
