"""The built-in type list as a whole: names, schemas, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from main_process.nodes.base import NodeType
from main_process.nodes.builtin import BUILTIN_TYPES
from main_process.nodes.registry import NodeRegistry, default_registry

DESIGN_TYPES = {
    "generate",
    "collect",
    "count",
    "sum",
    "reduce",
    "http.request",
    "json.transform",
    "set",
    "if",
    "switch",
    "merge",
    "delay",
    "log",
    "sqlite.query",
    "sqlite.write",
    "file.read",
    "file.write",
    "python.function",
    "shell.command",
    "llm.chat",
    "blueprint.call",
    "loop",
    "catch",
}

ROOT = Path(__file__).resolve().parents[3]


def test_default_registry_has_every_design_type() -> None:
    registry = default_registry(plugins=False)
    assert set(registry.type_names()) == DESIGN_TYPES
    assert len(registry) == len(BUILTIN_TYPES)


@pytest.mark.parametrize("node_type", BUILTIN_TYPES, ids=lambda t: t.type)
def test_params_model_has_a_json_schema(node_type: NodeType) -> None:
    schema = node_type.params_model.model_json_schema()
    json.dumps(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("description"), f"{node_type.type}.{name} has no description"
    assert node_type.title
    assert node_type.category in {"HTTP", "Data", "Flow", "Files/SQL", "Code", "AI"}
    assert node_type.description


@pytest.mark.parametrize("node_type", BUILTIN_TYPES, ids=lambda t: t.type)
def test_params_model_refuses_unknown_fields(node_type: NodeType) -> None:
    with pytest.raises(ValidationError, match="surprise"):
        node_type.params_model.model_validate({"surprise": 1})


def test_describe_lists_every_type(registry: NodeRegistry) -> None:
    infos = {info.type: info for info in registry.describe()}
    assert infos["if"].ports == ["true", "false"]
    assert infos["switch"].dynamic_ports
    assert infos["sqlite.write"].runner == "thread"
    assert "json" in infos["http.request"].params_schema["properties"]


def test_importing_builtins_does_not_load_httpx_or_jmespath() -> None:
    code = (
        "import sys, main_process.nodes.builtin; "
        "print(sorted(m for m in ('httpx', 'jmespath') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
