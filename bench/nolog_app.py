"""The real app with the request log and the request metrics taken off (`submit.py
--without-log`), to measure in one run what they cost."""

from fastapi import FastAPI

from web.app import create_app


def create() -> FastAPI:
    app = create_app()
    app.request_log = None  # type: ignore[attr-defined]
    return app
