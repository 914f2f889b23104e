"""The Jinja2 sandbox templates run in, with bounds on the values they may build.

Jinja2's :class:`ImmutableSandboxedEnvironment` stops attribute tricks and
mutation, not size: ``{{ [input] * 10**7 }}`` twice over, ``{% set ns.v = [ns.v,
ns.v] %}`` in a loop, ``"{:>9999999999}".format(1)`` or ``x|center(10**10)`` each
take gigabytes, most of it inside one C call that no time limit can interrupt. So
every place where a template can *build* a value is checked before the value is
built: the ``*``, ``+``, ``%`` and ``~`` operators, joins, replaces and the
width-taking methods of ``str`` against what one operation may build
(:func:`app.evaluation_limits.op_limit`, 16 MiB: one C call holds the GIL, and so
the engine's loop, throughout), every value written to the output and every filter
given a container against the value budget (:func:`app.value_size.value_limit`,
64 MiB of JSON by default). A big operation on the loop first moves the evaluation
to a thread (:func:`app.evaluation_limits.off_loop`). Time is bounded elsewhere
(:mod:`app.evaluation_limits`): these checks are what a time limit cannot do.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.evaluation_limits import off_loop, op_limit
from app.template_pieces import dumps_in_pieces, filter_in_pieces
from app.value_size import expanded_size, value_limit

#: The largest exponent ``**`` accepts.
MAX_EXPONENT: Final = 10_000
#: The largest whole number ``*`` and ``**`` build, in bits (about 30,000 digits, seven
#: times what Python will still write out as text). ``(9 ** 9999) ** 9999`` would be 40
#: MB computed for minutes inside one C call that no time limit interrupts.
MAX_INT_BITS: Final = 100_000
#: printf-style (``%``) and ``str.format`` specs with a width or precision of a million
#: or more (or one taken from the arguments: ``%*d``, ``{:>{}}``): refused.
_BIG_PERCENT = re.compile(r"%[-#0 +]*(?:\*|\d{7,}|\.\*|\.\d{7,})")
_BIG_FORMAT = re.compile(r"\{[^{}]*:[^{}]*(?:\d{7,}|\{)")
#: Filters that never build a value larger than their input.
_CHEAP_FILTERS: Final = frozenset(
    {"length", "count", "first", "last", "default", "d", "attr", "int", "float", "abs", "random"}
)
_WIDTH_METHODS: Final = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _container(value: Any) -> bool:
    return isinstance(value, dict | list | tuple)


def check_size(value: Any, what: str) -> Any:
    """``value`` itself, or SecurityError when it is over the value budget as JSON."""
    if isinstance(value, str):
        size = len(value)
    elif _container(value):
        size = expanded_size(value, value_limit())
    else:
        return value
    limit = value_limit()
    if size > limit:
        raise SecurityError(f"{what} would be larger than {limit:,} bytes (the value budget)")
    off_loop(size)
    return value


def _check_format(spec: Any, what: str, pattern: re.Pattern[str] = _BIG_PERCENT) -> None:
    if isinstance(spec, str) and pattern.search(spec):
        raise SecurityError(f"{what}: widths and precisions of a million or more are refused")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int_size(operator_: str, left: Any, right: Any) -> None:
    """Refuse ``*`` and ``**`` on whole numbers whose result passes :data:`MAX_INT_BITS`."""
    if not (_whole(left) and _whole(right)):
        return
    if operator_ == "*":
        bits = left.bit_length() + right.bit_length()
    elif operator_ == "**" and right > 0:
        bits = left.bit_length() * right if abs(left) > 1 else 0
    else:
        return
    if bits > MAX_INT_BITS:
        raise SecurityError(
            f"'{operator_}' would build a number of more than {MAX_INT_BITS:,} bits"
        )


def _bounded_join(items: tuple[Any, ...]) -> str:
    """``a ~ b``: the sizes are checked before anything is turned into text."""
    total = 0
    limit = op_limit()
    for item in items:
        total += len(item) if isinstance(item, str) else expanded_size(item, limit)
        if total > limit:
            raise SecurityError(f"'~' would build more than {limit:,} bytes (the value budget)")
    off_loop(total)
    return "".join(map(str, items))


def _check_join(items: Any, separator: Any, what: str) -> None:
    """``separator.join(items)``: the result's size from its parts, before it is built.

    Joining a string joins its characters: ``s|join(s)`` is ``len(s) ** 2`` characters,
    and three of those nested pass any budget from a 30-character input.
    """
    limit = op_limit()
    if isinstance(items, str):
        count, total = len(items), len(items)
    elif _container(items):
        values = items.values() if isinstance(items, dict) else items
        count = len(items)
        total = sum(len(x) if isinstance(x, str) else expanded_size(x, limit) for x in values)
    else:
        return
    # A separator that is not text is written out as text (about its JSON size).
    sep = len(separator) if isinstance(separator, str) else expanded_size(separator, limit)
    if total + sep * max(0, count - 1) > limit:
        raise SecurityError(f"{what} would build more than {limit:,} bytes")
    off_loop(total + sep * max(0, count - 1))


#: A replace of more matches than this in one C call holds the GIL past ~15 ms: it is
#: done in pieces instead, or refused for a pattern whose matches can overlap.
MAX_REPLACE_MATCHES: Final = 1_000_000
_REPLACE_PIECE: Final = 1 << 18


def _overlaps_itself(old: str) -> bool:
    """True when two matches of ``old`` can overlap (``aa`` in ``aaa``)."""
    return not old or any(old[:k] == old[-k:] for k in range(1, len(old)))


def _in_pieces(text: str, old: str, new: str) -> str:
    """``text.replace(old, new)`` a quarter MiB at a time, for an ``old`` whose matches
    never overlap: a cut inside a match moves to the match's end."""
    pieces: list[str] = []
    start, end, width = 0, len(text), len(old)
    while start < end:
        cut = min(end, start + _REPLACE_PIECE)
        found = text.find(old, max(start, cut - width + 1), cut + width - 1)
        if cut < end and found != -1 and found < cut:
            cut = found + width
        pieces.append(text[start:cut].replace(old, new))
        start = cut
    return "".join(pieces)


