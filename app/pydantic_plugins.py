"""Pydantic without its plugin discovery, in Conductor's own short-lived processes.

At its first model build pydantic asks for plugins: it imports
:mod:`importlib.metadata` (with :mod:`email`, :mod:`zipfile`, :mod:`csv`...) and scans
every installed distribution's entry points. Conductor uses no pydantic plugin, and
that search was a fifth of ``conductor run``'s import time. ``PYDANTIC_DISABLE_PLUGINS``
(pydantic's own switch) skips the scan but not the import, because pydantic imports
its loader before reading the variable.

:func:`skip_plugin_discovery` sets the variable unless the user set it, and — only
while it disables every plugin, the values pydantic itself checks — stands in for
pydantic's loader module with one whose ``get_plugins`` returns what the real one
would return then: nothing. Anything else asked of it (a newer pydantic, the variable
changed later) loads the real loader and answers from it, so the stand-in can only
save time, never change an answer.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any

_LOADER = "pydantic.plugin._loader"
#: The values for which pydantic's ``get_plugins`` returns no plugin at all.
_ALL_DISABLED = ("__all__", "1", "true")


_swap = threading.Lock()


def _real_loader() -> types.ModuleType:
    with _swap:  # two threads asking at once: one swaps, both get the real one
        if isinstance(sys.modules.get(_LOADER), _StandIn):
            del sys.modules[_LOADER]
        return importlib.import_module(_LOADER)


class _StandIn(types.ModuleType):
    """``pydantic.plugin._loader`` while every plugin is disabled."""

    def get_plugins(self) -> Iterable[Any]:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _ALL_DISABLED:
            return ()
        result: Iterable[Any] = _real_loader().get_plugins()
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's questions (``__path__``...)
            raise AttributeError(name)
        return getattr(_real_loader(), name)


def skip_plugin_discovery() -> None:
    """Called first by the ``conductor`` command and the pipe worker (processes of
    ours, which load no pydantic plugin unless ``PYDANTIC_DISABLE_PLUGINS`` says so)."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] in _ALL_DISABLED and _LOADER not in sys.modules:
        sys.modules[_LOADER] = _StandIn(_LOADER, __doc__)
