"""The base of every operation's request and reply model (:mod:`app.operations` and
the modules of each family of operations it gathers)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Operation(BaseModel):
    # Built on first use: a process builds only the operations it carries.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
