"""JMESPath searches with a bound on the values they build.

jmespath's interpreter is pure Python, so time is bounded from outside
(:func:`app.evaluation_limits.evaluate`). Size is bounded here, as the search runs:

* every list or object the interpreter builds adds its length to a running count,
  refused past :func:`items_limit` (``[@,@][] | [@,@][] | …`` doubles a real list at
  every step: a quarter of a second from a gigabyte);
* ``to_string`` (``json.dumps`` in C, which no time limit interrupts) measures its
  argument first;
* a result of an expression that can share parts (multi-select lists and objects,
  functions: ``[@,@] | [@,@] | …`` forty times is forty small lists and 2**40 items
  once written out) is measured as JSON before it leaves the node.
"""

from __future__ import annotations

import heapq
import json
from typing import TYPE_CHECKING, Any

from jmespath import functions, visitor
from jmespath.exceptions import JMESPathError, JMESPathTypeError

from app.evaluation_limits import off_loop
from app.value_size import expanded_size, value_limit
from main_process.nodes.jmespath_fast import compile_fast

if TYPE_CHECKING:
    from jmespath.parser import ParsedResult
    from jmespath.visitor import _TreeNode

#: Node types of an expression whose result may share parts.
_SHARING = frozenset({"multi_select_list", "multi_select_dict", "function_expression"})
#: Estimated bytes of one item in a built list (a reference and a small value).
_ITEM_BYTES = 8


class ValueBudgetError(JMESPathError):
    """The search built, or would build, more than the value budget."""


def items_limit() -> int:
    """How many items a search may build in all: the value budget in references."""
    return max(1, value_limit() // _ITEM_BYTES)


def _check(value: Any, what: str) -> None:
    limit = value_limit()
    size = expanded_size(value, limit)
    if size > limit:
        raise ValueBudgetError(f"{what} would be larger than {limit:,} bytes (the value budget)")
    off_loop(size)


#: The most items (or JSON bytes, for ``to_string``) one C call of a function gets: a
#: sort, ``max`` or ``json.dumps`` of 1.6 million items held the GIL, and so the
#: engine's loop, 140-310 ms. Longer lists are done in pieces, with bytecode between.
_PIECE = 50_000
_PIECE_BYTES = 256 * 1024


def _pieces(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + _PIECE] for i in range(0, len(items), _PIECE)]


def _index_pieces(length: int) -> list[range]:
    return [range(i, min(i + _PIECE, length)) for i in range(0, length, _PIECE)]


