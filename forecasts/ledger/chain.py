"""The hash chain of SPEC §3: append, commitments and their reveal, verification."""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import rfc8785
from sqlalchemy import Connection, bindparam, select, update
from sqlmodel import Session

from claims.clock import stamp
from forecasts.ledger.models import LedgerHead
from forecasts.ledger.tables import entries_t, head_t

GENESIS_HASH = "0" * 64
entries_table, head_table = entries_t, head_t


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry_hash(prev_hash: str, seq: int, kind: str, created_at: str, payload_hash: str) -> str:
    """`sha256("{prev_hash}|{seq}|{kind}|{created_at}|{payload_hash}")`, time as `stamp` gives."""
    text = f"{prev_hash}|{seq}|{kind}|{created_at}|{payload_hash}"
    return sha256_hex(text.encode())


def new_salt() -> str:
    return secrets.token_hex(16)


# SPEC §3: version 1 commitments hash {claim, handle, probability, created_at}; from version 2
# on the object also holds `rationale`. Each entry records its version (ledger_entries).
PAYLOAD_VERSION = 2


def commitment_body(
    claim: str,
    handle: str,
    probability: float | None,
    at: datetime | str,
    rationale: str | None = None,
    *,
    version: int = PAYLOAD_VERSION,
    shape: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a forecast's commitment hashes in payload `version`; `at` may come already stamped.

    `shape` is another kind's distribution (`{"probabilities": …}` or `{"cdf": …}`, SPEC §7),
    which takes the place of `probability`.
    """
    when = at if isinstance(at, str) else stamp(at)
    body: dict[str, Any] = {"claim": claim, "handle": handle}
    body.update(shape if shape is not None else {"probability": probability})
    body["created_at"] = when
    if version >= 2:
        body["rationale"] = rationale
    return body


def commitment_hash(body: dict[str, Any], salt: str) -> str:
    """sha256 of the canonical JSON of the commitment body followed by the salt's text."""
    return sha256_hex(_commitment_json(body) + salt.encode())


_PLAIN = re.compile(r"^[A-Za-z0-9:.@-]*$")
_ABSENT = object()  # a version 1 body: no rationale key at all


def _commitment_json(body: dict[str, Any]) -> bytes:
    """`canonical(body)`, quicker for the usual shapes.

    Slugs, handles and stamps are plain ASCII (nothing to escape) and a probability lies in
    [0.001, 0.999], where Python's shortest float repr and RFC 8785's (ECMAScript's) number
    form coincide, so the keys in sorted order around those texts give the very same bytes.
    A rationale is escaped by the json module's C encoder, whose output for a string without
    lone surrogates (refused on input) is RFC 8785's: the same short escapes, `\\u00xx` in
    lowercase for the other control characters, everything else as UTF-8.
    Anything else takes the RFC 8785 library.
    """
    if "cdf" in body:
        return _cdf_json(body)
    probability = body.get("probability", _ABSENT)
    if probability is _ABSENT or not (
        probability is None or (type(probability) is float and 1e-3 <= probability < 1)
    ):
        return canonical(body)
    number = "null" if probability is None else repr(probability)
    fields = _plain_fields(body, 4, f',"probability":{number}')
    return canonical(body) if fields is None else ("{" + fields + "}").encode()


def _plain_fields(body: dict[str, Any], size: int, after_handle: str) -> str | None:
    """The canonical text of `claim`, `created_at`, `handle`, then `after_handle` (the next
    key's text, in sorted order) and `rationale` if present, when `body` holds those and
    `size` - 1 keys besides the rationale, with plain texts; None otherwise."""
    claim, handle, when = body.get("claim"), body.get("handle"), body.get("created_at")
    rationale = body.get("rationale", _ABSENT)
    if not (
        len(body) == (size if rationale is _ABSENT else size + 1)
        and type(claim) is str
        and type(handle) is str
        and type(when) is str
        and _PLAIN.match(claim + handle + when) is not None
        and (rationale is _ABSENT or rationale is None or type(rationale) is str)
    ):
        return None
    text = f'"claim":"{claim}","created_at":"{when}","handle":"{handle}"{after_handle}'
    if rationale is _ABSENT:
        return text
    said = "null" if rationale is None else json.dumps(rationale, ensure_ascii=False)
    return f'{text},"rationale":{said}'


def _cdf_json(body: dict[str, Any]) -> bytes:
    """`canonical(body)` of a numeric or date forecast's commitment, quicker (SPEC §7).

    The RFC 8785 library takes over a millisecond for 201 numbers, the json module 50 µs.
    A stored CDF value lies in [0, 1]; from 1e-4 on, Python's repr, orjson's number form and
    ECMAScript's are the same shortest digits in fixed notation (tests/forecasts/ledger check
    orjson against the library), and 0 and 1 are written "0" and "1": anything else (a value
    below 1e-4) takes the library.
    """
    values = body["cdf"]
    if len(values) < 2 or set(map(type, values)) != {float}:
        return canonical(body)
    # a stored CDF rises strictly, so only its ends can be 0 or 1
    inner = values[1:-1]
    if inner and not (min(inner) >= 1e-4 and max(inner) < 1):
        return canonical(body)
    ends = []
    for value in (values[0], values[-1]):
        if not (value in (0, 1) or 1e-4 <= value < 1):
            return canonical(body)
        ends.append("0" if value == 0 else "1" if value == 1 else repr(value))
    middle = orjson.dumps(inner)[1:-1].decode()
    numbers = ",".join([ends[0], middle, ends[1]] if inner else ends)
    fields = _plain_fields(body, 4, "")  # "cdf" sorts before all the others
    if fields is None:
        return canonical(body)
    return f'{{"cdf":[{numbers}],{fields}}}'.encode()


@dataclass
class Chain:
    """The head of the chain as seen inside a transaction that holds the append lock."""

    seq: int
    hash: str
    rows: list[dict[str, Any]]

    def add(
        self,
        kind: str,
        at: datetime,
        payload_hash: str,
        *,
        payload: str | None,
        claim_id: int | None,
        stamped: str | None = None,
        version: int = 1,
    ) -> dict[str, Any]:
        """Link one entry onto the head (written by `flush`); `stamped` is `stamp(at)`,
        `version` the payload version (SPEC §3; public payloads keep version 1)."""
        seq = self.seq + 1
        digest = entry_hash(self.hash, seq, kind, stamped or stamp(at), payload_hash)
        row = {
            "seq": seq,
            "kind": kind,
            "created_at": at,
            "payload_hash": payload_hash,
            "prev_hash": self.hash,
            "hash": digest,
            "payload": payload,
            "claim_id": claim_id,
            "payload_version": version,
        }
        self.rows.append(row)
        self.seq, self.hash = seq, digest
        return row

    def add_public(
        self, kind: str, at: datetime, payload: dict[str, Any], claim_id: int | None
    ) -> dict[str, Any]:
        text = canonical(payload)
        return self.add(kind, at, sha256_hex(text), payload=text.decode(), claim_id=claim_id)


def lock_head(conn: Connection) -> Chain:
    """Take the append lock and read the head.

    On SQLite the caller's transaction began with BEGIN IMMEDIATE, which already holds the
    database's write lock; on PostgreSQL the head row is locked until commit.
    """
    query = select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        conn.execute(head_table.insert().values(id=1, seq=0, hash=GENESIS_HASH))
        return Chain(0, GENESIS_HASH, [])
    return Chain(int(row.seq), str(row.hash), [])


def flush(conn: Connection, chain: Chain) -> None:
    """Write the entries linked since `lock_head` and move the head."""
    if not chain.rows:
        return
    conn.execute(entries_table.insert(), chain.rows)
    conn.execute(_MOVE_HEAD, {"new_seq": chain.seq, "new_hash": chain.hash})
    chain.rows = []


# Bound parameters instead of `.values(literal)`: compiled once, then served from the cache.
_MOVE_HEAD = (
    update(head_table)
    .where(head_table.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def record(
    session: Session, kind: str, at: datetime, payload: dict[str, Any], claim_id: int | None
) -> int:
    """Append one public entry inside the session's transaction; returns its seq."""
    conn = session.connection()
    chain = lock_head(conn)
    row = chain.add_public(kind, at, payload, claim_id)
    flush(conn, chain)
    return int(row["seq"])


def head(session: Session) -> tuple[int, str]:
    row = session.exec(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == 1)).first()  # type: ignore[call-overload]
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))
