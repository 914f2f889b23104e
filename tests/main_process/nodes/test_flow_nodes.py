"""Flow nodes: set, if, switch, merge, delay, log."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from main_process.nodes.base import PortOutput
from main_process.nodes.flow import SwitchParams
from main_process.nodes.registry import NodeRegistry

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RecordingContext, RunNode


async def test_set_outputs_its_value(run_node: RunNode) -> None:
    assert await run_node("set", {"value": {"a": [1, 2]}}, "ignored") == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("condition", "port"),
    [
        (True, "true"),
        (1, "true"),
        ("yes", "true"),
        ([0], "true"),
        (False, "false"),
        (0, "false"),
        (None, "false"),
        ([], "false"),
        ("", "false"),
        ("False", "false"),
        (" false ", "false"),
        ("0", "false"),
        ("null", "false"),
    ],
)
async def test_if_picks_port_by_truthiness(run_node: RunNode, condition: Any, port: str) -> None:
    assert await run_node("if", {"condition": condition}, {"x": 1}) == PortOutput(port, {"x": 1})


def test_if_has_fixed_ports(registry: NodeRegistry) -> None:
    assert registry.get("if").output_ports({}) == ["true", "false"]


@pytest.mark.parametrize(
    ("value", "port"),
    [("a", "a"), ("b", "b"), ("zzz", "default"), (1, "1"), (True, "true"), (None, "default")],
)
async def test_switch_routes_to_matching_case(run_node: RunNode, value: Any, port: str) -> None:
    params = {"value": value, "cases": ["a", "b", "1", "true"]}
    assert await run_node("switch", params, "payload") == PortOutput(port, "payload")


def test_switch_ports_come_from_cases(registry: NodeRegistry) -> None:
    switch = registry.get("switch")
    assert switch.output_ports({"cases": ["a", "b"]}) == ["a", "b", "default"]


@pytest.mark.parametrize(
    ("raw", "ports"),
    [
        ({}, ["default"]),
        ({"cases": "a"}, ["default"]),
        ({"cases": None}, ["default"]),
        ({"cases": ["a", 3, None, "b", "a", "default"]}, ["a", "b", "default"]),
    ],
)
def test_switch_ports_survive_malformed_params(
    registry: NodeRegistry, raw: dict[str, Any], ports: list[str]
) -> None:
    assert registry.get("switch").output_ports(raw) == ports


@pytest.mark.parametrize("cases", [["a", "a"], ["default"]])
def test_switch_refuses_ambiguous_cases(cases: list[str]) -> None:
    with pytest.raises(ValidationError, match="cases"):
        SwitchParams.model_validate({"value": "a", "cases": cases})


async def test_merge_object_and_list(run_node: RunNode, ctx: RecordingContext) -> None:
    ctx.upstream = {"b": 2, "a": 1}
    assert await run_node("merge", {}, None) == {"b": 2, "a": 1}
    assert await run_node("merge", {"mode": "list"}, None) == [2, 1]


async def test_delay_returns_input_and_is_cancellable(run_node: RunNode) -> None:
    assert await run_node("delay", {"seconds": 0}, "x") == "x"
    task = asyncio.create_task(run_node("delay", {"seconds": 3600}, "x"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_delay_refuses_negative_seconds(registry: NodeRegistry) -> None:
    with pytest.raises(ValidationError, match="seconds"):
        registry.get("delay").params_model.model_validate({"seconds": -1})


async def test_log_records_message_and_passes_input(
    run_node: RunNode, ctx: RecordingContext
) -> None:
    assert await run_node("log", {"message": "hello", "level": "warning"}, [1]) == [1]
    assert await run_node("log", {}, {"k": "v"}) == {"k": "v"}
    assert await run_node("log", {"message": {"n": 1}}, None) is None
    assert ctx.logs == [("warning", "hello"), ("info", '{"k": "v"}'), ("info", '{"n": 1}')]


def test_log_refuses_unknown_level(registry: NodeRegistry) -> None:
    with pytest.raises(ValidationError, match="level"):
        registry.get("log").params_model.model_validate({"message": "x", "level": "loud"})
