"""A failing statement's error names the statement, never the values it carried."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.engine import make_engine, migrate
from db.tables import CaseRow

PHONE, NAME, ID_NUMBER = "13912345678", "张三丰", "11010519491231002X"


def row(case_id: str) -> CaseRow:
    return CaseRow(
        case_id=case_id,
        status="open",
        request_id="r-1",
        category="wage_arrears",
        occupation="rider",
        channel="hotline",
        name=NAME,
        phone=PHONE,
        id_number=ID_NUMBER,
        summary=f"{NAME} {PHONE}",
        residence="440106",
        workplace="440106",
        opened_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_failed_write_does_not_echo_personal_data(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'read.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    migrate(url)
    engine = make_engine(url)
    case_id = f"C-privacy-{backend}-{tmp_path.name}"[:40]
    with Session(engine) as session:
        session.add(row(case_id))
        session.commit()
    with Session(engine) as session, pytest.raises(IntegrityError) as failed:
        session.add(row(case_id))  # the same primary key: the database refuses it
        session.commit()
    text = str(failed.value)
    assert "INSERT INTO cases" in text and "hidden" in text
    for secret in (PHONE, NAME, ID_NUMBER):
        assert secret not in text
    engine.dispose()
