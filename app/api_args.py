"""What the facade resolves and checks before a request leaves: transport names and
the blueprint and inputs arguments.

Kept apart from :mod:`app.api` (which re-exports these names) so the facade module
holds the operations alone.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from app.blueprint import Blueprint
from app.errors import ConfigError
from app.transport import BlueprintData

#: Where each transport lives; resolved only when that transport is created.
TRANSPORTS: dict[str, str] = {
    "direct": "main_process.direct:DirectTransport",
    "ipc": "ipc.client:IpcTransport",
    "http": "ipc.http_client:HttpTransport",
}

#: Set by the GUI before it creates its conductor, so ``auto`` picks ``ipc`` there.
IN_GUI_ENV = "CONDUCTOR_IN_GUI"


def resolve_transport_name(name: str) -> str:
    """Apply the ``auto`` rule: ipc in the GUI, http with CONDUCTOR_API_URL, else direct."""
    if name != "auto":
        if name not in TRANSPORTS:
            raise ConfigError(
                f"unknown transport {name!r}; choose one of auto, {', '.join(TRANSPORTS)}",
                where="transport",
            )
        return name
    if os.environ.get(IN_GUI_ENV):
        return "ipc"
    if os.environ.get("CONDUCTOR_API_URL"):
        return "http"
    return "direct"


def load_object(dotted: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module_name, _, attr = dotted.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def checked_blueprint(
    blueprint: Blueprint | BlueprintData | None, *, required: bool = False
) -> Blueprint | BlueprintData | None:
    """Models pass through untouched (code-defined nodes carry functions that a dict
    would lose); a transport that crosses a process turns them into dicts itself."""
    if blueprint is None and required:
        raise ConfigError("a blueprint is required, not None", where="blueprint")
    if blueprint is None or isinstance(blueprint, dict | Blueprint):
        return blueprint
    raise ConfigError(
        f"blueprint must be a Blueprint or a dict, not {type(blueprint).__name__}",
        where="blueprint",
    )


def checked_inputs(inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """``None`` means no inputs; a mapping is copied as it is (an empty one stays
    empty); anything else — ``0``, ``""``, ``[]`` included — is refused, never
    quietly turned into ``{}``. The same check on every transport, before any
    request leaves the process."""
    if inputs is None:
        return {}
    if isinstance(inputs, Mapping):
        return dict(inputs)
    raise ConfigError(
        f"inputs must be a mapping of input names to values, not {type(inputs).__name__}",
        where="inputs",
    )
