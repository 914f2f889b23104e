"""The node types the editor knows, as ``conductor.node_types()`` describes them.

The renderer never imports the engine, so it learns node types from the list of
:class:`~app.results.NodeTypeInfo` the engine sends. That list says which output
ports a type has; a type with ``dynamic_ports`` (``switch``) takes its ports from
its params: one per case, plus ``default``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from app.blueprint import NodeSpec
from app.results import NodeTypeInfo
from app.stream_roles import StreamRole, flagged_role
from app.templates import is_template

#: Categories in the order the palette shows them; others follow alphabetically.
CATEGORY_ORDER = ("HTTP", "Data", "Flow", "Files/SQL", "Code", "AI")
#: The port a dynamic-port node sends to when no case matches.
DEFAULT_PORT = "default"
_WORD = re.compile(r"[^A-Za-z0-9_]+")


class NodeTypeCatalog:
    """Node types by dotted name, with what the editor derives from them."""

    def __init__(self, infos: Iterable[NodeTypeInfo] = ()) -> None:
        self._infos: dict[str, NodeTypeInfo] = {info.type: info for info in infos}

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._infos

    def __len__(self) -> int:
        return len(self._infos)

    def get(self, type_name: str) -> NodeTypeInfo | None:
        """The type's description, or None when the engine did not list it."""
        return self._infos.get(type_name)

    def infos(self) -> list[NodeTypeInfo]:
        """Every type, in the order given."""
        return list(self._infos.values())

    def categories(self) -> list[str]:
        """Categories present, in palette order."""
        present = {info.category for info in self._infos.values()}
        known = [c for c in CATEGORY_ORDER if c in present]
        return known + sorted(present - set(known))

    def title(self, type_name: str) -> str:
        info = self._infos.get(type_name)
        return info.title if info else type_name

    def category(self, type_name: str) -> str:
        info = self._infos.get(type_name)
        return info.category if info else ""

    def streams(self, spec: NodeSpec) -> bool:
        """Whether this node outputs a stream of items, or may (per item: when fed one),
        so its ``record`` setting means something: its type produces one, or its
        params say ``stream`` / ``per_item`` (see :mod:`app.stream_roles`)."""
        info = self._infos.get(spec.type)
        if info is None:
            return False
        if info.streams == "params":
            return flagged_role(spec.params) is not StreamRole.WHOLE
        return info.streams in ("produces", "per_item")

    def output_ports(self, spec: NodeSpec) -> list[str] | None:
        """Named output ports of this node: ``[]`` for one unnamed output.

        None means the ports cannot be known before the run (an unknown type, or a
        dynamic-port node whose cases are a template), so any port is accepted.
        """
        info = self._infos.get(spec.type)
        if info is None:
            return None
        if not info.dynamic_ports:
            return list(info.ports)
        cases: Any = spec.params.get("cases", [])
        if isinstance(cases, str) and is_template(cases):
            return None
        if not isinstance(cases, list):
            return [DEFAULT_PORT]
        names = [str(case) for case in cases]
        return list(dict.fromkeys([*names, DEFAULT_PORT]))

    @staticmethod
    def id_base(type_name: str) -> str:
        """A stem for new node ids: ``http.request`` → ``request`` (ids add ``_1``, ``_2``).

        The numbered suffix keeps ids usable in templates even for types named
        after keywords (``if_1``, never ``if``, which ``nodes.if`` could not reach).
        """
        stem = _WORD.sub("_", type_name.rsplit(".", 1)[-1]).strip("_").lower()
        return stem if stem and not stem[0].isdigit() else f"node{stem}"
