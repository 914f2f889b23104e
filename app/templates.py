"""Templates in node params and blueprint outputs, rendered by Jinja2's sandbox.

Params may hold ``{{ inputs.url }}``, ``{{ nodes.fetch.output }}``, ``{{ input }}``,
``{{ vars.k }}``, ``{{ execution.id }}``, ``{{ secrets.NAME }}`` (the engine
process's vault, :mod:`main_process.secrets`) or, in a run a trigger started,
``{{ trigger.name }}`` (``trigger.scheduled_at``, ``trigger.path``, ``trigger.body``
...). A string
that is exactly one ``{{ … }}``
(surrounding whitespace allowed) yields the expression's **native** value, so a list
stays a list and a number a number; any other template renders to a string.

Assumptions and choices:

* Templates are user input, so they run in :class:`ImmutableSandboxedEnvironment`
  (no dunder access, no mutation of the values handed in), never ``eval``; every
  place that builds a value checks it against the value budget first
  (:mod:`app.template_sandbox`), so one template cannot build a gigabyte.
* :class:`StrictUndefined`: a missing name, key or attribute fails the render with a
  :class:`~app.errors.TemplateError` naming the template, the missing key and the
  keys that do exist, instead of silently rendering an empty string.
* On a mapping, ``a.b`` reads the key ``b`` before any dict method, so a node called
  ``items`` or ``keys`` is reachable as ``nodes.items``.
* The engine renders on a hot path, so compiled templates are cached by source and
  :func:`compile_value` returns ``None`` for values with no template at all.
* Jinja2 is imported on first use only: the CLI's start-up should not pay for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import TemplateError

if TYPE_CHECKING:
    from jinja2 import Environment, Template
    from jinja2 import nodes as jnodes

__all__ = [
    "KNOWN_NAMES",
    "TEMPLATE_NAMES",
    "CompiledTemplate",
    "ValueTemplate",
    "compile_template",
    "compile_value",
    "is_template",
    "join_path",
]

#: The top-level names a template may use.
#: ``item`` and ``index`` are a loop body's (None elsewhere); ``trigger`` is what
#: started the run (empty for a manual run).
TEMPLATE_NAMES = frozenset(
    {"inputs", "nodes", "input", "vars", "execution", "trigger", "item", "index"}
)
#: Every top-level name a template may use: the run's data and ``secrets`` (the engine
#: process's vault, looked up by name; :mod:`main_process.secrets`).
KNOWN_NAMES = TEMPLATE_NAMES | {"secrets"}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_template(text: str) -> bool:
    """Whether ``text`` holds template syntax (an expression or a statement)."""
    return "{{" in text or "{%" in text


def join_path(base: str, key: str | int) -> str:
    """Extend a place such as ``nodes[0].params`` by a key: ``.url``, ``[2]``, ``["a-b"]``.

    Names that are identifiers read as attributes; others are quoted so the path
    stays unambiguous (a key may contain dots).
    """
    if isinstance(key, int):
        return f"{base}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{base}.{key}" if base else key
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{base}[{quoted}]"


def _short(source: str, limit: int = 60) -> str:
    text = source if len(source) <= limit else source[: limit - 1] + "…"
    return repr(text)


def _describe_keys(obj: Mapping[Any, Any], limit: int = 10) -> str:
    keys = [repr(k) for k in list(obj)[: limit + 1]]
    if not keys:
        return "the mapping is empty"
    more = ", …" if len(keys) > limit else ""
    return "available: " + ", ".join(keys[:limit]) + more


@functools.cache
def _environment() -> Environment:
    """The one sandboxed environment (:mod:`app.template_sandbox`), built on first use."""
    from app.template_sandbox import Sandbox

    return Sandbox(_describe_keys)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A source compiled once, shared by every place that uses the same text."""

    ast: jnodes.Template
    template: Template
    native: bool
    check_nested: bool
    #: False for a pure lookup (``{{ input }}``, ``{{ nodes.a.output[0] }}``): it returns
    #: a value that already exists, so its size needs no check.
    builds: bool
    #: The environment's globals, flattened once: Jinja's own ``render`` re-reads
    #: a ChainMap on every call, which dominated the cost of a small template.
    globals: dict[str, Any]


def _single_expression(ast: jnodes.Template) -> jnodes.Expr | None:
    """The expression when the template is one ``{{ expr }}`` plus whitespace."""
    from jinja2 import nodes

    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = list(ast.body[0].nodes)
    while parts and isinstance(parts[0], nodes.TemplateData) and not parts[0].data.strip():
        parts.pop(0)
    while parts and isinstance(parts[-1], nodes.TemplateData) and not parts[-1].data.strip():
        parts.pop()
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> _Compiled:
    """Parse and compile ``source``; raises Jinja2's TemplateSyntaxError (also for text
    nested past what Jinja2's recursive parser or Python's compiler takes, such as a
    long run of ``{`` or a hundred nested ``{% for %}``)."""
    from jinja2 import nodes
    from jinja2.exceptions import TemplateSyntaxError

    env = _environment()
    try:
        return _compile_with(env, source, nodes)
    except RecursionError:
        raise TemplateSyntaxError("the template is nested too deeply to read", 1) from None
    except SyntaxError as exc:  # Python refused the code Jinja2 generated (too many nested blocks)
        raise TemplateSyntaxError(
            f"the template is nested too deeply to compile: {exc.msg}", 1
        ) from None


