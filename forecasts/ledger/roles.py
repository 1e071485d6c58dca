"""Account roles (`accounts.role`), each able to do what the ones below it can."""

from enum import StrEnum


class Role(StrEnum):
    FORECASTER = "forecaster"
    EDITOR = "editor"
    ADMIN = "admin"


ROLE_RANK: dict[str, int] = {Role.FORECASTER: 1, Role.EDITOR: 2, Role.ADMIN: 3}