def _bounded_replace(text: str, old: str, new: str, count: int | None, what: str) -> str:
    """``text.replace(old, new, count)``: refused before it builds more than one operation
    may; a replace of many matches is done in pieces, so no C call holds the loop."""
    off_loop(len(text))
    found = text.count(old)
    if count is not None and count >= 0:
        found = min(found, count)
    size = len(text) + found * (len(new) - len(old))
    if size > op_limit():
        raise SecurityError(f"{what} would build more than {op_limit():,} bytes")
    off_loop(size)
    if found <= MAX_REPLACE_MATCHES:
        return text.replace(old, new, -1 if count is None else count)
    if (count is not None and count >= 0) or _overlaps_itself(old):
        raise SecurityError(f"{what} of more than {MAX_REPLACE_MATCHES:,} matches is refused")
    return _in_pieces(text, old, new)


def _replace_args(text: Any, old: Any, new: Any, count: Any) -> bool:
    return all(isinstance(x, str) for x in (text, old, new)) and (
        count is None or (isinstance(count, int) and not isinstance(count, bool))
    )


def _check_percent(text: Any, args: Any) -> None:
    """``text % args``: at most every ``%`` writes out the largest argument."""
    if not isinstance(text, str):
        return
    limit = op_limit()
    values = args.values() if isinstance(args, dict) else args if _container(args) else (args,)
    largest = max(
        (len(v) if isinstance(v, str) else expanded_size(v, limit) for v in values), default=0
    )
    size = len(text) + text.count("%") * largest
    if size > limit:
        raise SecurityError(f"'%' formatting would build more than {limit:,} bytes")
    off_loop(size)


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "replace" and len(args) >= 4:  # (eval_ctx, s, old, new, count=None)
            count = args[4] if len(args) > 4 else kwargs.get("count")
            text, old, new = args[1:4]
            if _replace_args(text, old, new, count):
                return _bounded_replace(text, old, new, count, "the 'replace' filter")
        if name == "join":  # (eval_ctx, value, d="", attribute=None)
            separator = args[2] if len(args) > 2 else kwargs.get("d", "")
            _check_join(args[1] if len(args) > 1 else kwargs.get("value"), separator, "join")
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, str):
                off_loop(len(arg))
            if _container(arg):
                check_size(arg, f"the {name!r} filter's input")
            elif isinstance(arg, int) and not isinstance(arg, bool) and arg > op_limit():
                raise SecurityError(f"the {name!r} filter's argument {arg} is too large")
        if name == "format" and args:
            _check_format(args[0], "format")
        result = filter_in_pieces(name, fn, args, kwargs)
        return check_size(result, f"the {name!r} filter's result") if name == "replace" else result

    # Jinja2 passes the context or environment to filters marked for it: keep the mark.
    for mark in ("jinja_pass_arg",):
        if hasattr(fn, mark):
            setattr(checked, mark, getattr(fn, mark))
    return checked


