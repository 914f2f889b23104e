"""Flow-control nodes: ``set``, ``if``, ``switch``, ``merge``, ``delay``, ``log``.

These nodes move values around the graph rather than doing outside work, so they
run inline on the engine loop (``delay`` is the only one that waits, and it does so
with ``asyncio.sleep`` so it stays cancellable). The engine has already rendered
every template in their params; ``if`` and ``switch`` therefore see the *value* of
``{{ ... }}``, not its text, and pass their input on unchanged through the port
they pick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.stream_roles import flagged_role
from main_process.nodes.base import NodeContext, NodeType, PortOutput

#: Strings that read as "no" in a condition. A template mixed with text renders
#: to a string (``"{{ a }} and {{ b }}"`` → ``"False"``), and users write ``"false"``
#: by hand, so plain Python truthiness of a string would surprise them.
_FALSE_WORDS = frozenset({"", "false", "0", "no", "off", "none", "null"})

DEFAULT_PORT = "default"


def is_truthy(value: Any) -> bool:
    """Python truthiness, except that strings such as ``"false"`` or ``"0"`` are false."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


class SetParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Set")

    value: Any = Field(
        default=None,
        description="Any JSON value; templates inside it are rendered. Becomes the output.",
    )
    per_item: bool = Field(
        default=False,
        description="Build one value per item of a stream (or list): {{ input }} is the item.",
    )


def run_set(params: SetParams, input: Any, ctx: NodeContext) -> Any:
    """Build a value from templates, e.g. ``{"name": "{{ input.user.name }}"}``."""
    return params.value


class IfParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="If")

    condition: Any = Field(
        description=(
            "Template whose value decides the branch, e.g. {{ input.count > 0 }}. "
            'Falsy values and the strings "false", "0", "no", "off", "none", "null" '
            'and "" take the false port.'
        ),
    )
    per_item: bool = Field(
        default=False,
        description="Route each item of a stream: each port gets a stream of its items.",
    )


def run_if(params: IfParams, input: Any, ctx: NodeContext) -> PortOutput:
    """Send the input out of port ``true`` or ``false``, depending on ``condition``."""
    return PortOutput("true" if is_truthy(params.condition) else "false", input)


class SwitchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Switch")

    value: Any = Field(
        default=None,
        description="Template whose value picks the case, e.g. {{ input.kind }}.",
    )
    cases: list[str] = Field(
        default_factory=list,
        description=(
            "Case names; each is an output port. The input leaves through the case "
            'equal to the value, else through "default".'
        ),
    )
    per_item: bool = Field(
        default=False,
        description="Route each item of a stream: each port gets a stream of its items.",
    )

    @field_validator("cases")
    @classmethod
    def _distinct_cases(cls, cases: list[str]) -> list[str]:
        """Ports are named by cases, so two equal cases would be one ambiguous port."""
        seen: set[str] = set()
        for case in cases:
            if case == DEFAULT_PORT:
                raise ValueError(f'"{DEFAULT_PORT}" is reserved for the fallback port')
            if case in seen:
                raise ValueError(f"case {case!r} is listed twice")
            seen.add(case)
        return cases


def switch_ports(raw_params: dict[str, Any]) -> list[str]:
    """Output ports of a switch from its unvalidated params: its cases plus ``default``.

    Called by validation and the editor on params that may be malformed, so it
    never raises: anything that is not a list of strings contributes nothing.
    """
    cases = raw_params.get("cases") if isinstance(raw_params, dict) else None
    ports: list[str] = []
    if isinstance(cases, list):
        for case in cases:
            if isinstance(case, str) and case != DEFAULT_PORT and case not in ports:
                ports.append(case)
    return [*ports, DEFAULT_PORT]


def _case_keys(value: Any) -> set[str]:
    """The case names ``value`` matches: itself if a string, else its JSON and Python text.

    So ``1`` matches case ``"1"`` and ``True`` matches ``"true"`` (and ``"True"``).
    """
    if isinstance(value, str):
        return {value}
    keys = {str(value)}
    with contextlib.suppress(TypeError, ValueError):
        keys.add(json.dumps(value, sort_keys=True))
    return keys


def run_switch(params: SwitchParams, input: Any, ctx: NodeContext) -> PortOutput:
    """Send the input out of the port named by the case matching ``value``."""
    keys = _case_keys(params.value)
    for case in params.cases:
        if case in keys:
            return PortOutput(case, input)
    return PortOutput(DEFAULT_PORT, input)


class MergeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Merge")

    mode: Literal["object", "list"] = Field(
        default="object",
        description=(
            "object: {upstream_id: output}; list: the outputs of the upstreams that ran, "
            "in edge order."
        ),
    )


def run_merge(params: MergeParams, input: Any, ctx: NodeContext) -> Any:
    """Combine the outputs of several upstream nodes into one value."""
    if params.mode == "list":
        return list(ctx.upstream.values())
    return dict(ctx.upstream)


class DelayParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Delay")

    seconds: float = Field(
        default=1.0, ge=0, title="Seconds", description="How long to wait, in seconds."
    )


async def run_delay(params: DelayParams, input: Any, ctx: NodeContext) -> Any:
    """Wait, then pass the input on unchanged."""
    await asyncio.sleep(params.seconds)
    return input


class LogParams(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, title="Log")

    message: Any = Field(
        default=None,
        description="What to log, e.g. 'got {{ input | length }} items'. Empty: the input.",
    )
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Severity of the log line."
    )


def _as_text(value: Any) -> str:
    """A log line for any value: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def run_log(params: LogParams, input: Any, ctx: NodeContext) -> Any:
    """Record a log line in the execution's log, then pass the input on unchanged."""
    message = input if params.message is None else params.message
    ctx.log(_as_text(message), params.level)
    return input


FLOW_TYPES: list[NodeType] = [
    NodeType("set", "Set value", "Data", SetParams, run_set, streams=flagged_role),
    NodeType("if", "If", "Flow", IfParams, run_if, ports=("true", "false"), streams=flagged_role),
    NodeType(
        "switch",
        "Switch",
        "Flow",
        SwitchParams,
        run_switch,
        port_names=switch_ports,
        streams=flagged_role,
    ),
    NodeType("merge", "Merge", "Flow", MergeParams, run_merge),
    NodeType("delay", "Delay", "Flow", DelayParams, run_delay),
    NodeType("log", "Log", "Flow", LogParams, run_log),
]
