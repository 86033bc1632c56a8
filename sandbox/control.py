"""The sandbox's own control endpoints under ``/sandbox/v1/`` (not Confluent's; not contract-checked).

- ``GET  /sandbox/v1/world[?tables=false]``: the world's status (rows per table, pipelines, changes made
  and applied); ``tables=false`` skips counting rows (cheap enough to poll).
- ``GET  /sandbox/v1/world/changes?since=<seq>&limit=<n>``: the change log after ``seq``.
- ``POST /sandbox/v1/world/pause`` and ``/resume``: hold and restart the change generator.
- ``POST /sandbox/v1/world/rate?changes_per_second=<n>``: change the generator's rate.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from sandbox.errors import ApiError

router = APIRouter(prefix="/sandbox/v1")


def _world(request: Request):  # noqa: ANN202 - sandbox.world.encarta.EncartaWorld
    world = getattr(request.app.state.sandbox, "world", None)
    if world is None:
        raise ApiError(404, "This sandbox runs without a world; start it with --world encarta",
                       code="not_found", title="Not Found")
    return world


@router.get("/world")
def world_status(request: Request, tables: bool = Query(True, description="count each table's rows")) -> dict:
    return _world(request).status(count_rows=tables)


@router.get("/world/changes")
def world_changes(
    request: Request,
    since: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10_000),
) -> dict:
    changes = _world(request).change_log.since(since, limit)
    return {
        "data": [c.as_json() for c in changes],
        "last_seq": changes[-1].seq if changes else since,
    }


def _generator(request: Request):  # noqa: ANN202 - sandbox.world.changes.ChangeGenerator
    world = _world(request)
    if world.generator is None:
        raise ApiError(409, f"The world is {world.state}; its change generator is not running yet",
                       code="conflict", title="Conflict")
    return world.generator


@router.post("/world/pause")
def pause_world(request: Request) -> dict:
    _generator(request).pause()
    return _world(request).status(count_rows=False)


@router.post("/world/resume")
def resume_world(request: Request) -> dict:
    _generator(request).resume()
    return _world(request).status(count_rows=False)


@router.post("/world/rate")
def set_rate(request: Request, changes_per_second: float = Query(..., ge=0, le=10_000)) -> dict:
    _generator(request).changes_per_second = changes_per_second
    return _world(request).status(count_rows=False)