def _dumps(value: Any) -> str:
    """``to_string``'s ``json.dumps``, a container over a quarter MiB a part at a time (a
    long list in 64 slices, each written the same way)."""
    if not isinstance(value, list | dict) or expanded_size(value, _PIECE_BYTES) <= _PIECE_BYTES:
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, dict):
        parts = (json.dumps(str(k)) + ":" + _dumps(v) for k, v in value.items())
        return "{" + ",".join(parts) + "}"
    if len(value) <= 64:
        return "[" + ",".join(map(_dumps, value)) + "]"
    step = -(-len(value) // 64)
    slices = (_dumps(value[i : i + step])[1:-1] for i in range(0, len(value), step))
    return "[" + ",".join(slices) + "]"


#: jmespath's own functions, untyped: its stubs do not list the helpers reused here.
_PLAIN: Any = functions.Functions


class _Functions(functions.Functions):
    @functions.signature({"types": []})
    def _func_to_string(self, arg: Any) -> Any:
        if isinstance(arg, str):
            return arg
        _check(arg, "to_string's value")
        return _dumps(arg)

    @functions.signature({"types": ["array-string", "array-number"]})
    def _func_sort(self, arg: list[Any]) -> list[Any]:
        if len(arg) <= _PIECE:
            return sorted(arg)
        return list(heapq.merge(*(sorted(piece) for piece in _pieces(arg))))

    @functions.signature({"types": ["array-number", "array-string"]})
    def _func_max(self, arg: list[Any]) -> Any:
        return max(max(piece) for piece in _pieces(arg)) if arg else None

    @functions.signature({"types": ["array-number", "array-string"]})
    def _func_min(self, arg: list[Any]) -> Any:
        return min(min(piece) for piece in _pieces(arg)) if arg else None

    @functions.signature({"types": ["array"]}, {"types": ["expref"]})
    def _func_sort_by(self, array: list[Any], expref: Any) -> list[Any]:
        if len(array) <= _PIECE:
            return _PLAIN._func_sort_by(self, array, expref)  # type: ignore[no-any-return]
        first = expref.visit(expref.expression, array[0])
        required = _PLAIN._convert_to_jmespath_type(self, type(first).__name__)
        if required not in ("number", "string"):
            raise JMESPathTypeError("sort_by", array[0], required, ["string", "number"])
        keys = self._keys(array, expref, [required], "sort_by")
        runs = (sorted(piece, key=keys.__getitem__) for piece in _index_pieces(len(array)))
        # heapq.merge takes equal keys from earlier runs first: as stable as sorted().
        return [array[i] for i in heapq.merge(*runs, key=keys.__getitem__)]

    @functions.signature({"types": ["array"]}, {"types": ["expref"]})
    def _func_max_by(self, array: list[Any], expref: Any) -> Any:
        if len(array) <= _PIECE:
            return _PLAIN._func_max_by(self, array, expref)
        keys = self._keys(array, expref, ["number", "string"], "max_by")
        firsts = [max(piece, key=keys.__getitem__) for piece in _index_pieces(len(array))]
        return array[max(firsts, key=keys.__getitem__)]  # the first of equal maxima

    @functions.signature({"types": ["array"]}, {"types": ["expref"]})
    def _func_min_by(self, array: list[Any], expref: Any) -> Any:
        if len(array) <= _PIECE:
            return _PLAIN._func_min_by(self, array, expref)
        keys = self._keys(array, expref, ["number", "string"], "min_by")
        firsts = [min(piece, key=keys.__getitem__) for piece in _index_pieces(len(array))]
        return array[min(firsts, key=keys.__getitem__)]

    def _keys(self, array: list[Any], expref: Any, types: list[str], name: str) -> list[Any]:
        """Every item's key, computed first (Python calls: the GIL is handed over
        between them), so that the C calls that compare keys each get one piece."""
        keyfunc = _PLAIN._create_key_func(self, expref, types, name)
        return [keyfunc(item) for item in array]

    @functions.signature({"types": ["array-number"]})
    def _func_sum(self, arg: list[Any]) -> Any:
        return sum(sum(piece) for piece in _pieces(arg))

    @functions.signature({"types": ["array-number"]})
    def _func_avg(self, arg: list[Any]) -> Any:
        return self._func_sum(arg) / len(arg) if arg else None


class _Interpreter(visitor.TreeInterpreter):
    """Counts the items of every list and object it builds.

    Only the node types that build a new list or object (projections, flatten,
    slice, multi-selects, functions; the others return a part of their input) are
    overridden: a wrapper around every ``visit`` cost a Python call per node of the
    expression per item, about a third of a filter's time (W6 in ``bench/engine.py``).
    """

    def __init__(self) -> None:
        super().__init__(visitor.Options(custom_functions=_Functions()))
        self._built = 0
        self._limit = items_limit()

    def _count(self, result: Any) -> Any:
        if isinstance(result, list | dict):
            self._built += len(result)
            if self._built > self._limit:
                raise ValueBudgetError(
                    f"the search built more than {self._limit:,} items (the value budget)"
                )
            off_loop(self._built * _ITEM_BYTES)
        return result

    def visit_projection(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_projection(node, value))

    def visit_value_projection(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_value_projection(node, value))

    def visit_filter_projection(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_filter_projection(node, value))

    def visit_flatten(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_flatten(node, value))

    def visit_slice(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_slice(node, value))

    def visit_multi_select_list(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_multi_select_list(node, value))

    def visit_multi_select_dict(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_multi_select_dict(node, value))

    def visit_function_expression(self, node: _TreeNode, value: Any) -> Any:
        return self._count(super().visit_function_expression(node, value))


def _shares(node: _TreeNode) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current["type"] in _SHARING:
            return True
        # A slice's children are its numbers (``[::-1]``: None, None, -1), not nodes.
        stack.extend(c for c in current["children"] if isinstance(c, dict))
    return False


class SearchFailedError(JMESPathError):
    """The interpreter itself broke on the input (a bug of jmespath's, or nesting too deep)."""


def search(compiled: ParsedResult, value: Any) -> Any:
    """``compiled.search(value)``, refused (ValueBudgetError) past the value budget.

    Expressions of the common node types run compiled to closures
    (:mod:`main_process.nodes.jmespath_fast`, the same results ~10x faster), the others
    on the interpreter; both count what they build against the same budget.

    An expression nested past the recursion limit raises ``RecursionError`` in the
    interpreter; that, and any other bare Python error from inside jmespath, becomes
    :class:`SearchFailedError`, a JMESPathError like its own, so the node fails with a
    typed error naming the expression.
    """
    interpreter = _Interpreter()
    fast = compile_fast(compiled.parsed, interpreter._count)
    try:
        result = fast(value) if fast is not None else interpreter.visit(compiled.parsed, value)
    except JMESPathError:
        raise
    except RecursionError:
        raise SearchFailedError("the expression is nested too deeply to evaluate") from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise SearchFailedError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, list | dict) and _shares(compiled.parsed):
        _check(result, "the result")
    return result
