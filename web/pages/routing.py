"""Page routes answer in HTML: domain errors become error pages, not JSON."""

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from claims.errors import DomainError
from web.errors import status_of
from web.pages.rendering import render
from web.pages.session import BadCsrfToken, SignInRequired

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = quote(request.url.path, safe="/")
                return see_other(f"/signin?next={target}")
            except BadCsrfToken as error:
                return error_page(request, 403, str(error.detail))
            except DomainError as error:
                return error_page(request, status_of(error), error_text(error))
            except RequestValidationError as error:
                fields = ", ".join(str(e["loc"][-1]) for e in error.errors() if e.get("loc"))
                return error_page(request, 422, f"That request was not valid ({fields}).")

        return route


def see_other(url: str) -> RedirectResponse:
    """After a form: go to `url` with a GET (post, redirect, get)."""
    return RedirectResponse(url, status_code=303)


def error_text(error: DomainError) -> str:
    """A domain error in words (a list of field problems joined up)."""
    detail = error.detail
    if isinstance(detail, list):
        return "; ".join(f"{item['loc'][-1]}: {item['msg']}" for item in detail)
    return str(detail)


def error_page(request: Request, status: int, message: str) -> Response:
    titles = {403: "Not allowed", 404: "Not found", 409: "Not now", 422: "Not valid"}
    title = titles.get(status, "Something went wrong")
    context = {"title": title, "message": message, "status": status}
    return render(request, "error.html", context, status_code=status)


def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)
