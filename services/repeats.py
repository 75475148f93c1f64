"""Repeat appeals (重复来电): the same worker, the same matter, again.

A worker is recognised by keyed hashes (HMAC-SHA256 with ``APPEALS_MATCH_KEY``) of
their phone and ID number, stored on the case row: the numbers themselves are never
compared or searched. A new call repeats a case when the hashes match (phone or ID
number), the category is the same and so is the counterparty — the platform, or for a
grievance without one, the place (the incident place, else the workplace) — and that
case is still open, or closed within ``APPEALS_REPEAT_WINDOW_DAYS`` (30 by default).

The clerk sees the matches before submitting (``POST /cases/repeats``; the intake form;
``appeals open`` prints them) and chooses: ``repeat_of`` the matched case — an open one
takes the call as a "repeat" event (priority raised, offices told, no second task), a
closed one gets a new case linked to it (``repeat_of``, counted once in the figures) —
or ``not_repeat`` for a separate case. Opening without a choice while a match exists is
a 409 that names the matches: nothing is merged, or duplicated, silently.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from db.tables import CaseRow
from models.intake import IntakeForm
from services.context import Context
from services.errors import ServiceError
from settings import Settings

OPEN = ("open", "in_review", "awaiting_callback")
KEY_FILE = "match.key"


class MatchKeyMissing(ServiceError):
    status = 503


def match_key(settings: Settings) -> bytes:
    """APPEALS_MATCH_KEY, or on the embedded stack a key made once under the data
    directory (mode 0600). Production must set the key: it is what keeps a stolen
    read model from being searched for a phone number."""
    if settings.match_key is not None:
        return settings.match_key.get_secret_value().encode()
    if not settings.embedded:
        raise MatchKeyMissing("APPEALS_MATCH_KEY is not set: repeat appeals cannot be matched")
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def keyed_hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def worker_hashes(settings: Settings, phone: str, id_number: str | None) -> tuple[str, str | None]:
    """(phone hash, ID number hash or None): the phone without separators, the ID
    number upper-case, as the intake form normalises it."""
    key = match_key(settings)
    phone_hash = keyed_hash(key, "phone", phone.replace("-", ""))
    ident = keyed_hash(key, "id", id_number.upper()) if id_number else None
    return phone_hash, ident


def place_of(form: IntakeForm) -> str:
    return form.incident or form.workplace


@dataclass(frozen=True)
class RepeatMatch:
    case_id: str
    status: str
    category: str
    platform: str | None
    place: str
    opened_at: datetime
    closed_at: datetime | None
    matched_on: list[str]  # "phone", "id_number"
    action: str  # "merge" (the case is open) or "link" (closed within the window)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["opened_at"] = self.opened_at.isoformat()
        d["closed_at"] = self.closed_at.isoformat() if self.closed_at else None
        return d

    def line(self) -> str:
        what = (
            "open: the call is added to it (repeat event, priority raised, no new task)"
            if self.action == "merge"
            else f"closed {self.closed_at:%Y-%m-%d}: a new case is linked to it"
        )
        return f"{self.case_id} ({self.status}; same {' and '.join(self.matched_on)}) — {what}"


def find_repeats(
    ctx: Context, form: IntakeForm, *, now: datetime, exclude: str | None = None
) -> list[RepeatMatch]:
    """The cases this call may repeat, open ones first, newest first."""
    return find_matches(
        ctx,
        phone=form.phone,
        id_number=form.id_number,
        category=form.category,
        platform=form.platform,
        place=place_of(form),
        now=now,
        exclude=exclude,
    )


def find_matches(
    ctx: Context,
    *,
    phone: str,
    id_number: str | None,
    category: str,
    platform: str | None,
    place: str,
    now: datetime,
    exclude: str | None = None,
) -> list[RepeatMatch]:
    phone, ident = worker_hashes(ctx.settings, phone, id_number)
    since = now - timedelta(days=ctx.settings.repeat_window_days)
    same_worker = col(CaseRow.phone_hash) == phone
    if ident is not None:
        same_worker = or_(same_worker, col(CaseRow.id_hash) == ident)
    if platform is not None:
        counterparty = col(CaseRow.platform) == platform
    else:
        counterparty = and_(
            col(CaseRow.platform).is_(None),
            func.coalesce(col(CaseRow.incident), col(CaseRow.workplace)) == place,
        )
    live = or_(
        col(CaseRow.status).in_(OPEN),
        and_(col(CaseRow.closed_at).is_not(None), col(CaseRow.closed_at) >= since),
    )
    query = select(CaseRow).where(
        same_worker, col(CaseRow.category) == category, counterparty, live
    )
    if exclude is not None:
        query = query.where(col(CaseRow.case_id) != exclude)
    with ctx.session() as session:
        rows = list(session.execute(query.order_by(col(CaseRow.opened_at).desc())).scalars())
    found = []
    for row in rows:
        on = [n for n, h in (("phone", phone), ("id_number", ident)) if h and _hash(row, n) == h]
        found.append(
            RepeatMatch(
                case_id=row.case_id,
                status=row.status,
                category=row.category,
                platform=row.platform,
                place=row.incident or row.workplace,
                opened_at=row.opened_at,
                closed_at=row.closed_at,
                matched_on=on,
                action="merge" if row.status in OPEN else "link",
            )
        )
    return sorted(found, key=lambda m: m.action != "merge")


def _hash(row: CaseRow, name: str) -> str | None:
    return row.phone_hash if name == "phone" else row.id_hash
