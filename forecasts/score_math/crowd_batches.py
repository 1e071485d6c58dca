"""The crowd probability after every event of many claims at once, vectorised (SPEC §2).

The same medians as `forecasts.score_math.crowd.recency_weighted_median`, to the last bit;
scoring and the probability history use it to replay whole claims in one pass.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from forecasts.score_math.crowd import HALF_TOLERANCE

# Cells (events x forecasts) per block of `crowd_after_each`: a few MiB per array.
_BLOCK_CELLS = 1 << 20
# From this many columns in a block on, running sums go along rows (`_wide_block_medians`).
_WIDE = 256
# Cells per block there: a block's arrays then stay in the processor's cache.
_WIDE_BLOCK_CELLS = 1 << 16

_Floats = npt.NDArray[np.float64]


def next_event_of_same_owner(owners: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each event, the index of the same owner's next event; len(owners) if none."""
    count = len(owners)
    following = np.full(count, count, dtype=np.int64)
    by_owner = np.argsort(owners, kind="stable")  # each owner's events stay in ledger order
    same = owners[by_owner[1:]] == owners[by_owner[:-1]]
    following[by_owner[:-1][same]] = by_owner[1:][same]
    return following


def crowd_after_each(
    owners: npt.NDArray[np.int64],
    probabilities: _Floats,
    bounds: Sequence[int] | npt.NDArray[np.int64] | None = None,
    *,
    cells: int = _BLOCK_CELLS,
) -> _Floats:
    """The crowd probability after each event, vectorised; NaN while nobody stands.

    Events are in ledger order, claim after claim (claim i's are `bounds[i]` to
    `bounds[i + 1]`; by default all one claim): owner ids (never shared between claims) and
    probabilities (NaN for a withdrawal). Equal to `recency_weighted_median` of the standing
    forecasts after every event, to the last bit: a claim's forecasts are columns (in value
    order, ties oldest first) and its events rows; a row's weights are the recency weights
    of the columns standing then and 0 elsewhere, and adding zeros leaves the cumulative sums
    of `_median_of_sorted` as they were. That costs about rows x columns / 2 per claim (a row
    needs no column opened after it), with no Python work per event or per claim: claims of
    similar size go together, in blocks of about `cells` cells.
    """
    count = len(owners)
    crowd = np.full(count, np.nan)
    starts = np.asarray([0, count] if bounds is None else bounds, dtype=np.int64)
    sizes = np.diff(starts)
    forecasts = np.flatnonzero(~np.isnan(probabilities))
    if not forecasts.size:
        return crowd
    claim_of = np.searchsorted(starts, forecasts, side="right") - 1
    ends = np.minimum(next_event_of_same_owner(owners)[forecasts], starts[claim_of + 1])
    columns = np.bincount(claim_of, minlength=len(sizes))
    column = np.arange(forecasts.size) - np.concatenate(([0], np.cumsum(columns)))[claim_of]
    by_size = np.argsort(sizes, kind="stable")
    by_size = by_size[columns[by_size] > 0]  # a claim without forecasts has no crowd
    first = 0
    while first < len(by_size):
        last = _group_end(sizes, columns, by_size, first, cells)
        group = by_size[first:last]
        place = np.full(len(sizes), -1)
        place[group] = np.arange(len(group))
        mine = place[claim_of] >= 0
        shape = (len(group), int(columns[group].max()))
        local = np.full(shape, count + 1)  # never standing
        local_end = np.zeros(shape, dtype=np.int64)
        values = np.full(shape, np.inf)  # sorts after every probability
        where = (place[claim_of[mine]], column[mine])
        local[where] = forecasts[mine] - starts[claim_of[mine]]
        local_end[where] = ends[mine] - starts[claim_of[mine]]
        values[where] = probabilities[forecasts[mine]]
        _group_medians(crowd, starts[group], sizes[group], local, local_end, values, cells)
        first = last
    return crowd


