"""`appeals purge [--dry-run] [--json]` (local administration: the database): the
personal data of cases closed longer ago than APPEALS_RETENTION_DAYS leaves the read
model, the figures stay; the repeat-matching hashes go once the repeat window is over.
The `appeals-purge` schedule does the same every night (schedules.py)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from commands.common import UserError, console, local, print_json, settings


def _who() -> str:
    """The operating-system account that ran the command, for the audit row."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return "cli:unknown"


def register(app: typer.Typer) -> None:
    @app.command()
    def purge(
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="say what would be purged; change nothing")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
    ) -> None:
        """Blank the worker's name, phone and ID number (and any phone or ID number in the
        case's free text) of cases closed more than APPEALS_RETENTION_DAYS ago, keeping
        their figures; clear the repeat-matching hashes of cases closed more than
        APPEALS_REPEAT_WINDOW_DAYS ago. Writes an audit row (who, when, which cases)."""
        from sqlalchemy.exc import SQLAlchemyError

        from activities.purge import purge as run_purge
        from db.engine import make_engine, migrate

        s = settings()
        engine = make_engine(s.db_url)
        try:
            migrate(s.db_url)
            result = run_purge(
                engine,
                now=datetime.now(UTC),
                retention_days=s.retention_days,
                repeat_window_days=s.repeat_window_days,
                actor=_who(),
                dry_run=dry_run,
            )
        except SQLAlchemyError as e:
            raise UserError(
                f"the database refused: {type(e).__name__}; nothing was purged"
                " (check APPEALS_DATABASE_URL)"
            ) from e
        finally:
            engine.dispose()
        if as_json:
            print_json(result.as_dict())
            return
        verb = "would purge" if dry_run else "purged"
        table = Table(box=None, show_header=False)
        table.add_row(
            f"personal data ({s.retention_days} days after closing)",
            f"{verb} {len(result.case_ids)} case(s) closed before {local(result.cutoff, s)}",
        )
        table.add_row(
            f"repeat hashes ({s.repeat_window_days} days after closing)",
            f"{'would clear' if dry_run else 'cleared'} {len(result.hash_case_ids)} case(s)"
            f" closed before {local(result.hash_cutoff, s)}",
        )
        console.print(table)
        for case_id in result.case_ids:
            console.print(f"  {case_id}", highlight=False)
        if dry_run:
            console.print("dry run: nothing was changed", highlight=False)
