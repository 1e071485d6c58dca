"""The bare endpoint `bench/submit.py` compares the real one against.

Same path and the same body model (`forecasts.submit.schemas.ForecastIn`) as
`POST /api/v1/claims/{slug}/forecasts`, but it only validates the body: no auth, no
database, no group commit. It answers 201 with a small JSON object, as the real one does.

Run: `.venv/bin/python -m uvicorn bench.baseline_app:app` (from the repository root).
"""

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from claims.text import Slug
from forecasts.submit.schemas import ForecastIn

app = FastAPI(title="Forecast Ledger bench baseline")


@app.post("/api/v1/claims/{slug}/forecasts", status_code=201)
async def submit_forecast(slug: Slug, body: ForecastIn) -> JSONResponse:
    """Validate the body and echo the probability; nothing is stored."""
    return JSONResponse({"claim": slug, "probability": body.value}, status_code=201)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
