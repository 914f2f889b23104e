"""The built-in node types, in the order the editor's palette lists them.

Importing this module must stay cheap (the CLI and the worker reach it on their
start path): it names each built-in type and the module that defines it, and a
module is imported only when one of its types is first looked up — ``conductor
run`` of a blueprint of ``json.transform`` nodes imports the data nodes, not the
SQL, shell or HTTP ones. ``BUILTIN_TYPES`` (every type, in palette order) imports
them all, on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from main_process.nodes.base import NodeType

    BUILTIN_TYPES: list[NodeType]

#: Each built-in type → (module, the module's list of types), in palette order.
BUILTIN_MODULES: dict[str, tuple[str, str]] = {
    "http.request": ("main_process.nodes.http", "HTTP_TYPES"),
    "json.transform": ("main_process.nodes.data", "DATA_TYPES"),
    "set": ("main_process.nodes.flow", "FLOW_TYPES"),
    "if": ("main_process.nodes.flow", "FLOW_TYPES"),
    "switch": ("main_process.nodes.flow", "FLOW_TYPES"),
    "merge": ("main_process.nodes.flow", "FLOW_TYPES"),
    "delay": ("main_process.nodes.flow", "FLOW_TYPES"),
    "log": ("main_process.nodes.flow", "FLOW_TYPES"),
    "generate": ("main_process.nodes.streaming", "STREAM_TYPES"),
    "collect": ("main_process.nodes.streaming", "STREAM_TYPES"),
    "count": ("main_process.nodes.streaming", "STREAM_TYPES"),
    "sum": ("main_process.nodes.streaming", "STREAM_TYPES"),
    "reduce": ("main_process.nodes.streaming", "STREAM_TYPES"),
    "catch": ("main_process.nodes.catch", "CATCH_TYPES"),
    "file.read": ("main_process.nodes.files", "FILE_TYPES"),
    "file.write": ("main_process.nodes.files", "FILE_TYPES"),
    "sqlite.query": ("main_process.nodes.sql", "SQL_TYPES"),
    "sqlite.write": ("main_process.nodes.sql", "SQL_TYPES"),
    "python.function": ("main_process.nodes.code", "CODE_TYPES"),
    "shell.command": ("main_process.nodes.code", "CODE_TYPES"),
    "llm.chat": ("main_process.nodes.llm", "LLM_TYPES"),
    "blueprint.call": ("main_process.nodes.subflow", "SUBFLOW_TYPES"),
    "loop": ("main_process.nodes.subflow", "SUBFLOW_TYPES"),
}


def load_builtin(type_name: str) -> NodeType:
    """The built-in type ``type_name``, importing its module (KeyError if not built in)."""
    module, attribute = BUILTIN_MODULES[type_name]
    types: list[NodeType] = getattr(importlib.import_module(module), attribute)
    for node_type in types:
        if node_type.type == type_name:
            return node_type
    raise KeyError(type_name)


def __getattr__(name: str) -> Any:
    """``BUILTIN_TYPES``: every built-in type in palette order (imports every module)."""
    if name == "BUILTIN_TYPES":
        return [load_builtin(type_name) for type_name in BUILTIN_MODULES]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BUILTIN_MODULES", "BUILTIN_TYPES", "load_builtin"]
