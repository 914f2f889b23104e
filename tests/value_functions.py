"""Importable node functions returning hostile values (``python.function`` targets
for the value tests on every transport): deep JSON, bytes, objects, cycles, sets."""

from __future__ import annotations

from typing import Any


def nested(depth: int) -> Any:
    """JSON nested ``depth`` levels: alternately an object ``{"a": …}`` and a list."""
    value: Any = "leaf"
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


def make(spec: Any) -> Any:
    """The value ``spec["kind"]`` names (``deep`` takes ``spec["depth"]``), placed at
    ``$.data.items[1]`` beside ordinary JSON so the error's path can be checked."""
    kind = spec["kind"]
    if kind == "deep":
        return nested(int(spec["depth"]))
    bad: Any
    if kind == "bytes":
        bad = b"\xff\xfeabc"
    elif kind == "object":
        bad = Opaque()
    elif kind == "set":
        bad = {1, 2}
    elif kind == "cycle":
        bad = []
        bad.append({"again": bad})
    elif kind == "bigint":
        bad = 2**80
    elif kind == "intkey":
        bad = {1: "one"}
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return {"data": {"items": [1, bad]}}


def log_value(spec: Any, ctx: Any) -> Any:
    """Log the value ``spec`` names as a log line's data, then return a plain result."""
    ctx.log("here it is", value=make(spec))
    return {"logged": spec["kind"]}
