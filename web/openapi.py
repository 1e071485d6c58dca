"""The OpenAPI description, corrected where FastAPI cannot tell: optional bearer tokens.

FastAPI lists the bearer scheme as required on every route that reads a token, also where the
token is optional (public routes that only show the caller their own forecast). Those routes
get `security: [{}, {"HTTPBearer": []}]`, OpenAPI's way of saying "with or without". And every
operation that takes a body may get the 413 of `web/limits.py`.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from web.deps import current_principal, optional_principal

TOO_LARGE = {
    "description": "Request body too large",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorModel"}}},
}


def reads(route: APIRoute, call: Any) -> bool:
    """Whether `call` is among the route's dependencies, however deep."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        if dependency.call is call:
            return True
        stack.extend(dependency.dependencies)
    return False


def token_optional(route: APIRoute) -> bool:
    """Whether the route reads a bearer token without requiring one."""
    return reads(route, optional_principal) and not reads(route, current_principal)


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for operations in schema["paths"].values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("413", TOO_LARGE)
            for context in iter_route_contexts(app.routes):
                route = context.original_route
                if not isinstance(route, APIRoute) or not route.include_in_schema:
                    continue
                if not token_optional(route) or context.path is None:
                    continue
                for method in route.methods or ():
                    operation = schema["paths"].get(context.path, {}).get(method.lower())
                    if operation is not None and operation.get("security"):
                        operation["security"] = [{}, *operation["security"]]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
