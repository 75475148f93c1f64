"""`appeals report`: the supervisors' figures through the API, as a table, JSON, CSV or
XLSX (Chinese headers, for the spreadsheets offices pass around)."""

from __future__ import annotations

import csv
import io
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from rich.table import Table

from commands.api import api
from commands.common import UserError, console, print_json
from reports.columns import COLUMNS, DIMENSION_LABELS, RATE_FIELDS
from reports.formulas import percent


class By(StrEnum):
    office = "office"
    department = "department"
    region = "region"
    category = "category"
    platform = "platform"


class PeriodOpt(StrEnum):
    day = "day"
    week = "week"
    month = "month"


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-01") from None
    return value


Day = Annotated[str | None, typer.Option(callback=_day, help="local date, e.g. 2026-11-01")]
TABLE_COLUMNS = (
    "label", "period", "received", "sign_rate", "on_time_rate", "resolution_rate",
    "satisfaction_rate", "returns_given", "wrongful_returns", "transfers_given",
    "designations_received", "rung_1", "rung_2", "rung_3", "extensions_asked",
    "sign_p50_hours", "reply_p50_hours",
)  # fmt: skip


def cell(field: str, value: Any) -> Any:
    """A value as a person reads it: rates in per cent, nothing as empty."""
    if field in RATE_FIELDS:
        return percent(value) if value is not None else ""
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in COLUMNS])
    for r in rows:
        writer.writerow([cell(f, r.get(f)) for f, _ in COLUMNS])
    return buf.getvalue()


def to_xlsx(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append([label for _, label in COLUMNS])
    for r in rows:
        # Rates stay numbers (formatted as per cent) so a spreadsheet can sort them.
        ws.append([r.get(f) for f, _ in COLUMNS])
    for i, (field, label) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(10, min(30, len(label) * 2))
        if field in RATE_FIELDS:
            for c in ws[letter][1:]:
                c.number_format = "0.0%"
    ws.freeze_panes = "B2"
    wb.save(path)


def register(app: typer.Typer) -> None:
    app.command("report-rebuild")(rebuild_command)

    @app.command()
    def report(
        by: Annotated[By, typer.Option(help="group by")] = By.office,
        start: Annotated[
            str | None,
            typer.Option("--from", callback=_day, help="first local day (default: 4 weeks ago)"),
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", callback=_day, help="last local day (default today)")
        ] = None,
        period: Annotated[
            PeriodOpt | None, typer.Option(help="split by day, week or month")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV, Chinese headers")] = False,
        as_xlsx: Annotated[
            bool, typer.Option("--xlsx", help="Excel workbook; needs --out")
        ] = False,
        out: Annotated[Path | None, typer.Option(help="write to this file")] = None,
    ) -> None:
        """Figures per office (department, region, category, platform): 签收率, 按时办结率,
        解决率, 满意率, returns, transfers, breaches, extensions, working hours to sign and
        reply — in your scope. The README gives every formula."""
        if sum((as_json, as_csv, as_xlsx)) > 1:
            raise typer.BadParameter("choose one of --json, --csv, --xlsx")
        if as_xlsx and out is None:
            raise typer.BadParameter("--xlsx writes a file: give --out FILE.xlsx")
        data: dict[str, Any] = api().get(
            "/reports/figures",
            by=by.value,
            **{"from": start, "to": end},
            period=period.value if period else None,
        )
        rows: list[dict[str, Any]] = data["rows"]
        if as_xlsx:
            assert out is not None
            to_xlsx(rows, out, f"{DIMENSION_LABELS[by.value]} {data['from']}～{data['to']}")
            console.print(f"wrote {len(rows)} rows to {out}")
            return
        if as_json or as_csv:
            text = to_csv(rows) if as_csv else None
            if out is not None:
                write(out, text if text is not None else _json(data))
                console.print(f"wrote {len(rows)} rows to {out}")
            elif text is not None:
                print(text, end="")
            else:
                print_json(data)
            return
        if not rows:
            console.print(f"no tasks received from {data['from']} to {data['to']} in your scope")
            return
        headers = dict(COLUMNS)
        table = Table(
            title=f"{DIMENSION_LABELS[by.value]} {data['from']} – {data['to']}",
            caption="rates over what was due (README: Figures); — nothing was due",
        )
        shown = [c for c in TABLE_COLUMNS if c != "period" or data["period"]]
        for c in shown:
            table.add_column(headers[c], overflow="fold")
        for r in rows:
            table.add_row(*(str(cell(c, r.get(c))) for c in shown))
        console.print(table)


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def write(path: Path, text: str) -> None:
    try:
        # utf-8-sig: spreadsheets open a CSV with a BOM as UTF-8, not the local code page
        path.write_text(text, encoding="utf-8-sig" if path.suffix == ".csv" else "utf-8")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror}") from e


def rebuild_command() -> None:
    """Derive every task's figures again from the read model (local: needs the
    database): after upgrading a read model projected before the figures existed."""
    from sqlalchemy.exc import SQLAlchemyError

    from activities.calendar_source import CalendarSource
    from activities.facts import FigureMath, rebuild
    from commands.common import settings
    from db.engine import make_engine, migrate

    s = settings()
    engine = make_engine(s.db_url)
    try:
        migrate(s.db_url)
        math = FigureMath(CalendarSource(s.rules_dir / "calendar.yaml"), s.tz)
        count = rebuild(engine, math)
    except SQLAlchemyError as e:
        raise UserError(
            f"the database refused: {type(e).__name__}; check APPEALS_DATABASE_URL"
        ) from e
    finally:
        engine.dispose()
    console.print(f"derived the figures of {count} cases")
