"""The base of every operation's request and reply model (:mod:`app.operations` and
the modules of each family of operations it gathers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

#: How a family of operations (``conductor.triggers``, ``.secrets``, ``.subflows``)
#: asks through its conductor: ``ask(request, reply_type)`` returns the transport's
#: reply, checked to be a ``reply_type`` (:meth:`app.api.Conductor._ask`).
Ask = Callable[[Any, type[Any]], Awaitable[Any]]


class Operation(BaseModel):
    # Built on first use: a process builds only the operations it carries.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
