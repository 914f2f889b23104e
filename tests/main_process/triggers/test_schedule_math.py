"""Schedules in time, and the typed problems of triggers that cannot run."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.automation_spec import ScheduleTrigger
from app.blueprint import Blueprint
from app.validation import validate_blueprint
from main_process.nodes.registry import default_registry
from main_process.triggers.schedule import due_between, next_after


def _ts(text: str, zone: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_every_keeps_its_phase_from_the_anchor() -> None:
    spec = ScheduleTrigger(name="t", every=10)
    assert next_after(spec, 105.0, 100.0) == 110.0
    assert next_after(spec, 110.0, 100.0) == 120.0
    due = due_between(spec, 100.0, 135.0, limit=2)
    assert due.times == [120.0, 130.0]
    assert due.total == 3


def test_cron_is_read_in_its_time_zone_across_a_dst_change() -> None:
    spec = ScheduleTrigger(name="t", cron="0 9 * * *", timezone="Europe/Paris")
    before = _ts("2026-03-28T10:00:00", "Europe/Paris")
    first = next_after(spec, before, before)
    assert first == _ts("2026-03-29T09:00:00", "Europe/Paris")  # after the spring change
    assert first - before == 22 * 3600  # 23 wall-clock hours, one of them skipped
    due = due_between(spec, before, first + 86400, limit=5)
    assert due.total == 2
    assert due.times[-1] == _ts("2026-03-30T09:00:00", "Europe/Paris")


def test_cron_missed_fires_are_bounded_but_counted() -> None:
    spec = ScheduleTrigger(name="t", cron="* * * * *")
    anchor = _ts("2026-01-01T00:00:00", "UTC")
    due = due_between(spec, anchor, anchor + 3600, limit=5)
    assert len(due.times) == 5
    assert due.total == 60
    assert due.times[-1] == anchor + 3600


def _problems(triggers: list[dict[str, object]]) -> dict[str, str]:
    bp = Blueprint.model_validate(
        {
            "id": "b",
            "nodes": [{"id": "n", "type": "set", "params": {"value": 1}}],
            "triggers": triggers,
        }
    )
    return {p.where: p.message for p in validate_blueprint(bp, default_registry(plugins=False))}


@pytest.mark.parametrize(
    ("trigger", "where", "text"),
    [
        (
            {"kind": "schedule", "name": "a", "cron": "61 * * * *"},
            "triggers[a].cron",
            "invalid cron",
        ),
        (
            {"kind": "schedule", "name": "a", "every": 5, "timezone": "Mars/Base"},
            "triggers[a].timezone",
            "unknown time zone",
        ),
        (
            {"kind": "schedule", "name": "a", "every": 5, "cron": "* * * * *"},
            "triggers[a].cron",
            "exactly one",
        ),
        ({"kind": "schedule", "name": "a"}, "triggers[a].cron", "exactly one"),
        (
            {"kind": "file", "name": "f", "folder": "in", "glob": "../*.csv"},
            "triggers[f].glob",
            "inside the folder",
        ),
        ({"kind": "file", "name": "f", "folder": "in", "glob": ""}, "triggers[f].glob", "empty"),
    ],
)
def test_a_trigger_that_cannot_run_is_a_problem_naming_its_field(
    trigger: dict[str, object], where: str, text: str
) -> None:
    problems = _problems([trigger])
    assert where in problems, problems
    assert text in problems[where]


def test_valid_triggers_have_no_problems() -> None:
    assert (
        _problems(
            [
                {
                    "kind": "schedule",
                    "name": "a",
                    "cron": "*/5 9-17 * * 1-5",
                    "timezone": "America/New_York",
                },
                {"kind": "schedule", "name": "b", "every": 0.5},
                {
                    "kind": "file",
                    "name": "c",
                    "folder": "inbox",
                    "glob": "**/*.csv",
                    "recursive": True,
                },
            ]
        )
        == {}
    )


def test_duplicate_names_are_a_problem() -> None:
    problems = _problems(
        [
            {"kind": "schedule", "name": "a", "every": 1},
            {"kind": "schedule", "name": "a", "every": 2},
        ]
    )
    assert "duplicate" in problems["triggers[a].name"]


def test_a_trigger_input_the_blueprint_does_not_declare_is_a_problem() -> None:
    bp = Blueprint.model_validate(
        {
            "id": "b",
            "inputs": {"limit": {"type": "integer", "default": 1}},
            "nodes": [{"id": "n", "type": "set", "params": {"value": 1}}],
            "triggers": [{"kind": "schedule", "name": "a", "every": 5, "inputs": {"limt": 3}}],
        }
    )
    problems = {p.where: p.message for p in validate_blueprint(bp, default_registry(plugins=False))}
    assert "unknown input 'limt'" in problems["triggers[a].inputs.limt"]