class _Generator(CodeGenerator):
    """Compiles ``a ~ b`` to the bounded join instead of Jinja2's ``str_join``."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class Sandbox(ImmutableSandboxedEnvironment):
    """The environment: immutable sandbox, strict undefined, bounded values."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, describe_keys: Callable[[Mapping[str, Any]], str]) -> None:
        super().__init__(
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=lambda value: check_size(value, "a value written by the template"),
        )
        self._describe_keys = describe_keys
        self.globals.pop("lipsum", None)  # lipsum(n=10**9) is a gigabyte of filler
        self.filters = {
            name: fn if name in _CHEAP_FILTERS else _bounded_filter(name, fn)
            for name, fn in self.filters.items()
        }
        self.bounded_join = _bounded_join
        self.policies["json.dumps_function"] = dumps_in_pieces

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                if attribute in obj:
                    return obj[attribute]
            except TypeError:
                pass
            if not hasattr(obj, attribute):
                hint = f"no key {attribute!r} ({self._describe_keys(obj)})"
                return self.undefined(hint, obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping):
            try:
                if argument not in obj and not (
                    isinstance(argument, str) and hasattr(obj, argument)
                ):
                    hint = f"no key {argument!r} ({self._describe_keys(obj)})"
                    return self.undefined(hint, obj=obj, name=argument)
            except TypeError:
                pass
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        limit = op_limit()
        _check_int_size(operator_, left, right)
        if operator_ == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    size = len(seq) if isinstance(seq, str) else expanded_size(seq, limit)
                    if size * count > limit:
                        raise SecurityError(f"'*' would build more than {limit:,} bytes")
                    off_loop(size * count)
            return operator.mul(left, right)
        if operator_ == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                size = sum(
                    len(x) if isinstance(x, str) else expanded_size(x, limit) for x in (left, right)
                )
                if size > limit:
                    raise SecurityError(f"'+' would build more than {limit:,} bytes")
                off_loop(size)
            return operator.add(left, right)
        if operator_ == "%":
            _check_format(left, "'%' formatting")
            _check_percent(left, right)
            return operator.mod(left, right)
        if isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        return operator.pow(left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map``: refuse huge or argument-given widths first."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        source = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(source, "str.format", _BIG_FORMAT)
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            off_loop(len(owner))
            name = getattr(__obj, "__name__", "")
            limit = op_limit()
            if name in _WIDTH_METHODS and any(
                isinstance(a, int) and a > limit for a in (*args, *kwargs.values())
            ):
                raise SecurityError(f"str.{name} width is larger than {limit:,}")
            if name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else kwargs.get("count")
                if _replace_args(owner, args[0], args[1], count):
                    return _bounded_replace(owner, args[0], args[1], count, "str.replace")
            if name == "join" and args:
                _check_join(args[0], owner, "str.join")
        return super().call(__context, __obj, *args, **kwargs)