def _compile_with(env: Environment, source: str, nodes: Any) -> _Compiled:
    ast = env.parse(source)
    expr = _single_expression(ast)
    if expr is None:
        template = env.from_string(ast)
        return _Compiled(ast, template, False, False, True, dict(template.globals))
    body = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)
    body.set_environment(env)
    literal = (nodes.List, nodes.Tuple, nodes.Dict, nodes.Call)
    nested = isinstance(expr, literal) or any(True for _ in expr.find_all(literal))
    template = env.from_string(body)
    lookup = (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Const)
    builds = not all(isinstance(n, lookup) for n in expr.find_all(nodes.Node)) or not isinstance(
        expr, lookup
    )
    return _Compiled(ast, template, True, nested, builds, dict(template.globals))


def _find_undefined(value: Any) -> Any:
    """An Undefined left inside a list/dict built by the expression, or None."""
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        return value
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list | tuple):
        for item in items:
            found = _find_undefined(item)
            if found is not None:
                return found
    return None


def _bounded_concat(parts: Iterator[str]) -> str:
    """The rendered text, refused as soon as it passes the value budget."""
    from jinja2.exceptions import SecurityError

    from app.evaluation_limits import off_loop, op_limit

    limit = op_limit()
    out: list[str] = []
    size = 0
    for part in parts:
        size += len(part)
        if size > limit:
            raise SecurityError(f"the rendered text would be larger than {limit:,} bytes")
        out.append(part)
    off_loop(size)
    return "".join(out)


def _syntax_error(source: str, where: str, exc: Exception) -> TemplateError:
    line = getattr(exc, "lineno", None)
    detail = getattr(exc, "message", None) or str(exc)
    at = f" on line {line}" if line else ""
    return TemplateError(f"syntax error{at} in template {_short(source)}: {detail}", where=where)


class CompiledTemplate:
    """One templated string, compiled; :meth:`render` is cheap and may run often."""

    __slots__ = ("_compiled", "source", "where")

    def __init__(self, source: str, where: str, compiled: _Compiled) -> None:
        self.source = source
        self.where = where
        self._compiled = compiled

    @property
    def is_native(self) -> bool:
        """True when the whole string is one expression and renders to its value."""
        return self._compiled.native

    def render(self, context: Mapping[str, Any]) -> Any:
        """The rendered value: native for a single expression, else a string."""
        compiled = self._compiled
        template = compiled.template
        env = template.environment
        try:
            parent = dict(compiled.globals)
            parent.update(context)
            ctx = env.context_class(env, parent, template.name, template.blocks)
            if not compiled.native:
                return _bounded_concat(template.root_render_func(ctx))
            for _ in template.root_render_func(ctx):
                pass
            value = ctx.vars["result"]
            if compiled.builds:
                from app.template_sandbox import check_size

                check_size(value, "the template's value")
            undefined = _find_undefined(value) if compiled.check_nested else value
            if isinstance(undefined, env.undefined):
                str(undefined)  # StrictUndefined raises the precise error here
            return value
        except Exception as exc:  # any failure in user template code is a TemplateError
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> TemplateError:
        from jinja2.exceptions import SecurityError, UndefinedError

        if isinstance(exc, UndefinedError):
            detail = str(exc)
        elif isinstance(exc, SecurityError):
            detail = f"not allowed: {exc}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return TemplateError(f"template {_short(self.source)} failed: {detail}", where=self.where)

    def __repr__(self) -> str:
        return f"CompiledTemplate({self.source!r}, where={self.where!r})"


def compile_template(source: str, where: str) -> CompiledTemplate:
    """Compile ``source`` (cached by text); a syntax error raises TemplateError with its line."""
    from jinja2.exceptions import TemplateSyntaxError

    try:
        compiled = _compile(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(source, where, exc) from exc
    return CompiledTemplate(source, where, compiled)


_Render = Callable[[Mapping[str, Any]], Any]


def _compile_node(value: Any, where: str) -> _Render | None:
    """A renderer for ``value``, or None when it holds no template (reuse it as is)."""
    if isinstance(value, str):
        return compile_template(value, where).render if is_template(value) else None
    if isinstance(value, dict):
        templated = [
            (key, render)
            for key, item in value.items()
            if (render := _compile_node(item, join_path(where, str(key)))) is not None
        ]
        if not templated:
            return None

        def render_dict(context: Mapping[str, Any]) -> Any:
            out = dict(value)
            for key, render_item in templated:
                out[key] = render_item(context)
            return out

        return render_dict
    if isinstance(value, list | tuple):
        indexed = [
            (index, render)
            for index, item in enumerate(value)
            if (render := _compile_node(item, join_path(where, index))) is not None
        ]
        if not indexed:
            return None
        kind = type(value)

        def render_list(context: Mapping[str, Any]) -> Any:
            out = list(value)
            for index, render_item in indexed:
                out[index] = render_item(context)
            return out if kind is list else kind(out)

        return render_list
    return None


class ValueTemplate:
    """A nested JSON value with templated strings inside.

    Rendering builds new containers only along the paths that lead to templates;
    everything else is the original object, shared, so rendering big params with
    one template in them stays cheap.
    """

    __slots__ = ("_render", "value", "where")

    def __init__(self, value: Any, where: str, render: _Render) -> None:
        self.value = value
        self.where = where
        self._render = render

    def render(self, context: Mapping[str, Any]) -> Any:
        """A new value with every template rendered; raises TemplateError with its place."""
        return self._render(context)


def compile_value(value: Any, where: str) -> ValueTemplate | None:
    """Compile every templated string inside ``value``; None when there is none."""
    render = _compile_node(value, where)
    return None if render is None else ValueTemplate(value, where, render)
