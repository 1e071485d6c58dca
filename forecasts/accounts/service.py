"""Accounts, roles, API tokens (stored as hashes, shown once) and password hashing."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, func, select
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from claims.errors import Conflict, Forbidden, Invalid, NotFound
from forecasts.accounts.handles import RESERVED_HANDLE, is_reserved
from forecasts.ledger.models import Account, ApiToken
from forecasts.ledger.roles import ROLE_RANK, Role

TOKEN_PREFIX = "fl_"
MIN_PASSWORD_LENGTH = 10
MAX_LIVE_TOKENS = 20
_passwords = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling: enough to authorise without another query."""

    account_id: int
    handle: str
    role: str
    token_hash: str | None = None

    def require(self, role: str) -> None:
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise Forbidden(f"this needs the {role} role")


def sees_drafts(caller: Principal | None) -> bool:
    """Drafts exist only for editors (and admins); to anyone else a draft is an unknown slug."""
    return caller is not None and ROLE_RANK[caller.role] >= ROLE_RANK[Role.EDITOR]


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    session: Session,
    handle: str,
    *,
    role: str,
    now: datetime,
    password: str | None = None,
    password_hash: str | None = None,
    self_chosen: bool = False,
) -> Account:
    """Create an account (with a password, or its `hash_password` digest); commits. A
    `self_chosen` handle (sign-up) may not pass for staff."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")
    if is_reserved(handle, staff=self_chosen):
        raise Invalid("handle", RESERVED_HANDLE)
    if session.exec(select(Account.id).where(Account.handle == handle)).first() is not None:
        raise Conflict(f"the handle {handle!r} is taken")
    account = Account(
        handle=handle,
        role=role,
        created_at=now,
        password_hash=hash_password(password, handle=handle) if password else password_hash,
    )
    session.add(account)
    session.commit()
    session.refresh(account)
    return account


def get_account(session: Session, handle: str) -> Account:
    account = session.exec(select(Account).where(Account.handle == handle)).first()
    if account is None:
        raise NotFound(f"no forecaster with handle {handle!r}")
    return account


def set_role(session: Session, handle: str, role: str) -> Account:
    """Give the account another role; commits.

    Refuses (409) to demote the last admin: nobody could make another one except from the
    command line. The admins are locked while counted, so two admins demoting each other at
    once cannot both succeed.
    """
    if role not in ROLE_RANK:
        raise Invalid("role", f"must be one of {', '.join(ROLE_RANK)}")
    account = get_account(session, handle)
    if account.role == Role.ADMIN and role != Role.ADMIN:
        admins = session.exec(
            select(Account.id).where(Account.role == Role.ADMIN).with_for_update()
        )
        if len(admins.all()) <= 1:
            raise Conflict("the last admin cannot be demoted: make another admin first")
    account.role = role
    session.add(account)
    session.commit()
    session.refresh(account)
    return account


def issue_token(session: Session, account: Account, *, now: datetime, label: str = "") -> str:
    """Create a token for the account and return its text (the only time it is shown); commits.

    An account holds at most `MAX_LIVE_TOKENS` live tokens (409 past it): nobody needs many,
    and each is another entry in every process's token caches.
    """
    assert account.id is not None
    live = session.exec(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.account_id == account.id, col(ApiToken.revoked_at).is_(None))
    ).one()
    if live >= MAX_LIVE_TOKENS:
        raise Conflict(f"this account has {live} live tokens, the most it may: revoke one first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(account_id=account.id, token_hash=hash_token(token), label=label, created_at=now)
    )
    session.commit()
    return token


def revoke_token(session: Session, token_id: int, *, account_id: int, now: datetime) -> None:
    """Revoke one of the account's tokens; commits."""
    token = session.get(ApiToken, token_id)
    if token is None or token.account_id != account_id:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        session.commit()


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The live (unrevoked) token's account, or None."""
    digest = hash_token(token)
    row = session.exec(
        select(Account, ApiToken.id)
        .join(ApiToken, col(ApiToken.account_id) == col(Account.id))
        .where(ApiToken.token_hash == digest, col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    account = row[0]
    assert account.id is not None
    return Principal(account.id, account.handle, account.role, digest)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords (from leaked password sets)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, handle: str) -> str | None:
    """Why the password is refused, or None: too short or long, the handle, or too common."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= 1000:
        return f"must have at least {MIN_PASSWORD_LENGTH} and at most 1000 characters"
    folded = password.casefold()
    if folded == handle.casefold():
        return "must not be the handle"
    if folded in _common_passwords() or folded.replace(" ", "") in _common_passwords():
        return "is one of the most common passwords: choose another"
    return None


def hash_password(password: str, *, handle: str) -> str:
    """The argon2 hash of an acceptable password (else 422); slow on purpose, so callers
    compute it before they take the database's write lock."""
    problem = password_problem(password, handle=handle)
    if problem is not None:
        raise Invalid("password", problem)
    return _passwords.hash(password)


def set_password(session: Session, account: Account, password: str) -> None:
    """Give the account a (new) password; commits. See `replace_password_hash`."""
    replace_password_hash(session, account, hash_password(password, handle=account.handle))


def replace_password_hash(session: Session, account: Account, digest: str) -> None:
    """Store a new password's hash and end every site session of the account; commits."""
    account.password_hash = digest
    end_sessions(session, account)


def end_sessions(session: Session, account: Account) -> None:
    """End every site session of the account (they carry an older epoch now); commits."""
    account.session_epoch += 1
    session.add(account)
    session.commit()
    session.refresh(account)


def check_password(account: Account, password: str) -> bool:
    if not account.password_hash:
        return False
    try:
        return _passwords.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
