"""Applying an :class:`~renderer.editor.extraction.Extraction` to the parent, as one undo step.

The edits are the ordinary commands (so the canvas and inspector follow the model's
facts, and undo puts every node and edge back at its index) pushed inside one macro:
a sequential parent first gets its implicit chain as edges (removing nodes from a
chain would otherwise re-link it around them), outside templates are rewritten,
the selection is removed, the call node takes the first selected node's place and
is wired, and the blueprint's ``outputs`` follow. A command refused half way undoes
what the macro did, so a failed extraction leaves the parent as it was.
"""

from __future__ import annotations

from app.blueprint import EdgeSpec
from renderer.editor.commands import (
    AddNodeCommand,
    ChangeBlueprintFieldCommand,
    ChangeNodeFieldCommand,
    ConnectCommand,
    PinNodeCommand,
    RemoveNodeCommand,
)
from renderer.editor.document import EditorDocument
from renderer.editor.edit_rules import UNSET
from renderer.editor.extraction import Extraction


def apply_extraction(document: EditorDocument, plan: Extraction) -> None:
    """Replace the selection by the call node (one undo step; see the module doc)."""
    stack = document.undo_stack
    before = stack.index()
    try:
        with document.macro(f"Make sub-blueprint {plan.child.id}"):
            _push_edits(document, plan)
    except Exception:
        if stack.index() > before:
            stack.undo()
        raise


def _push_edits(document: EditorDocument, plan: Extraction) -> None:
    stack, model = document.undo_stack, document.model
    if model.is_sequential:
        for source, target in model.edge_pairs():
            stack.push(ConnectCommand(model, EdgeSpec(source=source, target=target)))
    for node_id, params in plan.rewritten.items():
        stack.push(ChangeNodeFieldCommand(model, node_id, ("params",), params))
    pins = model.pins()
    for node_id in plan.selected:
        if node_id in pins:
            stack.push(PinNodeCommand(model, node_id, UNSET))
        stack.push(RemoveNodeCommand(model, node_id))
    stack.push(AddNodeCommand(model, plan.call, plan.call_position, plan.call_index))
    for edge in (*plan.incoming, *plan.outgoing):
        stack.push(ConnectCommand(model, edge))
    if plan.outputs is not None:
        stack.push(ChangeBlueprintFieldCommand(model, "outputs", plan.outputs))
