"""Keep an in-process bench's stderr free of the app's request log (one line per request)."""

import logging


def silence_request_log() -> None:
    """Before creating the app: give its request logger a handler (so the log writes there, not
    straight to stderr) and a level that drops its INFO lines. The app itself is unchanged."""
    log = logging.getLogger("forecast_ledger.requests")
    log.addHandler(logging.NullHandler())
    log.setLevel(logging.WARNING)
    log.propagate = False
