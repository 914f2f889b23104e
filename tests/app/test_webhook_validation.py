"""Validation names a webhook trigger's problems at ``triggers[<name>].<field>``."""

from __future__ import annotations

from typing import Any

from app.validation import validate_blueprint
from main_process.nodes.registry import default_registry


def _blueprint(*triggers: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "hooked",
        "triggers": list(triggers),
        "nodes": [{"id": "a", "type": "set", "params": {"value": "{{ trigger.body }}"}}],
    }


def test_a_valid_webhook_and_the_trigger_name_in_templates() -> None:
    registry = default_registry(plugins=False)
    assert validate_blueprint(_blueprint({"kind": "webhook", "name": "go"}), registry) == []


def test_signed_hooks_need_a_secret_and_routes_are_unique() -> None:
    registry = default_registry(plugins=False)
    problems = validate_blueprint(
        _blueprint(
            {"kind": "webhook", "name": "signed", "auth": "hmac"},
            {"kind": "webhook", "name": "tok", "auth": "path_token", "path": "go"},
            {"kind": "webhook", "name": "go", "secret": "UNUSED"},
        ),
        registry,
    )
    places = {(p.where, p.code) for p in problems}
    assert places == {
        ("triggers[signed].secret", "missing"),
        ("triggers[tok].secret", "missing"),
        ("triggers[go].path", "duplicate"),
    }
