"""The ``preview_template`` operation: render a template against a recorded run.

The node editor shows what a param's template renders to with the last run's data,
as the user types. Rendering happens here, in the engine process, with the same
sandbox and bounds as a run (:func:`app.evaluation_limits.evaluate`: a time limit,
the value size limit), never in the GUI. The context is rebuilt from the recorded
execution: ``inputs``, ``nodes.<id>.output|status|port``, ``input`` (the node's
recorded input in a debug run, else its upstream outputs as a run would pass them)
and ``execution``; ``vars`` are empty (variables are not part of the record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from app.errors import ConductorError, ConfigError
from app.evaluation_limits import eval_timeout, evaluate
from app.template_preview import (
    MAX_PREVIEW_TEMPLATE,
    PREVIEW_CHARS,
    TemplatePreview,
    kind_of,
)
from app.templates import compile_template, is_template

if TYPE_CHECKING:
    from app.operations import PreviewTemplateRequest
    from app.results import ExecutionResult
    from main_process.engine.engine import Engine


def preview_context(
    result: ExecutionResult | None, node_id: str | None, upstream: Sequence[str]
) -> dict[str, Any]:
    """The names a template of ``node_id`` sees, as recorded by ``result``."""
    if result is None:
        return {
            "inputs": {},
            "nodes": {},
            "input": None,
            "vars": {},
            "execution": {},
            "trigger": {},
        }
    nodes = {
        nid: {"output": node.output, "status": node.status.value, "port": node.port}
        for nid, node in result.nodes.items()
    }
    recorded = result.nodes.get(node_id) if node_id else None
    if recorded is not None and recorded.input is not None:
        value: Any = recorded.input
    else:
        ran = {u: result.nodes[u].output for u in upstream if u in result.nodes}
        value = next(iter(ran.values())) if len(ran) == 1 else (ran or result.inputs)
    return {
        "inputs": result.inputs,
        "nodes": nodes,
        "input": value,
        "vars": {},
        "execution": {"id": result.execution_id, "blueprint_id": result.blueprint_id},
        "trigger": result.config.get("trigger") or {},
    }


def scope_names(context: dict[str, Any]) -> list[str]:
    """Dotted names a template can use here (for the editor's autocomplete)."""
    names = ["input", "vars", "execution.id", "execution.blueprint_id"]
    names += [f"inputs.{key}" for key in context["inputs"]]
    for nid in context["nodes"]:
        names += [f"nodes.{nid}.output", f"nodes.{nid}.status", f"nodes.{nid}.port"]
    value = context["input"]
    if isinstance(value, dict):
        names += [f"input.{key}" for key in list(value)[:50] if isinstance(key, str)]
    return names


def _shown(value: Any) -> tuple[str, bool]:
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = repr(value)
    if len(text) > PREVIEW_CHARS:
        return text[:PREVIEW_CHARS], True
    return text, False


async def preview_template(engine: Engine, request: PreviewTemplateRequest) -> TemplatePreview:
    """Render the request's template against the recorded run (see the module docs)."""
    template, node_id = request.template, request.node_id
    execution_id, upstream = request.execution_id, request.upstream
    if len(template) > MAX_PREVIEW_TEMPLATE:
        raise ConfigError(
            f"a template to preview is at most {MAX_PREVIEW_TEMPLATE:,} characters",
            where="template",
        )
    result = await engine.get_execution(execution_id) if execution_id else None
    context = preview_context(result, node_id, upstream)
    scope = scope_names(context)
    if not is_template(template):
        text, cut = _shown(template)
        return TemplatePreview(ok=True, text=text, kind="string", truncated=cut, scope=scope)
    where = f"nodes.{node_id}.params" if node_id else "template"
    try:
        compiled = compile_template(template, where)
        value = await evaluate(
            lambda: compiled.render(context),
            timeout=eval_timeout(None),
            where=where,
            what="rendering the preview",
        )
    except ConductorError as exc:
        return TemplatePreview(ok=False, error=exc.message, where=exc.where, scope=scope)
    text, cut = _shown(value)
    return TemplatePreview(ok=True, text=text, kind=kind_of(value), truncated=cut, scope=scope)
