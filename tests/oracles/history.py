"""A claim's history from bare events, without the database: the shape the tests build."""

from collections.abc import Iterable

from forecasts.submit.history import Event, HistoryPoint, _replay


def history_of(events: Iterable[Event]) -> list[HistoryPoint]:
    """History from events (account id, time, ledger seq, probability or None for a withdrawal).

    One point per event, in ledger order; the market ignores withdrawals (SPEC §2).
    """
    ordered = sorted(events, key=lambda event: (event[1], event[2]))
    return _replay(ordered, max((event[2] for event in ordered), default=0)).points
