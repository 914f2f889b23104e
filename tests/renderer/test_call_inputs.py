"""Promoted parameters without a window: a call node's form is its child's inputs.

Once the engine lists ``blueprint.call`` (here a catalog entry made in the test, as
the engine would send it, with ``inputs`` a free mapping), the inspector keeps the
type's schema and replaces only ``inputs`` by the child's declared inputs; the
values live on the call node, so a save and a reload show them again.
"""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from app.results import NodeTypeInfo
from renderer.editor.document import EditorDocument
from renderer.inspector.call_inputs import CALL_PARAMS_SCHEMA, call_params_schema
from renderer.inspector.field_schema import FieldKind
from renderer.inspector.inspector_panel import InspectorPanel

CALL_INFO = NodeTypeInfo(
    type="blueprint.call",
    title="Call blueprint",
    category="Flow",
    params_schema={
        "type": "object",
        "properties": {
            "blueprint_id": {"type": "string", "minLength": 1},
            "inputs": {"type": "object", "additionalProperties": True, "default": {}},
            "wait": {"type": "boolean", "default": True},
        },
        "required": ["blueprint_id"],
    },
)
CHILD = Blueprint.model_validate(
    {
        "id": "child",
        "name": "Child",
        "inputs": {
            "count": {"type": "integer", "default": 2, "description": "how many"},
            "label": {"type": "string", "required": True},
            "rows": {"type": "array"},
        },
    }
)
PARENT = Blueprint.model_validate(
    {
        "id": "parent",
        "nodes": [
            {
                "id": "call_1",
                "type": "blueprint.call",
                "params": {"blueprint_id": "child", "inputs": {"count": 5}},
            }
        ],
    }
)


def _resolve(blueprint_id: str) -> Blueprint | None:
    return CHILD if blueprint_id == "child" else None


def test_the_child_inputs_replace_the_free_mapping() -> None:
    schema = call_params_schema(PARENT.nodes[0], CALL_INFO.params_schema, _resolve)
    inputs = schema["properties"]["inputs"]
    assert list(inputs["properties"]) == ["count", "label", "rows"]
    assert inputs["required"] == ["label"]
    assert inputs["properties"]["count"] == {
        "title": "count",
        "type": "integer",
        "default": 2,
        "description": "how many · default: 2",
    }
    assert schema["properties"]["wait"] == {"type": "boolean", "default": True}
    assert "properties" not in CALL_INFO.params_schema["properties"]["inputs"]  # not mutated
    unknown = PARENT.nodes[0].model_copy(update={"params": {"blueprint_id": "gone"}})
    assert call_params_schema(unknown, None, _resolve) == CALL_PARAMS_SCHEMA


def test_promoted_fields_survive_save_and_reload(qtbot: QtBot, tmp_path: Path) -> None:
    doc = EditorDocument([CALL_INFO])
    doc.load(PARENT)
    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.child_resolver = _resolve
    panel.show_node("call_1")
    inputs = next(f for f in panel.params_form.fields if f.name == "inputs")
    assert inputs.kind is FieldKind.OBJECT
    assert [f.name for f in inputs.fields] == ["count", "label", "rows"]
    label = panel.params_form.editor(("inputs", "label"))
    assert label is not None
    label.edited.emit("{{ inputs.title }}")
    assert doc.model.node("call_1").params["inputs"] == {
        "count": 5,
        "label": "{{ inputs.title }}",
    }
    saved = doc.save(tmp_path / "parent.json")
    again = EditorDocument([CALL_INFO])
    again.open(saved)
    reopened = InspectorPanel(again)
    qtbot.addWidget(reopened)
    reopened.child_resolver = _resolve
    reopened.show_node("call_1")
    count, label = (reopened.params_form.editor(("inputs", n)) for n in ("count", "label"))
    assert count is not None and count.value == 5
    assert label is not None and label.value == "{{ inputs.title }}"
