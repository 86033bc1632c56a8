"""Error bodies in the shapes Confluent's APIs answer with.

Schema Registry answers ``{"error_code": int, "message": str}``; the Flink SQL and Metrics APIs
answer ``{"errors": [{"status", "code", "title", "detail"}]}``.
"""

from __future__ import annotations

import uuid

from fastapi.responses import JSONResponse

SR_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(Exception):
    """A Schema Registry error: HTTP status plus Confluent's error code (40401, 42201, ...)."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error_code": self.error_code, "message": self.message},
            status_code=self.status,
            media_type=SR_MEDIA_TYPE,
        )


class ApiError(Exception):
    """An error of the Flink SQL or Metrics API, answered as a ``Failure`` document."""

    def __init__(self, status: int, detail: str, code: str = "", title: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.title = title

    def response(self) -> JSONResponse:
        error = {"id": str(uuid.uuid4()), "status": str(self.status), "detail": self.detail}
        if self.code:
            error["code"] = self.code
        if self.title:
            error["title"] = self.title
        return JSONResponse({"errors": [error]}, status_code=self.status)
