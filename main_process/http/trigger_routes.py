"""The trigger routes of ``conductor serve``: list, enable/disable/suspend, fire
now, and held fires. Like every route but health, they need the bearer token
(:class:`~main_process.http.auth.RequestGuard` guards the whole app).

``/v1/triggers/{trigger_id}/...``: a trigger id is ``<blueprint_id>:<name>``; a
client quotes it as one path segment.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import TypeAdapter
from starlette.responses import Response

from app.triggers import FireInfo, HeldAction, HeldFire, TriggerInfo, TriggerState
from main_process.engine.engine import Engine
from main_process.http.errors import ErrorBody
from main_process.http.schema import known_query_only

_JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 500)
}
_TRIGGERS: TypeAdapter[list[TriggerInfo]] = TypeAdapter(list[TriggerInfo])
_HELD: TypeAdapter[list[HeldFire]] = TypeAdapter(list[HeldFire])


def _json(data: bytes | str) -> Response:
    return Response(data, 200, media_type=_JSON)


def trigger_routes(engine: Engine) -> APIRouter:
    """The ``/v1/triggers`` and ``/v1/held-fires`` routes over one engine."""
    r = APIRouter(
        prefix="/v1",
        responses=_ERRORS,
        tags=["triggers"],
        dependencies=[Depends(known_query_only)],
    )

    @r.get("/triggers", response_model=list[TriggerInfo])
    async def list_triggers() -> Response:
        return _json(_TRIGGERS.dump_json(await engine.triggers.list()))

    async def _set(trigger_id: str, state: TriggerState) -> Response:
        return _json((await engine.triggers.set_state(trigger_id, state)).model_dump_json())

    @r.post("/triggers/{trigger_id}/enable", response_model=TriggerInfo)
    async def enable(trigger_id: str) -> Response:
        return await _set(trigger_id, TriggerState.ENABLED)

    @r.post("/triggers/{trigger_id}/disable", response_model=TriggerInfo)
    async def disable(trigger_id: str) -> Response:
        return await _set(trigger_id, TriggerState.DISABLED)

    @r.post("/triggers/{trigger_id}/suspend", response_model=TriggerInfo)
    async def suspend(trigger_id: str) -> Response:
        return await _set(trigger_id, TriggerState.SUSPENDED)

    @r.post("/triggers/{trigger_id}/fire", response_model=FireInfo)
    async def fire(trigger_id: str) -> Response:
        return _json((await engine.triggers.fire(trigger_id)).model_dump_json())

    @r.get("/held-fires", response_model=list[HeldFire])
    async def held_fires(
        trigger_id: Annotated[str | None, Query(max_length=300)] = None,
    ) -> Response:
        return _json(_HELD.dump_json(await engine.triggers.held(trigger_id)))

    @r.post("/held-fires/{held_id}/{action}", response_model=FireInfo)
    async def settle(held_id: Annotated[int, Path(ge=1, le=2**62)], action: HeldAction) -> Response:
        return _json((await engine.triggers.settle_held(held_id, action)).model_dump_json())

    return r
