"""Make sub-blueprint, planned and applied: the child runs what the selection ran.

The child is run by a real engine (direct transport) on the values the parent's run
gave its inputs, and must produce the same node outputs as the selection did in
place. Applying the plan to a document is one undo step that gives back the very
same blueprint.
"""

from __future__ import annotations

from typing import Any

import pytest

from app import Conductor
from app.blueprint import Blueprint, EdgeSpec
from renderer.editor.document import EditorDocument
from renderer.editor.extract_edit import apply_extraction
from renderer.editor.extraction import (
    CALL_TYPE,
    ExtractionError,
    plan_extraction,
    rewrite_output_reads,
)

PARENT: dict[str, Any] = {
    "id": "parent",
    "inputs": {"n": {"type": "integer", "default": 3}, "unused": {"type": "string"}},
    "nodes": [
        {"id": "a", "type": "set", "params": {"value": "{{ inputs.n + 1 }}"}},
        {"id": "k", "type": "set", "params": {"value": 100}},
        {"id": "b", "type": "set", "params": {"value": "{{ input * 2 }}"}},
        {"id": "c", "type": "set", "params": {"value": "{{ input + nodes.k.output }}"}},
        {"id": "d", "type": "set", "params": {"value": ["{{ nodes.c.output }}", 1]}},
    ],
    "edges": [
        {"source": "a", "target": "b"},
        {"source": "b", "target": "c"},
        {"source": "k", "target": "d"},
        {"source": "c", "target": "d"},
    ],
    "outputs": {"last": "d", "mid": "{{ nodes.c.output }}"},
    "ui": {"positions": {"a": [0, 0], "k": [0, 200], "b": [260, 0], "c": [520, 0], "d": [780, 0]}},
}


def _plan(selected: list[str], data: dict[str, Any] | None = None) -> Any:
    bp = Blueprint.model_validate(data or PARENT)
    return plan_extraction(bp, selected, child_id="child", call_id="call_1", child_name="Child")


async def test_the_child_runs_what_the_selection_ran(conductor: Conductor) -> None:
    plan = _plan(["b", "c"])
    child = plan.child
    assert set(child.inputs) == {"a", "k"}  # wired a, read-only k; no parent input read
    assert plan.call.type == CALL_TYPE
    assert plan.call.params == {
        "blueprint_id": "child",
        "inputs": {"a": "{{ nodes.a.output }}", "k": "{{ nodes.k.output }}"},
    }
    assert [n.id for n in child.nodes] == ["a", "b", "c"]  # a proxy keeps b's wire
    assert child.nodes[0].name == "Input a (from the parent)"  # not a copy of a
    assert child.outputs == {"c": "{{ nodes.c.output }}"}
    assert plan.incoming == (
        EdgeSpec(source="a", target="call_1"),
        EdgeSpec(source="k", target="call_1"),
    )
    assert plan.outgoing == (EdgeSpec(source="call_1", target="d"),)
    assert plan.rewritten == {"d": {"value": ["{{ nodes.call_1.output.c }}", 1]}}
    assert plan.outputs == {
        "last": "d",
        "mid": "{{ nodes.call_1.output.c }}",
    }
    whole = await conductor.execute(blueprint=Blueprint.model_validate(PARENT), inputs={"n": 3})
    assert whole.success, whole.error
    fed = {"a": whole.nodes["a"].output, "k": whole.nodes["k"].output}
    alone = await conductor.execute(blueprint=child, inputs=fed)
    assert alone.success, alone.error
    for node_id in ("b", "c"):
        assert alone.nodes[node_id].output == whole.nodes[node_id].output
    assert alone.outputs == {"c": whole.nodes["c"].output}
    assert await conductor.validate(child) == []


async def test_a_root_in_the_selection_gets_the_parent_inputs(conductor: Conductor) -> None:
    plan = _plan(["a", "b"])
    assert set(plan.child.inputs) == {"n", "unused"}  # a received every input
    assert plan.call.params["inputs"] == {
        "n": "{{ inputs.n }}",
        "unused": "{{ inputs.unused }}",
    }
    whole = await conductor.execute(blueprint=Blueprint.model_validate(PARENT), inputs={"n": 5})
    alone = await conductor.execute(blueprint=plan.child, inputs={"n": 5})
    assert alone.nodes["b"].output == whole.nodes["b"].output == 12


def test_sequential_parent_and_refusals() -> None:
    seq = {
        "id": "seq",
        "nodes": [{"id": x, "type": "delay", "params": {"seconds": 0}} for x in "pqrs"],
    }
    plan = _plan(["q", "r"], seq)
    assert plan.incoming == (EdgeSpec(source="p", target="call_1"),)
    assert plan.outgoing == (EdgeSpec(source="call_1", target="s"),)
    with pytest.raises(ExtractionError, match="select the nodes"):
        _plan([])
    with pytest.raises(ExtractionError, match="'b' depends on the selection and feeds it"):
        _plan(["a", "c"])
    branchy = {
        "id": "br",
        "nodes": [
            {"id": "i", "type": "if", "params": {"condition": "{{ true }}"}},
            {"id": "t", "type": "set", "params": {"value": 1}},
        ],
        "edges": [{"source": "i", "target": "t", "source_port": "true"}],
    }
    with pytest.raises(ExtractionError, match="'true' branch of 'i'"):
        _plan(["i"], branchy)


def test_rewrite_reads_only_output_references() -> None:
    text = "{{ nodes.b.output.x }} nodes.b.output {{ nodes['b'].output }} {{ nodes.bb.output }}"
    assert rewrite_output_reads(text, "b", "inputs.b") == (
        "{{ inputs.b.x }} nodes.b.output {{ inputs.b }} {{ nodes.bb.output }}"
    )


def test_applying_is_one_undo_step(doc: EditorDocument) -> None:
    doc.load(Blueprint.model_validate(PARENT))
    before = doc.to_blueprint()
    plan = _plan(["b", "c"])
    apply_extraction(doc, plan)
    after = doc.to_blueprint()
    assert [n.id for n in after.nodes] == ["a", "k", "call_1", "d"]
    assert after.node("call_1") == plan.call
    assert all(e in (after.edges or []) for e in (*plan.incoming, *plan.outgoing))
    assert after.outputs == plan.outputs
    assert after.node("d").params == plan.rewritten["d"]  # type: ignore[union-attr]
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.to_blueprint() == before
    doc.undo_stack.redo()
    assert doc.to_blueprint() == after


def test_applying_to_a_sequence_keeps_the_order(doc: EditorDocument) -> None:
    seq = {
        "id": "seq",
        "nodes": [{"id": x, "type": "delay", "params": {"seconds": 0}} for x in "pqrs"],
    }
    doc.load(Blueprint.model_validate(seq))
    apply_extraction(doc, _plan(["q", "r"], seq))
    pairs = {(e.source, e.target) for e in doc.to_blueprint().edges or []}
    assert pairs == {("p", "call_1"), ("call_1", "s")}
