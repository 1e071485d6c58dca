"""Templates (Jinja2, autoescaped, StrictUndefined), their filters, and HTML responses."""

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from claims.clock import as_utc, parse_stamp
from web.pages.session import take_flash
from web.security import PAGE_HEADERS

TEMPLATES = Path(__file__).parent / "templates"


def _moment(value: str | datetime) -> datetime:
    return parse_stamp(value) if isinstance(value, str) else as_utc(value)


def when(value: str | datetime | None) -> str:
    """A time as people read it, always in UTC: '24 Nov 2026, 17:20 UTC'."""
    if value is None:
        return "—"
    return _moment(value).strftime("%-d %b %Y, %H:%M UTC")


def day(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    return _moment(value).strftime("%-d %b %Y")


def iso(value: str | datetime) -> str:
    """The machine-readable form for `<time datetime=…>`."""
    return _moment(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.{digits}f}%"


def percent(value: float | None) -> str:
    """A forecast with every digit the forecast form keeps: '62.55%', '75%', '66.6667%'."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.4f}".rstrip("0").rstrip(".") + "%"


def num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, day=day, iso=iso, pct=pct, percent=percent, num=num)
    return env


ENV = _environment()


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the caller, the CSRF token and the notice left by the last form."""
    page = getattr(request.state, "page", None)
    html = ENV.get_template(name).render(
        {
            "request": request,
            "me": page.me if page else None,
            "csrf": page.csrf if page else "",
            "flash": take_flash(request),
        }
        | context
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
