"""Plain functions that cannot wait: straight-line code, safe to call on the loop.

A plain ``def`` node goes to a node thread because it *might* block: a sync HTTP
call, ``time.sleep``, a lock, a loop that computes for seconds. Handing a call to a
thread and back costs two thread wake-ups, ~40 µs on a quiet machine and several
times that on a loaded one, against ~0.1 µs for ``value[ctx.node_id] = True``: the
hop, not the function, was the cost of such nodes (W2_def in ``bench/engine.py``).

:func:`straight_line` proves from the bytecode that a function *by itself* cannot
wait or run long: it calls nothing (no call instruction of any kind, so no
``sleep``, no I/O, no lock, no import, no ``with``), it has no loop (no backward
jump, no iteration), and it is an ordinary function (not a generator or a
coroutine). What is left — loads, stores, subscripts, arithmetic, comparisons,
building dicts and lists, forward branches, ``try``/``except`` — runs a bounded
number of operations, each a C operation on the values at hand. The README's
``lambda x: {"n": x["n"] * 2}`` is such a function.

Two things could still hold the loop, and both are watched by
:func:`call_guarded`, which :mod:`~main_process.runners.sync_calls` uses:

* an operation may call back into Python code it does not show: a property, a
  ``__getitem__`` or ``__eq__`` of an object in the input. A profile hook sees any
  Python frame that starts under the call; the first such frame (other than the
  engine's own :data:`TRUSTED` code) ends the hook and marks the function, which
  from then on runs on a node thread. The call already under way finishes on the
  loop: a call cannot be moved once it runs.
* one C operation on a huge value (``big * 10**8``, copying a list of millions)
  holds the GIL while it runs, and so the loop, just as it would from a node thread;
  straight-line code has a bounded number of them. A call that took longer than
  ``slow_s`` marks the function too.
"""

from __future__ import annotations

import dis
import inspect
import sys
import time
import types
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

#: Opcodes of straight-line code (CPython 3.11-3.13 names). Anything else — a call,
#: a backward jump, an iteration, an import, ``with``, ``yield``, ``await``, making a
#: function — and the function is not straight-line.
_ALLOWED = frozenset(
    """
    NOP RESUME CACHE EXTENDED_ARG POP_TOP PUSH_NULL COPY SWAP NOT_TAKEN
    LOAD_CONST LOAD_SMALL_INT RETURN_CONST RETURN_VALUE
    LOAD_FAST LOAD_FAST_CHECK LOAD_FAST_LOAD_FAST LOAD_FAST_BORROW
    LOAD_FAST_BORROW_LOAD_FAST_BORROW STORE_FAST STORE_FAST_LOAD_FAST
    STORE_FAST_STORE_FAST DELETE_FAST
    LOAD_GLOBAL STORE_GLOBAL DELETE_GLOBAL LOAD_DEREF STORE_DEREF DELETE_DEREF
    LOAD_CLOSURE MAKE_CELL COPY_FREE_VARS LOAD_ATTR STORE_ATTR DELETE_ATTR
    UNARY_POSITIVE UNARY_NEGATIVE UNARY_NOT UNARY_INVERT TO_BOOL
    BINARY_OP BINARY_SUBSCR STORE_SUBSCR DELETE_SUBSCR BINARY_SLICE STORE_SLICE
    COMPARE_OP IS_OP CONTAINS_OP
    BUILD_TUPLE BUILD_LIST BUILD_SET BUILD_MAP BUILD_CONST_KEY_MAP BUILD_STRING
    BUILD_SLICE LIST_APPEND SET_ADD MAP_ADD LIST_EXTEND DICT_MERGE SET_UPDATE
    LIST_TO_TUPLE FORMAT_VALUE FORMAT_SIMPLE FORMAT_WITH_SPEC CONVERT_VALUE DICT_UPDATE
    UNPACK_SEQUENCE UNPACK_EX
    JUMP_FORWARD POP_JUMP_FORWARD_IF_FALSE POP_JUMP_FORWARD_IF_TRUE
    POP_JUMP_FORWARD_IF_NONE POP_JUMP_FORWARD_IF_NOT_NONE
    JUMP_IF_FALSE_OR_POP JUMP_IF_TRUE_OR_POP
    RAISE_VARARGS RERAISE PUSH_EXC_INFO POP_EXCEPT CHECK_EXC_MATCH
    LOAD_ASSERTION_ERROR
    """.split()  # noqa: SIM905 (a word list reads better than 80 quoted names)
)
#: Conditional jumps that are forward-only from 3.12 on (3.11 has backward twins).
_FORWARD_FROM_312 = frozenset(
    {"POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "POP_JUMP_IF_NONE", "POP_JUMP_IF_NOT_NONE"}
)
_NOT_PLAIN = (
    inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
    | inspect.CO_ITERABLE_COROUTINE
)


def straight_line(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a plain Python function whose code calls nothing and has no
    loop (see the module docstring)."""
    if type(fn) is not types.FunctionType:
        return False  # a callable object, a builtin, a partial: not provable here
    code = fn.__code__
    if code.co_flags & _NOT_PLAIN:
        return False
    allowed = _ALLOWED | _FORWARD_FROM_312 if sys.version_info >= (3, 12) else _ALLOWED
    return all(ins.opname in allowed for ins in dis.get_instructions(code))


#: Code the hook lets run under a straight-line call: the engine's own quick
#: properties (a node context's ``execution_id``, ``inputs``), registered with
#: :func:`trust`.
TRUSTED: set[types.CodeType] = set()


def trust(cls: type, names: Iterable[str]) -> None:
    """Let the getters of ``cls``'s properties ``names`` run under straight-line calls."""
    for name in names:
        prop = inspect.getattr_static(cls, name)
        assert isinstance(prop, property) and prop.fget is not None
        TRUSTED.add(prop.fget.__code__)


def call_guarded(
    fn: Callable[..., T], args: tuple[Any, ...], slow_s: float, strayed: Callable[[], None]
) -> T:
    """``fn(*args)`` on this thread under the profile hook; ``strayed()`` is called
    (once the call ended, however it ended) when a foreign Python frame started under
    it or it took longer than ``slow_s``.

    The caller makes sure no other profiler is installed (it would be replaced).
    """
    own = fn.__code__
    foreign = False

    def hook(frame: types.FrameType, event: str, arg: Any) -> None:
        nonlocal foreign
        if event == "call" and frame.f_code is not own and frame.f_code not in TRUSTED:
            foreign = True
            sys.setprofile(None)  # one is enough: no hook cost on what follows

    start = time.perf_counter()
    sys.setprofile(hook)
    try:
        return fn(*args)
    finally:
        sys.setprofile(None)
        if foreign or time.perf_counter() - start >= slow_s:
            strayed()
