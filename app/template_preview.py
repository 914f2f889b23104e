"""What a template renders to against a past run's data: the node editor's live preview.

The GUI never renders templates itself (the worker owns the sandbox and its bounds);
it asks the ``preview_template`` operation with the template text and, optionally,
the execution and node whose data to render against. The reply says what the value
is (JSON, shortened for showing) or why it cannot render, naming where.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Characters of the rendered value a preview shows (the rest is cut, and says so).
PREVIEW_CHARS = 4000
#: The longest template a preview accepts (a param this long is not typed by hand).
MAX_PREVIEW_TEMPLATE = 100_000


class TemplatePreview(BaseModel):
    """The rendered value (``ok``), or the error that stops it (``error`` and ``where``)."""

    model_config = ConfigDict(defer_build=True)

    ok: bool
    #: The value as JSON text (shortened to PREVIEW_CHARS), or "" when not ok.
    text: str = ""
    #: The value's type as a user reads it: string, number, list, object, …
    kind: str = ""
    truncated: bool = False
    error: str | None = None
    where: str | None = None
    #: Names the template could use that the context had (for autocomplete).
    scope: list[str] = Field(default_factory=list)


def kind_of(value: Any) -> str:
    """A user's word for a JSON value's type."""
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list() | tuple():
            return "list"
        case dict():
            return "object"
        case _:
            return type(value).__name__
