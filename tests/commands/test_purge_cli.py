"""`appeals purge` as an administrator runs it, on a real SQLite read model: the dry
run lists and changes nothing, the run purges and says so, a second run finds nothing,
and a database that does not answer is one line with nothing purged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from db.engine import make_engine, migrate
from db.tables import CaseRow, PurgeRow
from tests.commands.conftest import Appeals

NAME, PHONE = "欧阳春花", "13912345678"


def seed(appeals: Appeals) -> None:
    url = appeals.settings.db_url
    engine = make_engine(url)  # (makes the data directory)
    migrate(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        for case_id, closed, status in (
            ("AP-OLD0000001", now - timedelta(days=400), "closed"),
            ("AP-MID0000001", now - timedelta(days=40), "withdrawn"),
            ("AP-NEW0000001", now - timedelta(days=10), "closed"),
            ("AP-OPEN000001", None, "open"),
        ):
            session.add(
                CaseRow(
                    case_id=case_id,
                    status=status,
                    request_id=case_id,
                    category="housing",
                    occupation="rider",
                    channel="hotline",
                    name=NAME,
                    phone=PHONE,
                    summary=f"{NAME}称房东拒退押金",
                    residence="440106",
                    workplace="440106",
                    opened_at=now - timedelta(days=500),
                    closed_at=closed,
                    phone_hash="a" * 64,
                )
            )
        session.commit()
    engine.dispose()


def rows(appeals: Appeals) -> tuple[dict[str, CaseRow], list[PurgeRow]]:
    engine = make_engine(appeals.settings.db_url)
    with Session(engine) as session:
        cases = {c.case_id: c for c in session.exec(select(CaseRow))}
        audit = list(session.exec(select(PurgeRow)))
        session.expunge_all()
    engine.dispose()
    return cases, audit


def test_dry_run_then_purge_then_nothing(appeals: Appeals) -> None:
    seed(appeals)
    dry = json.loads(appeals("purge", "--dry-run", "--json").stdout)
    # Retention 365 days, repeat window 30: the case closed 400 days ago is purged, the
    # one closed 40 days ago only loses its hashes, the one closed 10 days ago nothing.
    assert (dry["dry_run"], dry["case_ids"], dry["hash_case_ids"]) == (
        True,
        ["AP-OLD0000001"],
        ["AP-MID0000001"],
    )
    cases, audit = rows(appeals)
    assert cases["AP-OLD0000001"].name == NAME and audit == []

    out = appeals("purge").stdout
    assert "purged 1 case(s)" in out and "AP-OLD0000001" in out and NAME not in out
    cases, audit = rows(appeals)
    assert cases["AP-OLD0000001"].purged_at is not None
    assert (cases["AP-OLD0000001"].name, cases["AP-OLD0000001"].phone) == ("", "")
    assert NAME not in cases["AP-OLD0000001"].summary
    for kept in ("AP-MID0000001", "AP-NEW0000001", "AP-OPEN000001"):
        assert cases[kept].name == NAME and cases[kept].purged_at is None
    assert cases["AP-MID0000001"].phone_hash is None
    assert cases["AP-NEW0000001"].phone_hash and cases["AP-OPEN000001"].phone_hash
    (row,) = audit
    assert row.actor.startswith("cli:") and json.loads(row.case_ids) == ["AP-OLD0000001"]

    again = json.loads(appeals("purge", "--json").stdout)
    assert again["cases"] == 0 and len(rows(appeals)[1]) == 2


def test_a_database_that_does_not_answer_is_one_line(appeals: Appeals) -> None:
    refused = appeals(
        "purge",
        code=1,
        APPEALS_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/appeals",
    )
    assert "nothing was purged" in refused.stderr
