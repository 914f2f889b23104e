"""The seed's own SimpleExecutor suite (``simpleExecutor.test.ts``), translated to pytest.

Source: Develonaut/atomiton at the parent of 2783d909,
``packages/@atomiton/conductor/src/__tests__/simpleExecutor.test.ts`` ("SimpleExecutor -
Karen approved minimal approach"). One test per seed test, same name in snake_case,
the seed's name in a comment. ``undefined`` is None; ``setTimeout`` is
``asyncio.sleep``; the timed test keeps the seed's bound (50 ms).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from app import create_simple_node
from main_process import SimpleExecutor


# it("should execute a single node blueprint")
async def test_should_execute_a_single_node_blueprint() -> None:
    executor = SimpleExecutor()

    async def add_one(input: Any) -> Any:
        return input + 1

    add_one_node = create_simple_node("add-one", "math", add_one)
    blueprint = {"id": "simple-add", "nodes": [add_one_node]}

    result = await executor.execute_blueprint(blueprint, 5)

    assert result.success is True
    assert result.outputs == 6
    assert result.error is None


# it("should execute multiple nodes sequentially")
async def test_should_execute_multiple_nodes_sequentially() -> None:
    executor = SimpleExecutor()

    async def double(input: Any) -> Any:
        return input * 2

    async def add_ten(input: Any) -> Any:
        return input + 10

    blueprint = {
        "id": "multi-node",
        "nodes": [
            create_simple_node("double", "math", double),
            create_simple_node("add-ten", "math", add_ten),
        ],
    }

    # Start with 5 -> double -> 10 -> add 10 -> 20
    result = await executor.execute_blueprint(blueprint, 5)

    assert result.success is True
    assert result.outputs == 20


# it("should handle node errors gracefully")
async def test_should_handle_node_errors_gracefully() -> None:
    executor = SimpleExecutor()

    async def fail(input: Any) -> Any:
        raise Exception("Node failed intentionally")

    blueprint = {"id": "failing-blueprint", "nodes": [create_simple_node("fail", "error", fail)]}

    result = await executor.execute_blueprint(blueprint, "test")

    assert result.success is False
    assert result.error == "Node failed intentionally"
    assert result.outputs is None


# it("should process string data through nodes")
async def test_should_process_string_data_through_nodes() -> None:
    executor = SimpleExecutor()

    async def upper_case(input: Any) -> Any:
        return input.upper()

    async def add_exclamation(input: Any) -> Any:
        return input + "!"

    blueprint = {
        "id": "text-processing",
        "nodes": [
            create_simple_node("uppercase", "text", upper_case),
            create_simple_node("exclaim", "text", add_exclamation),
        ],
    }

    result = await executor.execute_blueprint(blueprint, "hello world")

    assert result.success is True
    assert result.outputs == "HELLO WORLD!"


# it("should work with complex objects")
async def test_should_work_with_complex_objects() -> None:
    executor = SimpleExecutor()

    async def add_field(input: Any) -> Any:
        return {**input, "processed": True, "timestamp": datetime.now(UTC).isoformat()}

    blueprint = {
        "id": "object-processing",
        "nodes": [create_simple_node("add-field", "transform", add_field)],
    }

    input_data = {"name": "test", "value": 42}
    result = await executor.execute_blueprint(blueprint, input_data)

    assert result.success is True
    assert result.outputs["name"] == "test"
    assert result.outputs["value"] == 42
    assert result.outputs["processed"] is True
    assert result.outputs["timestamp"] is not None


# it("should handle async node operations")
async def test_should_handle_async_node_operations() -> None:
    executor = SimpleExecutor()

    async def delay(input: Any) -> Any:
        # Simulate async operation
        await asyncio.sleep(0.010)
        return f"Delayed: {input}"

    blueprint = {"id": "async-test", "nodes": [create_simple_node("delay", "utility", delay)]}

    result = await executor.execute_blueprint(blueprint, "test input")

    assert result.success is True
    assert result.outputs == "Delayed: test input"


# it("should execute HTTP-like workflow pattern")
async def test_should_execute_http_like_workflow_pattern() -> None:
    executor = SimpleExecutor()

    # Simulate n8n/Zapier style HTTP -> JSON -> Process pattern
    async def http(input: Any) -> Any:
        return {"status": 200, "data": f'{{"message": "Hello", "input": "{input}"}}'}

    async def json_parse(input: Any) -> Any:
        return json.loads(input["data"])

    async def process(input: Any) -> Any:
        return {
            "result": f"{input['message']} from {input['input']}",
            "processed_at": datetime.now(UTC).isoformat(),
        }

    blueprint = {
        "id": "http-workflow",
        "nodes": [
            create_simple_node("http", "request", http),
            create_simple_node("json", "parser", json_parse),
            create_simple_node("process", "transform", process),
        ],
    }

    result = await executor.execute_blueprint(blueprint, "webhook")

    assert result.success is True
    assert result.outputs["result"] == "Hello from webhook"
    assert result.outputs["processed_at"] is not None


# it("should demonstrate n8n competitive performance pattern")
async def test_should_demonstrate_n8n_competitive_performance_pattern() -> None:
    executor = SimpleExecutor()

    # Create nodes that simulate real-world processing times
    async def fetch(input: Any) -> Any:
        await asyncio.sleep(0.005)  # Simulate 5ms network
        return {"data": f"fetched-{input}"}

    async def validate(input: Any) -> Any:
        await asyncio.sleep(0.002)  # Simulate 2ms validation
        return {**input, "valid": True}

    async def transform(input: Any) -> Any:
        await asyncio.sleep(0.003)  # Simulate 3ms transform
        return {"result": f"transformed-{json.dumps(input)}"}

    nodes = [
        create_simple_node("fetch", "http", fetch),
        create_simple_node("validate", "logic", validate),
        create_simple_node("transform", "data", transform),
    ]
    blueprint = {"id": "performance-test", "nodes": nodes}

    start_time = time.perf_counter()
    result = await executor.execute_blueprint(blueprint, "test")
    end_time = time.perf_counter()

    assert result.success is True
    assert (end_time - start_time) * 1000 < 50  # Should complete in <50ms
    assert "transformed" in result.outputs["result"]
