"""Command-line arguments turned into what the engine needs: a blueprint and its inputs.

``run FILE|ID`` takes a file when the argument names an existing path, else an id
from the library — but an argument that plainly *looks* like a path (it has a
folder separator or a blueprint suffix) and does not exist is reported as a missing
file, not as an unknown id, because that is the mistake the user made.

Inputs come from ``--inputs JSON`` (an object, or ``@file`` holding one) and from
``-i key=value`` pairs, which win over ``--inputs`` key by key. ``-i`` values stay
strings: the engine converts them to each input's declared type, so ``-i count=3``
works for an integer input and stays ``"3"`` for a string one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import ConfigError

if TYPE_CHECKING:
    from app.blueprint import Blueprint

_BLUEPRINT_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Target:
    """What to run: a blueprint read from a file, or the id of one in the library."""

    label: str
    blueprint_id: str | None = None
    blueprint: Blueprint | None = None
    folder: Path | None = None


def looks_like_path(argument: str) -> bool:
    """Whether ``argument`` reads as a file name rather than a blueprint id."""
    return (
        os.sep in argument
        or (os.altsep is not None and os.altsep in argument)
        or argument.lower().endswith(_BLUEPRINT_SUFFIXES)
    )


def resolve_target(argument: str) -> Target:
    """A file target when ``argument`` exists, else a library id.

    Raises :class:`~app.errors.BlueprintError` for a file that cannot be read or
    parsed, and :class:`~app.errors.ConfigError` for a path-like argument that
    does not exist.
    """
    path = Path(argument).expanduser()
    if path.exists():
        from app.blueprint_files import load_blueprint_file

        blueprint = load_blueprint_file(path)
        return Target(label=str(path), blueprint=blueprint, folder=path.resolve().parent)
    if looks_like_path(argument):
        raise ConfigError("no such file", where=argument)
    return Target(label=argument, blueprint_id=argument)


def _load_inputs_json(text: str) -> dict[str, Any]:
    source = "--inputs"
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        source = f"--inputs {text}"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the inputs file {path}: {exc.strerror or exc}", where=source
            ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            'give an object such as \'{"url": "http://example.com"}\'',
            where=source,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"must be a JSON object of input names to values, got {type(data).__name__}",
            where=source,
        )
    return data


def parse_inputs(pairs: tuple[str, ...] | list[str], inputs_json: str | None) -> dict[str, Any]:
    """Merge ``--inputs`` and ``-i key=value`` pairs; ConfigError names the bad argument."""
    inputs = _load_inputs_json(inputs_json) if inputs_json is not None else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"expected key=value, got {pair!r} (for example: -i url=http://example.com)",
                where="-i",
            )
        inputs[key] = value
    return inputs
