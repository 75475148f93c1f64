"""Bearer tokens: ``ap_<id>_<secret>``. The id finds the row; only sha256(secret) is kept,
so a copy of the database gives no usable token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "ap_"


def new_token() -> tuple[str, str, str]:
    """(token to hand out, its id, the hash to store)."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}{token_id}_{secret}", token_id, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token.removeprefix(PREFIX).partition("_")
    if not sep or len(token_id) != 16 or not secret or len(secret) > 100:
        return None
    return token_id, secret


def matches(stored_hash: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hash, digest(secret))


def csrf_for(token: str) -> str:
    """The CSRF token of a web session: derived from the session's secret cookie, so
    a page from another site, which cannot read the cookie, cannot forge it."""
    return hashlib.sha256(b"csrf:" + token.encode()).hexdigest()[:32]
