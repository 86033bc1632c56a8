"""The HTTP face of the sandbox: one FastAPI app serving every API on one port, behind Basic auth."""

from __future__ import annotations

import base64
import binascii
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sandbox.errors import ApiError, SchemaRegistryError

CLOUD_API_PREFIXES = ("/sql/", "/v1/metrics/", "/v2/metrics/")
# The sandbox's own control endpoints (world, change log): not Confluent's, so not contract-checked.
SANDBOX_CONTROL_PREFIX = "/sandbox/"


def _is_cloud_api(path: str) -> bool:
    return path.startswith(CLOUD_API_PREFIXES)


def _credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _unauthorized(path: str) -> JSONResponse:
    if _is_cloud_api(path) or path.startswith(SANDBOX_CONTROL_PREFIX):
        response = ApiError(
            401,
            "Valid authentication credentials must be provided",
            code="user_unauthenticated",
            title="Authentication Required",
        ).response()
    else:
        # The spec answers Schema Registry's 401 as plain application/json with code 401.
        response = JSONResponse({"error_code": 401, "message": "Unauthorized"}, status_code=401)
    response.headers["WWW-Authenticate"] = 'Basic realm="confluent-sandbox"'
    return response


def create_app(sandbox) -> FastAPI:  # noqa: ANN001 - sandbox.server.Sandbox, imported lazily
    """Build the app over a running :class:`sandbox.server.Sandbox`."""
    app = FastAPI(title="Confluent Cloud sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = sandbox
    expected = (sandbox.config.api_key, sandbox.config.api_secret)

    @app.middleware("http")
    async def basic_auth(request: Request, call_next):  # noqa: ANN001, ANN202
        given = _credentials(request)
        if given is None or not (
            secrets.compare_digest(given[0], expected[0])
            and secrets.compare_digest(given[1], expected[1])
        ):
            return _unauthorized(request.url.path)
        return await call_next(request)

    @app.exception_handler(SchemaRegistryError)
    async def _sr_error(_: Request, exc: SchemaRegistryError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _is_cloud_api(request.url.path):
            return ApiError(400, f"Invalid request: {exc.errors()}", code="invalid_request").response()
        return SchemaRegistryError(422, 42200, f"Invalid request: {exc.errors()}").response()

    if sandbox.config.contracts_dir is not None:
        from sandbox.contracts import ContractValidator

        validator = ContractValidator(
            sandbox.config.contracts_dir, sandbox.config.data_dir / "contract-violations.jsonl"
        )
        validator.preload()

        @app.middleware("http")
        async def check_contract(request: Request, call_next):  # noqa: ANN001, ANN202
            if request.url.path.startswith(SANDBOX_CONTROL_PREFIX):
                return await call_next(request)
            body = await request.body()
            response = await call_next(request)
            response_body = b"".join([chunk async for chunk in response.body_iterator])
            await run_in_threadpool(
                validator.check,
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                headers=dict(request.headers),
                body=body,
                status=response.status_code,
                response_body=response_body,
                response_content_type=response.headers.get("content-type", ""),
            )
            return Response(
                response_body,
                status_code=response.status_code,
                headers=dict(response.headers),
                media_type=response.media_type,
            )

    for router in sandbox.routers():
        app.include_router(router)
    return app
