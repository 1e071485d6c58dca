"""Domain exceptions and validation failures -> HTTP responses, in one place."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from claims.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooMany
from forecasts.submit.service import TokenRevoked
from web.deps import Unauthenticated


class ErrorModel(BaseModel):
    detail: Any


STATUS_OF: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (TokenRevoked, 401),
    (Unauthenticated, 401),
    (Conflict, 409),
    (Invalid, 422),
    (TooMany, 429),
]


def status_of(error: DomainError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def error_headers(status: int) -> dict[str, str]:
    """Headers every error answer with this status carries."""
    return {"WWW-Authenticate": "Bearer"} if status == 401 else {}


def error_response(error: DomainError) -> JSONResponse:
    status = status_of(error)
    headers = error_headers(status) or None
    return JSONResponse({"detail": error.detail}, status_code=status, headers=headers)


def _safe(value: Any) -> Any:
    """Text that can always be encoded (client input may hold lone surrogates)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """pydantic's errors without the echoed input: field location, reason and type only."""
    return [
        {
            "loc": [_safe(part) for part in error.get("loc", ())],
            "msg": _safe(error.get("msg", "invalid")),
            "type": error.get("type", "value_error"),
        }
        for error in errors
    ]


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return error_response(error)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": validation_detail(error.errors())}, status_code=422)


# FastAPI's answer to a body it cannot decode (not UTF-8, say): bad input, so a 422 like the rest
_UNREADABLE_BODY = "There was an error parsing the body"


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.detail == _UNREADABLE_BODY:
        detail = [{"loc": ["body"], "msg": "the body is not UTF-8 JSON", "type": "json_invalid"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return JSONResponse(
        {"detail": error.detail},
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error responses a route can give."""
    text = {
        401: "No token, or a bad or revoked one",
        403: "The token's role does not allow this",
        404: "No such resource",
        409: "Conflicts with the state of the record",
        413: "Request body too large",
        422: "Invalid input: `detail` names the field and the reason",
        429: "Too many submissions: see Retry-After",
    }
    return {code: {"description": text[code], "model": ErrorModel} for code in codes}
