"""What one running app holds: database, settings, clock, the group committer and caches."""

import time
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from claims.clock import Clock, utc_now
from forecasts.accounts.service import Principal
from forecasts.ledger.lru import LRUCache
from forecasts.scores.leaderboard import INTERVAL_CACHE_SIZE, Profile, forecaster_profile
from forecasts.submit.groupcommit import GroupCommitter
from forecasts.submit.history import HISTORY_CACHE_SIZE
from forecasts.submit.probabilities import CROWD_CACHE_SIZE
from web.db import Database
from web.ratelimits import RateLimiter, SignInGate
from web.settings import Settings

TOKEN_CACHE_SECONDS = 2.0
LANE_TOKENS = 10_000


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock = utc_now
    committer: GroupCommitter | None = None
    rate: RateLimiter = field(default_factory=lambda: RateLimiter(120))  # per account
    sign_ins: SignInGate = field(default_factory=SignInGate)
    tokens: dict[str, tuple[Principal, float]] = field(default_factory=dict)
    # Submitters for the fast lane (web/fastpath.py), kept without a time limit: the writer
    # checks each token against the database in the submission's own transaction anyway, and
    # submitting needs no role, so only who the token belongs to is taken from here.
    lane_tokens: "LRUCache[str, Principal]" = field(default_factory=lambda: LRUCache(LANE_TOKENS))
    in_flight: set[tuple[int, str]] = field(default_factory=set)
    crowd_cache: "LRUCache[tuple[int, int], Any]" = field(
        default_factory=lambda: LRUCache(CROWD_CACHE_SIZE)
    )
    # bootstrap intervals of mean_brier by (handle, totals revision): scores.leaderboard
    interval_cache: "LRUCache[tuple[str, int], Any]" = field(
        default_factory=lambda: LRUCache(INTERVAL_CACHE_SIZE)
    )
    # public probability histories by claim, extended as forecasts come: forecasts/submit/history.py
    history_cache: "LRUCache[int, Any]" = field(
        default_factory=lambda: LRUCache(HISTORY_CACHE_SIZE)
    )
    # the same for claims of other kinds: forecasts/submit/kind_history.py
    kind_history_cache: "LRUCache[int, Any]" = field(
        default_factory=lambda: LRUCache(HISTORY_CACHE_SIZE)
    )

    def profile(self, session: Session, handle: str) -> Profile:
        """A forecaster's profile now, with this site's peer-accuracy prior and interval cache."""
        return forecaster_profile(
            session,
            handle,
            now=self.clock(),
            k=self.settings.peer_accuracy_prior,
            cache=self.interval_cache,
        )

    def cached_principal(self, token_hash: str) -> Principal | None:
        hit = self.tokens.get(token_hash)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def remember_principal(self, principal: Principal) -> None:
        assert principal.token_hash is not None
        if len(self.tokens) > 10_000:
            self.tokens.clear()
        self.tokens[principal.token_hash] = (principal, time.monotonic() + TOKEN_CACHE_SECONDS)
        self.lane_tokens.put(principal.token_hash, principal)

    def lane_principal(self, token_hash: str) -> Principal | None:
        """The submitter behind a token the app has authenticated before (see `lane_tokens`)."""
        return self.lane_tokens.get(token_hash)

    def forget_token(self, token_hash: str) -> None:
        self.tokens.pop(token_hash, None)
        self.lane_tokens.pop(token_hash)

    def forget_tokens(self) -> None:
        self.tokens.clear()
        self.lane_tokens.clear()
