"""The engine: executor, state manager, store, node registry and built-in nodes.

Never imports Qt. Everything here runs and is tested with no GUI at all.

The seed's API is importable from here — ``from main_process import StateManager,
SimpleExecutor, create_state_manager, create_simple_executor`` — but loaded only
when asked for (module ``__getattr__``), so the spawned pipe worker, which
imports this package first, does not pay for the engine at import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from main_process.seed import (
        SimpleExecutor,
        StateManager,
        create_simple_executor,
        create_state_manager,
    )

__all__ = ["SimpleExecutor", "StateManager", "create_simple_executor", "create_state_manager"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("main_process.seed"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