def _group_end(
    sizes: npt.NDArray[np.int64],
    columns: npt.NDArray[np.int64],
    by_size: npt.NDArray[np.int64],
    first: int,
    cells: int,
) -> int:
    """End of the group from `first` (claims by size): 4 blocks of cells, sizes within 1/8."""
    widest, smallest = 0, int(sizes[by_size[first]])
    for last in range(first + 1, len(by_size)):
        widest = max(widest, int(columns[by_size[last]]))
        tallest = int(sizes[by_size[last]])
        if (last - first + 1) * tallest * widest > 4 * cells or tallest > smallest * 9 // 8 + 8:
            return last
    return len(by_size)


def _group_medians(
    crowd: _Floats,
    offsets: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    values: _Floats,
    cells: int,
) -> None:
    """Fill `crowd` for a group of claims: their columns in recency order, padded, by claim."""
    claims, width = starts.shape
    if width >= _WIDE:  # long rows: one claim at a time, running sums along its rows
        for i, used in enumerate(np.isfinite(values).sum(axis=1).tolist()):
            chunk = slice(int(offsets[i]), int(offsets[i] + sizes[i]))
            crowd[chunk] = _wide_claim_medians(
                int(sizes[i]), starts[i, :used], ends[i, :used], values[i, :used], cells
            )
        return
    tallest = int(sizes.max())
    step = max(1, min(-(-tallest // 4), cells // max(1, claims * width)))
    for top in range(0, tallest, step):
        rows = np.arange(top, min(top + step, tallest))
        used = min(top + len(rows), width)  # a column opened at row r is among the first r + 1
        by_value = np.argsort(values[:, :used], axis=1, kind="stable")
        medians = _block_medians(
            rows,
            np.ascontiguousarray(starts[:, :used].T)[:, :, None],
            np.ascontiguousarray(ends[:, :used].T)[:, :, None],
            np.take_along_axis(values[:, :used], by_value, axis=1),
            by_value,
        )
        inside = rows[None, :] < sizes[:, None]
        crowd[(offsets[:, None] + rows[None, :])[inside]] = medians[inside]


def _block_medians(
    rows: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    sorted_values: _Floats,
    by_value: npt.NDArray[np.int64],
) -> _Floats:
    """Medians shaped (claims, rows); the cells are laid out (columns, claims, rows).

    Columns first, so the running sums over columns are vector additions across every row
    of the block at once (several times faster than numpy's cumsum along short rows, and
    the same additions in the same order).
    """
    columns, claims = by_value.shape[1], by_value.shape[0]
    standing = (starts <= rows) & (rows < ends)
    rank = np.empty(standing.shape, dtype=np.int32)  # recency rank among those standing
    size = np.zeros((claims, len(rows)), dtype=np.int32)
    for j in range(columns):
        size += standing[j]
        rank[j] = size
    table, offsets = _weight_table(int(size.max()))
    weights = table.take(offsets[size] + rank)  # recency_weights(size)[rank - 1]
    weights *= standing
    by_row = weights.reshape(columns * claims, len(rows))
    picks = by_value.T * claims + np.arange(claims)  # column j in value order, claim by claim
    cumulative = np.empty_like(weights)
    running = np.zeros((claims, len(rows)))
    for j in range(columns):
        running += by_row.take(picks[j], axis=0)
        cumulative[j] = running
    half = running / 2
    slack = HALF_TOLERANCE * running
    index = np.minimum((cumulative < half - slack).sum(axis=0), columns - 1)
    medians: _Floats = np.take_along_axis(sorted_values, index, axis=1)
    reached = np.take_along_axis(cumulative, index[None], axis=0)[0]
    for claim, row in zip(*np.nonzero((np.abs(reached - half) <= slack) & (size > 0)), strict=True):
        # exactly half (never with recency weights, see HALF_TOLERANCE): mean with the next
        at = int(index[claim, row])
        later = np.flatnonzero(standing[by_value[claim, at + 1 :], claim, row])
        if later.size:
            following = sorted_values[claim, at + 1 + later[0]]
            medians[claim, row] = (medians[claim, row] + following) / 2
    medians[size == 0] = np.nan
    return medians


def _wide_claim_medians(
    events: int,
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    values: _Floats,
    cells: int,
) -> _Floats:
    """The crowd after each event of one claim with many forecasts; cells (rows, columns).

    What `_block_medians` does, but with long rows numpy's running sums along them (the
    same additions in the same order) beat a Python step per column.
    """
    by_value = np.argsort(values, kind="stable")
    sorted_values = values[by_value]
    moves = np.bincount(starts, minlength=events + 1) - np.bincount(ends, minlength=events + 1)
    _weight_table(int(moves.cumsum().max()))  # the largest crowd, not a table per larger block
    medians = np.full(events, np.nan)
    step = max(1, min(events, min(cells, _WIDE_BLOCK_CELLS) // len(values)))
    # the two largest arrays, allocated once: fresh ones each block cost as much in page faults
    weights_space, sums_space = np.empty(step * len(values)), np.empty(step * len(values))
    for top in range(0, events, step):
        rows = np.arange(top, min(top + step, events))[:, None]
        used = min(top + len(rows), len(values))  # opened at row r: among the first r + 1
        standing = (starts[:used] <= rows) & (rows < ends[:used])
        rank = standing.cumsum(axis=1, dtype=np.int32)  # recency rank among those standing
        size = rank[:, -1]
        table, offsets = _weight_table(int(size.max()))
        opened = by_value < used
        order, opened_values = by_value[opened], sorted_values[opened]
        # recency_weights(size)[rank - 1] in value order; table[0] = 0 where not standing
        cell = rank[:, order]
        cell += offsets[size].astype(np.int32)[:, None]
        standing = standing[:, order]
        cell *= standing
        weights = weights_space[: cell.size].reshape(cell.shape)
        cumulative = sums_space[: cell.size].reshape(cell.shape)
        np.cumsum(table.take(cell, out=weights, mode="clip"), axis=1, out=cumulative)
        half = cumulative[:, -1] / 2
        slack = HALF_TOLERANCE * cumulative[:, -1]
        index = np.minimum((cumulative < (half - slack)[:, None]).sum(axis=1), used - 1)
        found = opened_values[index]
        reached = cumulative[np.arange(len(rows)), index]
        for row in np.flatnonzero((np.abs(reached - half) <= slack) & (size > 0)).tolist():
            # exactly half (never with recency weights, see HALF_TOLERANCE): mean with the next
            later = np.flatnonzero(standing[row, index[row] + 1 :])
            if later.size:
                following = opened_values[index[row] + 1 + later[0]]
                found[row] = (found[row] + following) / 2
        found[size == 0] = np.nan
        medians[top : top + len(rows)] = found
    return medians


_weights_end_to_end: tuple[_Floats, npt.NDArray[np.int64]] = (np.zeros(1), np.zeros(1, np.int64))


def _weight_table(size: int) -> tuple[_Floats, npt.NDArray[np.int64]]:
    """`recency_weights(n)` for n = 0 … at least `size`, end to end, and where each starts.

    Entry offsets[n] + r is the weight of rank r (1 = oldest) among n; offsets[n] + 0 is the
    last weight of n - 1, which only ever meets a "not standing" 0. Grown as larger crowds
    appear (8 n² / 2 bytes), and swapped whole, so concurrent readers see a matching pair.
    """
    global _weights_end_to_end
    table, offsets = _weights_end_to_end
    if size >= len(offsets):
        top = max(size, len(offsets) * 5 // 4)
        counts = np.arange(top + 1)
        offsets = np.concatenate(([0], np.cumsum(counts[:-1])))
        # recency_weights(n) for every n: the same roots and differences, then one np.exp
        roots = np.sqrt(np.arange(1, top + 1, dtype=np.float64))
        table = np.zeros(int(offsets[-1]) + top + 1)
        for n, start in enumerate(offsets[1:].tolist(), start=1):
            np.subtract(roots[:n], roots[n - 1], out=table[start + 1 : start + n + 1])
        np.exp(table[1:], out=table[1:])
        _weights_end_to_end = table, offsets
    return table, offsets
