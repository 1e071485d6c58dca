"""`append_batch` straight on the database: big batches, mixed outcomes, one chain."""

from datetime import timedelta

from sqlmodel import select

from forecasts.accounts.service import hash_token
from forecasts.archive.verify import verify_database
from forecasts.ledger.models import Account, ClaimStats, Forecast, Standing
from forecasts.submit.service import Accepted, SubmitRequest, append_batch
from tests.factories import T0, FakeClock, make_account, make_domain_claim
from web.api.views import forecast_answer
from web.db import Database


def test_a_batch_larger_than_one_statement_stores_every_row(db: Database) -> None:
    """300 requests in one transaction: the multi-row INSERTs split into several statements
    (forecasts.submit.batchsql.MAX_VALUES), and every row, standing and the stats still come out."""
    make_domain_claim(db, slug="big-batch", now=T0, closes_at=T0 + timedelta(days=30))
    make_domain_claim(db, slug="other-claim", now=T0, closes_at=T0 + timedelta(days=30))
    tokens = [make_account(db, handle=f"f{i}") for i in range(150)]
    with db.reading() as session:
        ids = {a.handle: a.id for a in session.exec(select(Account))}
    requests = [
        SubmitRequest(
            account_id=ids[f"f{i}"],  # type: ignore[arg-type]
            handle=f"f{i}",
            slug="big-batch" if k == 0 else "other-claim",
            probability=0.01 + (i % 98) / 100,
            token_hash=hash_token(tokens[i]),
        )
        for k in range(2)
        for i in range(150)
    ]
    requests.append(
        SubmitRequest(account_id=ids["f0"], handle="f0", slug="big-batch", probability=None)
    )
    clock = FakeClock(now=T0 + timedelta(days=1))
    with db.write_engine.begin() as conn:
        outcomes = append_batch(conn, requests, clock, answer=forecast_answer)
    assert all(isinstance(o, Accepted) and o.status == 201 for o in outcomes)
    seqs = [o.record.ledger_seq for o in outcomes if isinstance(o, Accepted)]
    assert seqs == list(range(seqs[0], seqs[0] + len(requests)))
    with db.reading() as session:
        assert len(session.exec(select(Forecast)).all()) == 301
        standings = session.exec(select(Standing)).all()
        assert len(standings) == 300
        withdrawn = [s for s in standings if s.probability is None]
        assert [s.account_id for s in withdrawn] == [ids["f0"]]
        stats = {s.claim_id: s for s in session.exec(select(ClaimStats))}
        assert sorted(s.forecasters for s in stats.values()) == [149, 150]
        assert all(s.last_seq == seqs[-1] for s in stats.values())
        report = verify_database(session)
    assert report.problems == [] and report.commitments == 301
