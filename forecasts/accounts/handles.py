"""Handles nobody may take: look-alikes of the crowd's `@crowd`, and on self sign-up of the
site's own roles.

A forecaster called `crowd` or `the-crowd` would pass for the aggregate on every leaderboard,
and one who signs up as `admin` or `editor` for the site speaking; an operator's `user add`
may still name staff accounts so (docs/decisions.md gives the lists).
"""

CROWD_WORDS = frozenset({"crowd", "market"})
STAFF_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "editor",
        "moderator",
        "staff",
        "support",
        "system",
        "root",
        "official",
        "ledger",
        "forecastledger",
        "anonymous",
    }
)
RESERVED_HANDLE = "is reserved: it could pass for @crowd or for the site's own staff"
# digits read as the letters they resemble (1 both as i and as l)
_AS_LETTERS = (str.maketrans("013457", "oieast"), str.maketrans("013457", "oleast"))


def _skeletons(handle: str) -> set[str]:
    """The handle without hyphens, digits as letters, a leading 'the' or a plural 's'."""
    bare = {handle.replace("-", "").translate(table) for table in _AS_LETTERS}
    return {word.removeprefix("the").removesuffix("s") for word in bare} | bare


def is_reserved(handle: str, *, staff: bool = False) -> bool:
    """Whether the handle reads as one of CROWD_WORDS (crowd, the-crowd, cr0wd), or with
    `staff` as one of STAFF_WORDS too (admins, 3ditor)."""
    words = CROWD_WORDS | STAFF_WORDS if staff else CROWD_WORDS
    return not _skeletons(handle.lower()).isdisjoint(words)
