"""`appeals report` against a real HTTP server over a seeded read model: each person
sees the figures of their scope (city, district, office head), exports carry Chinese
headers, the drill-down lists the tasks behind a number, and bad input is one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session

from activities.facts import upsert
from api.app import create_app
from db.engine import make_engine, migrate
from tests.commands.conftest import Appeals, serving
from tests.reports.rows import DAY, row

PASSWORD = "rider-desk-2026"
PEOPLE = ("sup.zhang", "sup.panyu.ou", "hrss.tianhe.li", "hrss.tianhe.wang")
SPAN = ("--from", DAY.isoformat(), "--to", "2026-11-08")


def seed(appeals: Appeals) -> None:
    url = appeals.settings.db_url
    migrate(url)
    rows = [
        # 天河: 4 tasks, 3 signed on time of 4 due
        *(
            row(n, sign_state="on_time" if n < 3 else "late", sign_minutes=60 * (n + 1))
            for n in range(4)
        ),
        # 番禺: 2 tasks, 1 of 2
        row(0, "hrss.panyu", sign_state="on_time", returned=True, status="returned"),
        row(1, "hrss.panyu", sign_state="late"),
    ]
    engine = make_engine(url)
    with Session(engine) as session:
        upsert(session, rows)
        session.commit()
    engine.dispose()


def test_report_in_each_scope_with_exports_and_drill_down(appeals: Appeals, tmp_path: Path) -> None:
    for person in PEOPLE:
        appeals("users", "add", person, "--password-stdin", stdin=PASSWORD + "\n")
    seed(appeals)
    with serving(create_app(appeals.settings)) as url:
        a = Appeals(appeals.data_dir, appeals.env | {"APPEALS_API_URL": url}, appeals.outputs)

        def login(person: str) -> None:
            a("login", "--username", person, "--password-stdin", stdin=PASSWORD + "\n")

        def offices(*extra: str) -> dict[str, dict[str, object]]:
            data = json.loads(a("report", "--by", "office", *SPAN, "--json", *extra).stdout)
            return {r["key"]: r for r in data["rows"]}

        login("sup.zhang")  # the city: every office
        city = offices()
        assert set(city) == {"hrss.tianhe", "hrss.panyu"}
        assert city["hrss.tianhe"]["received"] == 4
        assert city["hrss.tianhe"]["sign_rate"] == 0.75
        assert city["hrss.panyu"]["sign_rate"] == 0.5
        assert city["hrss.panyu"]["returns_given"] == 1
        # median of 60, 120, 180, 240 minutes by nearest rank: the 2nd, 2 hours
        assert city["hrss.tianhe"]["sign_p50_hours"] == 2.0

        table = a("report", *SPAN).stdout
        assert "签收率" in table and "75.0%" in table and "天河区人社局" in table

        text = a("report", "--by", "region", *SPAN, "--csv").stdout
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0][:4] == ["名称", "周期", "受理量", "签收率"]
        assert {tuple(r[:4]) for r in lines[1:]} == {
            ("天河区", "", "4", "75.0%"),
            ("番禺区", "", "2", "50.0%"),
        }

        book = tmp_path / "offices.xlsx"
        a("report", *SPAN, "--period", "week", "--xlsx", "--out", str(book))
        sheet = load_workbook(book).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        assert header[:4] == ["名称", "周期", "受理量", "签收率"]
        values = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert values["天河区人社局"][1] == DAY.isoformat()  # the week of Monday 2 Nov
        assert values["天河区人社局"][3] == 0.75
        assert sheet.cell(row=2, column=4).number_format == "0.0%"

        login("sup.panyu.ou")  # a district: its own offices only
        assert set(offices()) == {"hrss.panyu"}

        login("hrss.tianhe.li")  # an office head: their office only
        assert set(offices()) == {"hrss.tianhe"}

        login("hrss.tianhe.wang")  # a handler does not read the office's assessment
        refused = a("report", *SPAN, code=1).stderr
        assert "may not report.read" in refused

        # Bad input: one line, exit 2, before anything is asked of the API.
        assert "'nowhere' is not one of" in a("report", "--by", "nowhere", code=2).stderr
        assert "not a date like 2026-11-01" in a("report", "--from", "2026-13-01", code=2).stderr
        assert "give --out" in a("report", "--xlsx", code=2).stderr

    # Local administration: derive the figures again from the read model's tasks (the
    # rows above were written straight into task_figures; no task stands behind them).
    assert "derived the figures of 0 cases" in appeals("report-rebuild").stdout

    # The drill-down, through the API: the head's own office, and nothing of others'.
    api = appeals.api()
    token = api.post("/api/v1/token", data={"username": "hrss.tianhe.li", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    span = {"from": DAY.isoformat(), "to": "2026-11-08"}
    r = api.get(
        "/api/v1/reports/drill",
        params={"key": "hrss.tianhe", "metric": "signed_on_time", **span},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 3
    assert {t["task"] for t in r.json()["tasks"]} == {f"AP-hrss.tianhe-{n}-T1" for n in range(3)}
    r = api.get(
        "/api/v1/reports/drill",
        params={"key": "hrss.panyu", "metric": "received", **span},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["total"] == 0  # outside their office
    r = api.get(
        "/api/v1/reports/drill",
        params={"key": "hrss.tianhe", "metric": "bogus", **span},
        headers=headers,
    )
    assert r.status_code == 422 and "not a figure" in r.json()["detail"]
    r = api.get("/api/v1/reports/figures", params={"by": "x"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"].startswith("by 'x' is not one of")
