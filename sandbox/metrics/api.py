"""``POST /v2/metrics/{dataset}/query`` of Confluent's Metrics API (dataset ``cloud``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request

from sandbox.errors import ApiError
from sandbox.metrics.query import query

router = APIRouter(prefix="/v2/metrics")


@router.post("/{dataset}/query")
async def query_metrics(request: Request, dataset: str) -> dict:
    if dataset != "cloud":
        raise ApiError(404, f"Dataset '{dataset}' not found (the sandbox serves 'cloud').", code="not_found")
    try:
        body = json.loads(await request.body() or b"null")
    except json.JSONDecodeError as err:
        raise ApiError(400, f"The request body is not JSON: {err}", code="bad_request") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a query object.", code="bad_request")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(query, request.app.state.sandbox.metrics, body)
