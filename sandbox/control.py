"""The sandbox's own control endpoints under ``/sandbox/v1/`` (not Confluent's; not contract-checked).

- ``GET  /sandbox/v1/world``: the world's status (tables, pipelines, changes made and applied).
- ``GET  /sandbox/v1/world/changes?since=<seq>&limit=<n>``: the change log after ``seq``.
- ``POST /sandbox/v1/world/pause`` and ``/resume``: hold and restart the change generator.
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
def world_status(request: Request) -> dict:
    return _world(request).status()


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
    return _world(request).status()


@router.post("/world/resume")
def resume_world(request: Request) -> dict:
    _generator(request).resume()
    return _world(request).status()
