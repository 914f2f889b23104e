"""The tally every fuzz target keeps: what was tried, and what went wrong, by kind.

The result is a plain dict (JSON-ready) so a benchmark can print it as it is and a
test can assert its counts are zero; the first few failures are kept as sentences,
enough to start debugging without flooding a report.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

#: How many failure descriptions a result keeps.
MAX_FAILURES = 20


class Figures:
    """Counts for one fuzz target."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.cases = 0
        self.labels: Counter[str] = Counter()
        self.crashes = 0
        self.hangs = 0
        self.untyped_errors = 0
        self.wrong_answers = 0
        self.failures: list[str] = []
        #: Remarks that are not failures (an operation hypothesis could not generate for).
        self.notes: list[str] = []

    def tried(self, label: str) -> None:
        self.cases += 1
        self.labels[label.split("+", maxsplit=1)[0]] += 1

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_FAILURES:
            self.notes.append(text)

    def _failure(self, text: str) -> None:
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(text)

    def crash(self, text: str) -> None:
        self.crashes += 1
        self._failure(f"crash: {text}")

    def hang(self, text: str) -> None:
        self.hangs += 1
        self._failure(f"hang: {text}")

    def untyped(self, text: str) -> None:
        self.untyped_errors += 1
        self._failure(f"untyped: {text}")

    def fail(self, text: str) -> None:
        self.wrong_answers += 1
        self._failure(f"wrong: {text}")

    @property
    def bad(self) -> int:
        return self.crashes + self.hangs + self.untyped_errors + self.wrong_answers

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "target": self.target,
            "cases": self.cases,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "untyped_errors": self.untyped_errors,
            "wrong_answers": self.wrong_answers,
            **extra,
            "by_label": dict(sorted(self.labels.items())),
            "failures": list(self.failures),
            "notes": list(self.notes),
        }
