"""What validation needs to know about node types, without importing the engine.

The engine's registry satisfies :class:`NodeCatalog`; so could a catalog built from
``node_types()`` on the far side of a pipe. Validation asks only for a params
model and the output ports a node of that type will have.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel


class CatalogEntry(Protocol):
    """A node type as validation sees it."""

    @property
    def params_model(self) -> type[BaseModel]: ...

    def output_ports(self, params: dict[str, Any]) -> list[str] | None:
        """Named output ports for these params; None when the node has one unnamed output."""
        ...


class NodeCatalog(Protocol):
    """Looks node types up by their dotted name."""

    def lookup(self, type_name: str) -> CatalogEntry | None: ...

    def type_names(self) -> list[str]: ...
