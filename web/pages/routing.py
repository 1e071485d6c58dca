"""Page routes answer in HTML: domain errors become error pages, not JSON."""

from collections.abc import Callable, Coroutine, Iterable, Mapping
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
                problems = plain_problems(error.errors())
                return error_page(request, 422, f"That request was not valid. {problems}")

        return route


def see_other(url: str) -> RedirectResponse:
    """After a form: go to `url` with a GET (post, redirect, get)."""
    return RedirectResponse(url, status_code=303)


# pydantic's words for a ValueError or an assertion in a validator, not meant for people
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")
# where in the request a field was sent: the page's own field names say enough
_PLACES = frozenset({"body", "query", "path"})
# pydantic's words that people cannot act on; SLUG_PATTERN is the only pattern fields have
_PLAIN = {"string_pattern_mismatch": "use lower-case letters, digits and single hyphens"}


def plain_problem(item: Mapping[str, Any], name: str | None = None) -> str:
    """One validation problem as a sentence naming its field: 'Title: must not be blank.'

    `name` stands in for the field when the problem carries no location (a lone value).
    """
    message = _PLAIN.get(str(item.get("type")), str(item.get("msg") or "not valid"))
    for prefix in _VALIDATOR_PREFIXES:
        message = message.removeprefix(prefix)
    message = message.strip().rstrip(".")
    # list positions count from 1, as people count: 'Tags #1', 'Rules #2 url'
    loc = item.get("loc", ())
    parts = [f"#{p + 1}" if isinstance(p, int) else str(p) for p in loc if p not in _PLACES]
    where = " ".join(parts).replace("_", " ") or name
    if not where:
        return f"{message[:1].upper()}{message[1:]}."
    if message[1:2].islower():  # 'String should…' reads on after a colon; 'URL…' stays
        message = message[:1].lower() + message[1:]
    return f"{where[:1].upper()}{where[1:]}: {message}."


def plain_problems(items: Iterable[Mapping[str, Any]], name: str | None = None) -> str:
    return " ".join(plain_problem(item, name) for item in items)


def error_text(error: DomainError) -> str:
    """A domain error in words (a list of field problems as sentences)."""
    detail = error.detail
    if isinstance(detail, list):
        return plain_problems(detail)
    return str(detail)


def error_page(request: Request, status: int, message: str) -> Response:
    titles = {403: "Not allowed", 404: "Not found", 409: "Not now", 422: "Not valid"}
    title = titles.get(status, "Something went wrong")
    context = {"title": title, "message": message, "status": status}
    return render(request, "error.html", context, status_code=status)


def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)
