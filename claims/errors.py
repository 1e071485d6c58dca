"""Domain exceptions; `web/errors.py` maps each to an HTTP status in one place."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, detail: object) -> None:
        super().__init__(str(detail))
        self.detail = detail


class NotFound(DomainError):
    """The thing asked for does not exist (404)."""


class ClaimNotFound(NotFound):
    """No claim has this slug, or the caller may not see it (a draft, to anyone but editors):
    the two answers are the same, so a draft's existence does not show."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"no claim with slug {slug!r}")


class Forbidden(DomainError):
    """The caller's role does not allow this (403)."""


class Conflict(DomainError):
    """The request clashes with the state of the record (409)."""


class ClaimClosed(Conflict):
    """A forecast arrived outside the claim's window."""


class Invalid(DomainError):
    """Input that passed the schema but breaks a domain rule (422).

    `detail` is a list of `{"loc": [...], "msg": ...}` items like pydantic's.
    """

    def __init__(self, field: str | list[str | int], msg: str, *, where: str = "body") -> None:
        loc = [field] if isinstance(field, str) else field
        super().__init__([{"loc": [where, *loc], "msg": msg, "type": "value_error"}])


class TooMany(DomainError):
    """More requests of a kind than an account may make in a while (429)."""
