"""Content decoding under the body cap: never more than the cap is ever decoded.

httpx decodes a whole network chunk (and every layer of a stacked `Content-Encoding`) before
a caller sees it, so a cap applied afterwards comes too late: a 1.8 KB answer encoded
`gzip, gzip` decodes to gigabytes. The fetcher reads the raw stream instead and decodes it
here, asking zlib for no more output than the room left. One encoding at most, gzip or
deflate; brotli and zstd are not offered (see docs/decisions.md, "Fetch and rule limits").
"""

import zlib

ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class EncodingRefused(ValueError):
    """The answer's Content-Encoding is stacked, unknown or corrupt."""


class BoundedDecoder:
    """Decode one body, keeping at most `limit` bytes; `over` says whether there was more."""

    def __init__(self, encodings: list[str], limit: int) -> None:
        codings = [item.strip().lower() for item in encodings]
        codings = [item for item in codings if item and item != "identity"]
        if len(codings) > 1:
            raise EncodingRefused(f"refused: stacked Content-Encoding {', '.join(codings)!r}")
        if codings and codings[0] not in _WBITS:
            raise EncodingRefused(f"refused: Content-Encoding {codings[0]!r} is not accepted")
        self.coding = codings[0] if codings else None
        self.limit = limit
        self.over = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._zlib = zlib.decompressobj(_WBITS[self.coding]) if self.coding else None
        self._started = False

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)

    def feed(self, data: bytes) -> bool:
        """Decode `data`; True once the body is complete or over the cap (stop reading)."""
        if self._zlib is None:
            return self._keep(data)
        try:
            return self._inflate(data)
        except zlib.error as exc:
            raise EncodingRefused(f"cannot decode {self.coding} body: {exc}") from None

    def _inflate(self, data: bytes) -> bool:
        assert self._zlib is not None
        if not self._started and data:
            self._started = True
            if self.coding == "deflate" and not _zlib_header(data):
                # Some servers send raw deflate under "deflate"; browsers accept both.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        while data and not self._zlib.eof:
            # One byte more than the room, to learn whether the body goes on past the cap.
            out = self._zlib.decompress(data, self.limit - self._size + 1)
            data = self._zlib.unconsumed_tail
            if self._keep(out):
                return True
        return self._zlib.eof  # anything after the end of the stream is ignored

    def _keep(self, data: bytes) -> bool:
        room = self.limit - self._size
        if len(data) > room:
            self._chunks.append(data[:room])
            self._size = self.limit
            self.over = True
            return True
        self._chunks.append(data)
        self._size += len(data)
        return False


def _zlib_header(data: bytes) -> bool:
    """Whether `data` starts with a zlib (RFC 1950) header rather than raw deflate."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
