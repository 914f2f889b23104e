"""The built-in node types, in the order the editor's palette lists them.

Importing this module must stay cheap (the CLI imports it to validate and list
types): the heavy libraries the nodes use — httpx, jmespath — are imported by the
nodes on first use, not here.
"""

from __future__ import annotations

from main_process.nodes.base import NodeType
from main_process.nodes.code import CODE_TYPES
from main_process.nodes.data import DATA_TYPES
from main_process.nodes.files import FILE_TYPES
from main_process.nodes.flow import FLOW_TYPES
from main_process.nodes.http import HTTP_TYPES
from main_process.nodes.sql import SQL_TYPES

BUILTIN_TYPES: list[NodeType] = [
    *HTTP_TYPES,
    *DATA_TYPES,
    *FLOW_TYPES,
    *FILE_TYPES,
    *SQL_TYPES,
    *CODE_TYPES,
]

__all__ = ["BUILTIN_TYPES"]
