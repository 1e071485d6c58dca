"""The bare endpoint `bench/submit.py` compares the real one against.

Same path and the same body model (`forecasts.submit.schemas.ForecastIn`) as
`POST /api/v1/claims/{slug}/forecasts`, but it only validates the body: no auth, no
database, no group commit. It answers 201 with a small JSON object (with `--kind numeric`,
the checked CDF), as the real one does, encoded by orjson as the real one's answers are, so
the ratio measures the ledger's own work rather than two JSON encoders.

Run: `.venv/bin/python -m uvicorn bench.baseline_app:app` (from the repository root).
"""

import orjson
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from bench.ledger import NUMERIC_FIELDS
from claims.text import Slug
from forecasts.score_math.distributions import Scale, checked_cdf
from forecasts.submit.schemas import ForecastIn

app = FastAPI(title="Forecast Ledger bench baseline")


# `bench/submit.py --kind numeric`: CDFs are checked against the bench claim's scale, as the
# real endpoint's writer checks them (SPEC §7), so both sides validate the same body.
_SCALE = Scale(NUMERIC_FIELDS["range_min"], NUMERIC_FIELDS["range_max"])


@app.post("/api/v1/claims/{slug}/forecasts", status_code=201)
async def submit_forecast(slug: Slug, body: ForecastIn) -> JSONResponse:
    """Validate the body and echo the probability (or the CDF); nothing is stored."""
    if body.cdf is not None:
        try:
            cdf = checked_cdf(_SCALE, body.cdf)
        except ValueError as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        body = orjson.dumps({"claim": slug, "cdf": cdf})
        return Response(body, status_code=201, media_type="application/json")
    return JSONResponse({"claim": slug, "probability": body.value}, status_code=201)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
