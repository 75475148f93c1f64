"""Account administration: `appeals users add | passwd | disable | enable | list | token …`,
and the embedded stack's dev seeding. Local: it needs the database, not the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from auth import passwords
from auth.identity import issue_token, principal_for
from db.tables import AccountRow, TokenRow
from routing_rules import Directory

PERSONAL_TTL_MAX = timedelta(days=366)


class AccountError(Exception):
    """An administration request that cannot be done; the message says why."""


@dataclass(frozen=True)
class AccountView:
    staff_id: str
    name: str
    role: str
    office: str | None
    disabled: bool
    locked_until: datetime | None
    has_password: bool
    dev_seeded: bool
    last_login_at: datetime | None


def _account(session: Session, staff_id: str) -> AccountRow:
    account = session.get(AccountRow, staff_id)
    if account is None:
        raise AccountError(f"no account {staff_id!r}: add it with `appeals users add {staff_id}`")
    return account


def add(
    session: Session, directory: Directory, staff_id: str, password: str, *, now: datetime
) -> None:
    if directory.staff_member(staff_id) is None:
        raise AccountError(f"{staff_id!r} is not in the staff directory (staff.yaml)")
    if session.get(AccountRow, staff_id) is not None:
        raise AccountError(f"{staff_id} already has an account; use `appeals users passwd`")
    if (why := passwords.check_strength(password)) is not None:
        raise AccountError(why)
    session.add(
        AccountRow(
            staff_id=staff_id,
            password_hash=passwords.hash_password(password),
            created_at=now,
            password_changed_at=now,
        )
    )
    session.commit()


def set_password(session: Session, staff_id: str, password: str, *, now: datetime) -> None:
    if (why := passwords.check_strength(password)) is not None:
        raise AccountError(why)
    account = _account(session, staff_id)
    account.password_hash = passwords.hash_password(password)
    account.password_changed_at = now
    account.failed_logins = 0
    account.locked_until = None
    account.dev_seeded = False
    session.add(account)
    _revoke_all(session, staff_id, now=now)  # a new password ends every old session
    session.commit()


def set_disabled(session: Session, staff_id: str, disabled: bool, *, now: datetime) -> None:
    """Disabling revokes every token at once, so no running session outlives it."""
    account = _account(session, staff_id)
    account.disabled = disabled
    session.add(account)
    if disabled:
        _revoke_all(session, staff_id, now=now)
    session.commit()


def _revoke_all(session: Session, staff_id: str, *, now: datetime) -> None:
    for token in session.scalars(
        select(TokenRow).where(
            col(TokenRow.staff_id) == staff_id, col(TokenRow.revoked_at).is_(None)
        )
    ):
        token.revoked_at = now
        session.add(token)


def list_accounts(session: Session, directory: Directory) -> list[AccountView]:
    out = []
    for account in session.scalars(select(AccountRow).order_by(col(AccountRow.staff_id))):
        person = principal_for(directory, account.staff_id)
        out.append(
            AccountView(
                staff_id=account.staff_id,
                name=person.name if person else "(not in the directory)",
                role=person.role.value if person else "-",
                office=person.office if person else None,
                disabled=account.disabled,
                locked_until=account.locked_until,
                has_password=account.password_hash is not None,
                dev_seeded=account.dev_seeded,
                last_login_at=account.last_login_at,
            )
        )
    return out


def create_personal_token(
    session: Session, staff_id: str, *, name: str, days: int, now: datetime
) -> tuple[str, TokenRow]:
    account = _account(session, staff_id)
    if account.disabled:
        raise AccountError(f"{staff_id} is disabled; enable the account first")
    ttl = timedelta(days=days)
    if not timedelta(days=1) <= ttl <= PERSONAL_TTL_MAX:
        raise AccountError("a personal token lives between 1 and 366 days (--days)")
    return issue_token(session, staff_id, now=now, kind="personal", ttl=ttl, name=name)


def list_tokens(session: Session, staff_id: str | None = None) -> list[TokenRow]:
    stmt = select(TokenRow).where(col(TokenRow.kind) == "personal")
    if staff_id:
        stmt = stmt.where(col(TokenRow.staff_id) == staff_id)
    return list(session.scalars(stmt.order_by(col(TokenRow.created_at).desc())))


def revoke_token(session: Session, token_id: str, *, now: datetime) -> None:
    row = session.get(TokenRow, token_id.removeprefix("ap_")[:16])
    if row is None:
        raise AccountError(f"no token {token_id!r}; see `appeals users token list`")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.commit()


def seed_dev(session: Session, directory: Directory, password: str, *, now: datetime) -> int:
    """Give every directory member without an account the dev password (embedded stack only).

    One Argon2 hash serves all: the accounts are a sample's, and hashing sixty times
    would slow every start of `appeals dev` by seconds.
    """
    known = set(session.scalars(select(col(AccountRow.staff_id))))
    hashed = passwords.hash_password(password)
    added = 0
    for staff_id in directory.staff:
        if staff_id in known:
            continue
        session.add(
            AccountRow(
                staff_id=staff_id,
                password_hash=hashed,
                created_at=now,
                password_changed_at=now,
                dev_seeded=True,
            )
        )
        added += 1
    session.commit()
    return added
