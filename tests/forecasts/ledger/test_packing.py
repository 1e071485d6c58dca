"""Distributions packed into one column: exact round trips, little-endian whatever the host."""

import struct

from forecasts.ledger.packing import pack, unpack


def test_pack_is_little_endian_float64_in_order() -> None:
    values = [0.001, 0.25, 1 / 3, 0.999]
    data = pack(values)
    assert data == struct.pack("<4d", *values)
    assert unpack(data).tolist() == values


def test_a_201_value_cdf_takes_1608_bytes_and_comes_back_exactly() -> None:
    cdf = [round(0.001 + 0.998 * i / 200, 10) for i in range(201)]
    data = pack(cdf)
    assert len(data) == 201 * 8
    assert unpack(data).tolist() == cdf
