"""Confluent's Flink SQL statements API (``confluent-flink-sql-v1.openapi.yaml``) over :class:`FlinkService`."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from sandbox.errors import ApiError
from sandbox.flink.service import FlinkService

router = APIRouter(prefix="/sql/v1/organizations/{organization_id}/environments/{environment_id}")


def _service(request: Request, organization_id: str, environment_id: str) -> FlinkService:
    service: FlinkService = request.app.state.sandbox.flink
    config = service.config
    if organization_id != config.organization_id or environment_id != config.environment_id:
        raise ApiError(404, f"Environment '{environment_id}' of organization '{organization_id}' was not found "
                       f"(this sandbox is {config.organization_id} / {config.environment_id}).",
                       code="not_found", title="Not Found")
    return service


async def _json(request: Request) -> object:
    try:
        return json.loads(await request.body() or b"null")
    except json.JSONDecodeError as err:
        raise ApiError(400, f"The request body is not JSON: {err}", code="bad_request", title="Bad Request") from None


@router.post("/statements", status_code=201)
async def create_statement(request: Request, organization_id: str, environment_id: str) -> JSONResponse:
    service = _service(request, organization_id, environment_id)
    body = await _json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a Statement object.", code="bad_request", title="Bad Request")
    from starlette.concurrency import run_in_threadpool

    resource = await run_in_threadpool(service.create, body)
    return JSONResponse(resource, status_code=201, headers={"Location": resource["metadata"]["self"]})


@router.get("/statements")
def list_statements(
    request: Request,
    organization_id: str,
    environment_id: str,
    page_size: int = Query(10, ge=1, le=100),
    page_token: str | None = Query(None, max_length=255),
    compute_pool: str | None = Query(None, alias="spec.compute_pool_id"),
    label_selector: str | None = Query(None),
    name_search: str | None = Query(None, alias="statement_name_search_query"),
    time_ordered: str | None = Query(None),
) -> dict:
    """``statement_name_search_query`` and ``time_ordered`` are not in the published contract;
    Confluent's own driver sends them (its docs: the name search is a case-sensitive substring match
    that the server applies only together with ``time_ordered=true``), and so does the sandbox."""
    service = _service(request, organization_id, environment_id)
    name_contains = name_search if (time_ordered or "").lower() == "true" else None
    data, next_token = service.list(page_size, page_token, compute_pool, label_selector, name_contains)
    url = service.statement_url()
    metadata = {"self": url}
    if next_token is not None:
        params = {"page_size": page_size, "page_token": next_token}
        if compute_pool:
            params["spec.compute_pool_id"] = compute_pool
        if label_selector:
            params["label_selector"] = label_selector
        if name_contains:
            params.update(statement_name_search_query=name_contains, time_ordered="true")
        metadata["next"] = f"{url}?{urlencode(params)}"
    return {"api_version": "sql/v1", "kind": "StatementList", "metadata": metadata, "data": data}


@router.get("/statements/{statement_name}")
def get_statement(request: Request, organization_id: str, environment_id: str, statement_name: str) -> dict:
    return _service(request, organization_id, environment_id).get(statement_name)


@router.put("/statements/{statement_name}", status_code=202)
async def update_statement(request: Request, organization_id: str, environment_id: str,
                           statement_name: str) -> JSONResponse:
    service = _service(request, organization_id, environment_id)
    body = await _json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a Statement object.", code="bad_request", title="Bad Request")
    from starlette.concurrency import run_in_threadpool

    return JSONResponse(await run_in_threadpool(service.update, statement_name, body), status_code=202)


@router.patch("/statements/{statement_name}")
async def patch_statement(request: Request, organization_id: str, environment_id: str, statement_name: str) -> dict:
    service = _service(request, organization_id, environment_id)
    body = await _json(request)
    if not isinstance(body, list) or not all(isinstance(o, dict) for o in body):
        raise ApiError(400, "The request body must be a JSON Patch array.", code="bad_request", title="Bad Request")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(service.patch, statement_name, body)


@router.delete("/statements/{statement_name}", status_code=202)
def delete_statement(request: Request, organization_id: str, environment_id: str, statement_name: str) -> Response:
    _service(request, organization_id, environment_id).delete(statement_name)
    return Response(status_code=202)


@router.get("/statements/{name}/results")
def statement_results(
    request: Request,
    organization_id: str,
    environment_id: str,
    name: str,
    page_token: str | None = Query(None, max_length=255),
) -> dict:
    service = _service(request, organization_id, environment_id)
    rows, next_token = service.results(name, page_token)
    url = f"{service.statement_url(name)}/results"
    metadata = {"self": url, "next": f"{url}?{urlencode({'page_token': next_token})}" if next_token is not None else ""}
    # The contract's StatementResult also lists a top-level ``data`` as required; clients read ``results.data``.
    return {"api_version": "sql/v1", "kind": "StatementResult", "metadata": metadata,
            "results": {"data": rows}, "data": rows}


@router.get("/statements/{statement_name}/exceptions")
def statement_exceptions(request: Request, organization_id: str, environment_id: str, statement_name: str) -> dict:
    service = _service(request, organization_id, environment_id)
    data = [{"kind": "StatementException", **e} for e in service.exceptions(statement_name)]
    return {"api_version": "sql/v1", "kind": "StatementExceptionList",
            "metadata": {"self": f"{service.statement_url(statement_name)}/exceptions"}, "data": data}
