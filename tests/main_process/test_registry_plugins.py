"""Third-party node types arrive through the ``conductor.nodes`` entry-point group;
a broken plugin is reported and skipped; duplicates are refused loudly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app import Blueprint, NodeSpec, create_conductor
from app.errors import NodeTypeError
from main_process.nodes.registry import default_registry

PLUGIN = '''
from pydantic import BaseModel, ConfigDict
from app.blueprint import Runner
from main_process.nodes.base import NodeType

class ShoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suffix: str = "!"

async def shout(params, value, ctx):
    """Upper-case the input text."""
    return str(value).upper() + params.suffix

TYPES = [NodeType(type="demo.shout", title="Shout", category="Demo",
                  params_model=ShoutParams, run=shout)]
'''


def install_plugin(site: Path, name: str, target: str, module: str | None = None) -> None:
    dist = site / f"{name}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[conductor.nodes]\n{name} = {target}\n")
    if module is not None:
        (site / f"{target.split(':', maxsplit=1)[0]}.py").write_text(module)


async def test_a_plugin_registers_types_that_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    install_plugin(site, "shoutplugin", "shout_nodes:TYPES", PLUGIN)
    install_plugin(site, "brokenplugin", "no_such_module:TYPES")
    monkeypatch.syspath_prepend(str(site))
    registry = default_registry()
    assert "demo.shout" in registry
    assert any("brokenplugin" in message for message in registry.plugin_errors)
    info = next(t for t in registry.describe() if t.type == "demo.shout")
    assert info.category == "Demo" and "Upper-case" in info.description

    c = create_conductor("direct", home=tmp_path / "home")
    try:
        bp = Blueprint(
            id="p",
            nodes=[
                NodeSpec(id="a", type="set", params={"value": "hi"}),
                NodeSpec(id="b", type="demo.shout", params={"suffix": "?"}),
            ],
        )
        result = await c.execute(blueprint=bp)
        assert result.outputs == "HI?"
    finally:
        await c.close()
        sys.modules.pop("shout_nodes", None)


def test_duplicate_types_are_refused() -> None:
    registry = default_registry(plugins=False)
    existing = registry.get("set")
    with pytest.raises(NodeTypeError, match="already registered"):
        registry.register(existing)


def test_node_descriptions_are_the_first_paragraph_without_markup() -> None:
    from main_process.nodes.base import user_summary
    from main_process.nodes.registry import default_registry

    assert (
        user_summary(
            """Send the input out of port ``true``, see :func:`~app.x.run_it`.

        A developer's note: it runs on the loop.
        """
        )
        == "Send the input out of port true, see run_it."
    )
    for info in default_registry().describe():
        assert "``" not in info.description and ":func:" not in info.description, info.type
        assert "\n" not in info.description
    transform = next(t for t in default_registry().describe() if t.type == "json.transform")
    assert "loop" not in transform.description  # the developer's note stays in the code


def test_plugins_are_scanned_when_first_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of built-in types never scans the installed distributions; the first
    lookup of another name (or a listing) does, and finds the plugin's type."""
    site = tmp_path / "site"
    install_plugin(site, "shoutplugin", "shout_nodes:TYPES", PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    try:
        registry = default_registry()
        assert registry.lookup("set") is not None
        assert "shout_nodes" not in sys.modules  # built-ins needed no scan
        found = registry.lookup("demo.shout")
        assert found is not None and found.title == "Shout"
        with pytest.raises(NodeTypeError, match="already registered"):
            registry.register(found)
        assert "demo.shout" in default_registry().type_names()
    finally:
        sys.modules.pop("shout_nodes", None)
