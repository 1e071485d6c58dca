"""The demo: the seed essay's claims about AI video products and reasoning stacks, with rules,
a handful of forecasters, their forecasts and claims already scored, so a new user sees a
living ledger at once."""

from web.demo.claims import DEMO_CLAIMS, SETTLED_CLAIMS
from web.demo.histories import FORECASTERS
from web.demo.seed import seed_demo

__all__ = ["DEMO_CLAIMS", "FORECASTERS", "SETTLED_CLAIMS", "seed_demo"]
