"""Rewriting template references to a node when the node gets a new id.

Renaming ``fetch`` to ``download`` in the editor should not silently break
``{{ nodes.fetch.output }}`` elsewhere, as n8n's rename does not. Only text inside
``{{ … }}`` and ``{% … %}`` is touched, and only the two spellings a reference to a
node can take: ``nodes.fetch`` and ``nodes["fetch"]`` (or single quotes).
"""

from __future__ import annotations

import re
from typing import Any

_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _rewrite_block(block: str, old: str, new: str) -> str:
    dotted = re.compile(rf"(?<![\w.])nodes\.{re.escape(old)}(?!\w)")
    quoted = re.compile(rf"""(?<![\w.])nodes\[(['"]){re.escape(old)}\1\]""")
    if _IDENTIFIER.match(new):
        block = dotted.sub(f"nodes.{new}", block)
    else:
        block = dotted.sub(lambda _m: f"nodes[{new!r}]", block)
    return quoted.sub(lambda m: f"nodes[{m.group(1)}{new}{m.group(1)}]", block)


def rename_in_text(text: str, old: str, new: str) -> str:
    """``text`` with references to node ``old`` inside template blocks renamed to ``new``."""
    if "nodes" not in text or old not in text:
        return text
    return _BLOCK.sub(lambda m: _rewrite_block(m.group(0), old, new), text)


def rename_references(value: Any, old: str, new: str) -> Any:
    """A copy of a JSON value with every template reference to ``old`` renamed.

    Returns ``value`` itself when nothing changed, so a caller can tell by identity.
    """
    if isinstance(value, str):
        renamed = rename_in_text(value, old, new)
        return value if renamed == value else renamed
    if isinstance(value, dict):
        items = {key: rename_references(item, old, new) for key, item in value.items()}
        changed = any(items[key] is not item for key, item in value.items())
        return items if changed else value
    if isinstance(value, list):
        elements = [rename_references(item, old, new) for item in value]
        changed = any(a is not b for a, b in zip(elements, value, strict=True))
        return elements if changed else value
    return value
