"""Where identity is decided: a password or a bearer token becomes a ``Principal``.

Local passwords and tokens live here. A city's unified identity platform (OIDC, e.g.
through authlib) would be one more function beside ``login`` that maps the verified
claims to a staff id and ends in ``principal_for``: the directory stays the one place
that says what role and office a person has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from auth import passwords, tokens
from auth.policy import Role
from db.engine import brief_lock_wait
from db.tables import AccountRow, TokenRow
from models.common import StaffRole
from routing_rules import Directory

log = logging.getLogger("appeals.auth")

ACCESS_TTL = timedelta(hours=8)
SLOW_AFTER = 3  # failures after which every further attempt is answered slowly
LOCK_AFTER = 5  # failures that lock the account
LOCK_FOR = timedelta(minutes=15)


REFUSED = "wrong user name or password (after 5 failures an account is locked for 15 minutes)"


class AuthError(Exception):
    """Authentication failed; the message is safe to show (it never says which part)."""

    def __init__(self, message: str, *, delay: float = 0.0) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class Principal:
    """An authenticated person, as the directory describes them now."""

    staff_id: str
    name: str
    role: Role
    department: str
    region: str
    office: str | None
    platform: str | None
    # Region codes this person's region covers; None: the whole deployment.
    regions: frozenset[str] | None

    def in_region(self, code: str | None) -> bool:
        return self.regions is None or (code is not None and code in self.regions)


def principal_for(directory: Directory, staff_id: str) -> Principal | None:
    """The person behind ``staff_id``, or None when the directory no longer lists them."""
    member = directory.staff_member(staff_id)
    if member is None:
        return None
    role = Role(member.role.value)
    if member.role is StaffRole.handler and member.head:
        role = Role.head
    root = directory.deployment.root_region
    regions: frozenset[str] | None = None
    if member.region != root:
        regions = frozenset(
            code
            for code in directory.regions
            if any(r.code == member.region for r in directory.region_chain(code))
        )
    return Principal(
        staff_id=member.id,
        name=member.name,
        role=role,
        department=member.department,
        region=member.region,
        office=member.office,
        platform=member.platform,
        regions=regions,
    )


def login(
    session: Session, directory: Directory, username: str, password: str, *, now: datetime
) -> Principal:
    """Check a password; count failures, slow down and lock after repeated ones."""
    refused = REFUSED
    account = session.get(AccountRow, username.strip()[:64])
    if account is None:
        passwords.verify_password(None, password)  # same cost as a real check
        raise AuthError(refused, delay=0.5)
    if account.disabled:
        passwords.verify_password(None, password)
        raise AuthError(refused, delay=0.5)
    if account.locked_until is not None and account.locked_until > now:
        # The same words and the same cost as a wrong password: a lock must not tell
        # a guesser which names are real accounts.
        passwords.verify_password(None, password)
        raise AuthError(refused, delay=0.5)
    if not passwords.verify_password(account.password_hash, password):
        account.failed_logins += 1
        delay = 0.0
        if account.failed_logins >= LOCK_AFTER:
            account.locked_until = now + LOCK_FOR
            account.failed_logins = 0
        elif account.failed_logins >= SLOW_AFTER:
            delay = float(2 ** (account.failed_logins - SLOW_AFTER + 1))
        session.add(account)
        session.commit()
        raise AuthError(refused, delay=delay)
    principal = principal_for(directory, account.staff_id)
    if principal is None:
        raise AuthError(refused, delay=0.5)
    assert account.password_hash is not None
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    session.add(account)
    session.commit()
    return principal


def issue_token(
    session: Session,
    staff_id: str,
    *,
    now: datetime,
    kind: str = "access",
    ttl: timedelta = ACCESS_TTL,
    name: str | None = None,
) -> tuple[str, TokenRow]:
    token, token_id, secret_hash = tokens.new_token()
    row = TokenRow(
        id=token_id,
        staff_id=staff_id,
        kind=kind,
        name=name,
        secret_hash=secret_hash,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.commit()
    session.refresh(row)  # loaded, so the caller may read it after the session ends
    return token, row


def authenticate(session: Session, directory: Directory, token: str, *, now: datetime) -> Principal:
    """The person behind a bearer token; every right ends at once when the account is
    disabled, the person leaves the directory, or the token expires or is revoked."""
    parts = tokens.split(token)
    if parts is None:
        raise AuthError("not a valid token: log in again")
    token_id, secret = parts
    row = session.get(TokenRow, token_id)
    if row is None or not tokens.matches(row.secret_hash, secret):
        raise AuthError("not a valid token: log in again")
    if row.revoked_at is not None:
        raise AuthError("this token was revoked: log in again")
    if row.expires_at <= now:
        raise AuthError("this token has expired: log in again")
    account = session.get(AccountRow, row.staff_id)
    if account is None or account.disabled:
        raise AuthError("this account is disabled")
    principal = principal_for(directory, row.staff_id)
    if principal is None:
        raise AuthError("this account is no longer in the staff directory")
    _note_use(session, row, now)
    return principal


# When this process last tried to record each token's use: a write that failed is not
# tried again by every request of the next minute (each would wait on the same lock).
_tried: dict[str, datetime] = {}
USE_EVERY = timedelta(minutes=1)
TRIED_KEPT = 1024  # past this many, the stale entries are dropped


def _note_use(session: Session, row: TokenRow, now: datetime) -> None:
    """Record when a token was last used, at most once a minute, and never at the cost
    of the request: bookkeeping waits for a held write lock only briefly."""
    if row.last_used_at is not None and now - row.last_used_at <= USE_EVERY:
        return  # a busy script must not turn reads into writes
    tried = _tried.get(row.id)
    if tried is not None and timedelta(0) <= now - tried <= USE_EVERY:
        return
    if len(_tried) >= TRIED_KEPT:
        # Entries older than a minute decide nothing any more: forget them, so a
        # long-running API does not keep one per token it ever saw.
        for token_id, at in list(_tried.items()):
            if not timedelta(0) <= now - at <= USE_EVERY:
                _tried.pop(token_id, None)  # another thread may prune it first
    _tried[row.id] = now
    row.last_used_at = now
    session.add(row)
    try:
        # The UPDATE is where the write lock is waited for; the commit then returns the
        # connection to the pool, so it comes after the usual wait is restored.
        with brief_lock_wait(session):
            session.flush()
        session.commit()
    except OperationalError:
        # A database that takes no writes just now (SQLite locked, PostgreSQL
        # read-only) must not refuse a valid token, whose reads and actions work
        # without it; a minute later a request tries again.
        session.rollback()
        log.warning("could not record when token %s was last used", row.id)


def revoke(session: Session, token_id: str, *, now: datetime) -> None:
    row = session.get(TokenRow, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.commit()
