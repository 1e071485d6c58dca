"""How the `forecast-ledger` command answers bad arguments and bad settings.

One line on stderr naming the argument or the FORECAST_LEDGER_* variable and what it accepts,
then exit status 2 (click's status for usage errors), never a traceback or a boxed usage text.
"""

import sys
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError

from web.settings import Settings

NAME = "forecast-ledger"
_NOT_ECHOED = frozenset({"database_url", "public_url", "secret_key", "smtp_url"})


class Command(typer.Typer):
    """A Typer app that exits through `refuse` on a bad argument or setting."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode") is False:  # a program driving the command: as Typer
            return super().__call__(*args, **kwargs)
        try:
            code = super().__call__(*args, **{**kwargs, "standalone_mode": False})
        except typer.TyperException as error:  # click's errors: usage (2) and others (1)
            if type(error).__name__ != "NoArgsIsHelpError":  # that one has shown the help
                context = getattr(error, "ctx", None)
                where = context.command_path if context is not None else NAME
                message = error.format_message().replace("Value error, ", "")
                print(f"{where}: {message}", file=sys.stderr)
            sys.exit(error.exit_code)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        except ValidationError as error:
            if error.title != Settings.__name__:
                raise
            refuse(*(setting_problem(detail) for detail in error.errors()))
        except ArgumentError as error:  # SQLAlchemy cannot read the database URL
            refuse(f"{NAME}: FORECAST_LEDGER_DATABASE_URL is not a database URL ({error})")
        sys.exit(code if isinstance(code, int) else 0)


def setting_problem(detail: Any) -> str:
    """`FORECAST_LEDGER_X='value' is not accepted: it takes …` for one refused setting."""
    name = str(detail["loc"][0]) if detail["loc"] else ""
    field = Settings.model_fields.get(name)
    accepts = field.description if field is not None and field.description else "another value"
    # a URL may carry a password: name the variable, not its value
    shown = "" if name in _NOT_ECHOED else f"={detail['input']!r}"
    line = f"{NAME}: FORECAST_LEDGER_{name.upper()}{shown} is not accepted: "
    line += f"it takes {accepts}"
    if detail["type"] == "value_error":  # our own validator's reason (which entry is bad)
        line += f" ({detail['msg'].removeprefix('Value error, ')})"
    return line


def refuse(*lines: str) -> NoReturn:
    for line in lines:
        print(line, file=sys.stderr)
    sys.exit(2)
