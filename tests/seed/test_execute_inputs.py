"""``execute(..., inputs=...)``: ``None`` means no inputs, a mapping is used as it is,
and anything else (``0``, ``""`` and ``[]`` included) is a ConfigError naming
``inputs`` — on every transport, in the engine itself, and from raw HTTP requests."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from app import Conductor
from app.errors import ConfigError
from main_process.engine.engine import Engine
from tests.main_process.http_harness import AUTH, assert_error, running_server

NOT_MAPPINGS: list[Any] = [0, "", [], 5, "text", [1, 2], 1.5, False, ("a", 1)]


def echo() -> dict[str, Any]:
    """One node whose output is its input: the blueprint's inputs."""
    return {
        "id": "echo",
        "nodes": [{"id": "a", "type": "json.transform", "params": {"expression": "@"}}],
    }


@pytest.mark.parametrize("bad", NOT_MAPPINGS, ids=repr)
async def test_a_non_mapping_is_a_config_error_naming_inputs(
    any_conductor: Conductor, bad: Any
) -> None:
    with pytest.raises(ConfigError) as execute_error:
        await any_conductor.execute(blueprint=echo(), inputs=bad)
    assert execute_error.value.where == "inputs"
    with pytest.raises(ConfigError) as start_error:
        await any_conductor.start(blueprint=echo(), inputs=bad)
    assert start_error.value.where == "inputs"
    assert await any_conductor.list_executions() == []  # nothing started


async def test_none_means_no_inputs_and_a_falsy_mapping_stays_itself(
    any_conductor: Conductor,
) -> None:
    for given, expected in [
        (None, {}),
        ({}, {}),
        (MappingProxyType({}), {}),
        ({"n": 0}, {"n": 0}),
        (MappingProxyType({"s": ""}), {"s": ""}),
    ]:
        result = await any_conductor.execute(blueprint=echo(), inputs=given)
        assert result.success, result.error
        assert result.outputs == expected
        assert result.inputs == expected


@pytest.mark.parametrize("bad", [0, "", [], 7], ids=repr)
async def test_the_engine_refuses_a_non_mapping_too(home: Path, bad: Any) -> None:
    engine = Engine(home, plugins=False)
    try:
        with pytest.raises(ConfigError) as error:
            await engine.execute(blueprint=echo(), inputs=bad)
        assert error.value.where == "inputs"
        assert (await engine.execute(blueprint=echo(), inputs=None)).outputs == {}
    finally:
        await engine.close()


async def test_raw_http_requests_with_a_non_mapping_are_refused(home: Path) -> None:
    engine = Engine(home, plugins=False)
    try:
        async with (
            running_server(engine) as url,
            httpx.AsyncClient(base_url=url, headers=AUTH) as client,
        ):
            for bad in (0, "", [], 3, "x"):
                body = {"blueprint": echo(), "inputs": bad, "wait": True}
                response = await client.post("/v1/executions", json=body)
                error = assert_error(response, 422, "ConfigError")
                assert error["where"] == "inputs"
            body = {"blueprint": echo(), "inputs": {}, "wait": True}
            response = await client.post("/v1/executions", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"] == {}
    finally:
        await engine.close()
