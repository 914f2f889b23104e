"""Node types for renderer tests, described by JSON schemas as the engine would send them."""

from __future__ import annotations

from typing import Any

from app.results import NodeTypeInfo


def _schema(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": required or [],
        **extra,
    }


def sample_node_types() -> list[NodeTypeInfo]:
    """A small catalog shaped like the built-ins: ports, dynamic ports, $ref, anyOf-null."""
    return [
        NodeTypeInfo(
            type="http.request",
            title="HTTP request",
            category="HTTP",
            description="Send an HTTP request.",
            params_schema=_schema(
                {
                    "url": {"type": "string", "minLength": 1, "title": "URL"},
                    "method": {"$ref": "#/$defs/Method", "default": "GET"},
                    "timeout": {
                        "anyOf": [
                            {"type": "number", "minimum": 0, "maximum": 600},
                            {"type": "null"},
                        ],
                        "default": None,
                        "title": "Timeout",
                    },
                    "headers": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "title": "Headers",
                    },
                    "raise_for_status": {"type": "boolean", "default": True},
                },
                ["url"],
                **{
                    "$defs": {
                        "Method": {"enum": ["GET", "POST", "PUT", "DELETE"], "type": "string"}
                    }
                },
            ),
        ),
        NodeTypeInfo(
            type="json.transform",
            title="JSON transform",
            category="Data",
            params_schema=_schema(
                {"expression": {"type": "string", "minLength": 1, "title": "Expression"}},
                ["expression"],
            ),
        ),
        NodeTypeInfo(
            type="set",
            title="Set value",
            category="Data",
            params_schema=_schema({"value": {"default": None, "title": "Value"}}),
        ),
        NodeTypeInfo(
            type="if",
            title="If",
            category="Flow",
            params_schema=_schema({"condition": {"title": "Condition"}}, ["condition"]),
            ports=["true", "false"],
        ),
        NodeTypeInfo(
            type="switch",
            title="Switch",
            category="Flow",
            params_schema=_schema(
                {
                    "value": {"default": None, "title": "Value"},
                    "cases": {"type": "array", "items": {"type": "string"}, "title": "Cases"},
                }
            ),
            dynamic_ports=True,
        ),
        NodeTypeInfo(
            type="merge",
            title="Merge",
            category="Flow",
            params_schema=_schema(
                {"mode": {"enum": ["object", "list"], "type": "string", "default": "object"}}
            ),
        ),
        NodeTypeInfo(
            type="delay",
            title="Delay",
            category="Flow",
            params_schema=_schema(
                {"seconds": {"type": "number", "minimum": 0, "default": 1.0, "title": "Seconds"}}
            ),
        ),
        NodeTypeInfo(
            type="log",
            title="Log",
            category="Flow",
            params_schema=_schema(
                {
                    "message": {"default": None, "title": "Message"},
                    "level": {"enum": ["debug", "info", "warning", "error"], "default": "info"},
                    "count": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                }
            ),
        ),
        NodeTypeInfo(
            type="sqlite.write",
            title="SQLite write",
            category="Files/SQL",
            params_schema=_schema(
                {
                    "database": {"type": "string", "minLength": 1},
                    "table": {"type": "string", "minLength": 1},
                },
                ["database", "table"],
            ),
            runner="thread",
        ),
        NodeTypeInfo(
            type="python.function",
            title="Python function",
            category="Code",
            params_schema=_schema({"function": {"type": "string"}}, ["function"]),
        ),
    ]
