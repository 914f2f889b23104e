"""The shape issue 10 asks the code to keep: small modules, composition over inheritance."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from abc import ABC
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "ipc", "main_process", "renderer")
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    """Past ~400 lines a module holds two concepts: split it (style.md, habit 1)."""
    long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] in PACKAGES


def test_no_engine_class_derives_from_one_of_ours() -> None:
    """No mixins, no base classes that declare attributes for their subclasses: the
    engine is composed. Pydantic models, exceptions, protocols and abstract interfaces
    (``ABC``) are the exceptions."""
    import main_process

    offenders = []
    for info in pkgutil.walk_packages(main_process.__path__, "main_process."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for base in cls.__bases__:
                allowed = (
                    issubclass(base, BaseModel | BaseException)
                    or Protocol in base.__bases__
                    or ABC in base.__bases__  # an interface: abstract methods only
                )
                if _ours(base) and not allowed:
                    offenders.append(f"{cls.__module__}.{cls.__qualname__}({base.__qualname__})")
    assert offenders == []


def test_the_check_sees_a_mixin() -> None:
    """The inheritance check is not vacuous: a class built on one of ours is seen."""
    from main_process.engine.graph import ExecutionGraph

    sub = type("Sub", (ExecutionGraph,), {"__module__": "main_process.fake"})
    assert _ours(sub.__bases__[0])
    assert not issubclass(sub.__bases__[0], BaseModel | BaseException)
