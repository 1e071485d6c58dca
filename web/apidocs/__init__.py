"""`/docs`: Swagger UI from the swagger-ui-bundle-v2 package, so it works without internet.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script. This one
serves the package's files under `/docs/ui/` and starts them from `/docs/ui-init.js`, so the
page needs nothing but the app and keeps the CSP every other answer has (web/security.py).
ReDoc is not served: no maintained package ships its files (see docs/decisions.md).
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

INITIALIZER = Path(__file__).parent / "swagger-init.js"
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} - API docs</title>
<link rel="stylesheet" href="/docs/ui/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/ui/swagger-ui-bundle.js"></script>
<script src="/docs/ui-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Add `/docs`, its initializer and Swagger UI's files (the app is made without its own)."""
    page = PAGE.format(title=app.title)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/ui-init.js", include_in_schema=False)
    def initializer() -> FileResponse:
        return FileResponse(INITIALIZER, media_type="text/javascript")

    app.mount("/docs/ui", StaticFiles(directory=Path(str(swagger_ui_path))), name="swagger-ui")
