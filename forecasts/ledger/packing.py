"""A distribution kept in one column: little-endian float64 values, in order (SPEC §7)."""

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

_LE_FLOAT64 = np.dtype("<f8")


def pack(values: Iterable[float]) -> bytes:
    """Multiple choice: probabilities in the claim's options order; numeric/date: the CDF."""
    return np.fromiter(values, dtype=_LE_FLOAT64).tobytes()


def unpack(data: bytes) -> npt.NDArray[np.float64]:
    """The values `pack` was given, exactly (a read-only array, in native byte order)."""
    return np.frombuffer(data, dtype=_LE_FLOAT64).astype(np.float64)
