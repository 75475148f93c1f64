"""The only place that hashes and checks passwords (Argon2id, argon2-cffi's defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the account is unknown, so that a wrong name costs as much time as a
# wrong password and the response time does not tell which accounts exist.
_DUMMY = _hasher.hash("not-a-password-of-anyone")

MIN_LENGTH = 10


def check_strength(password: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "the password must not start or end with spaces"
    if len(set(password)) < 4:
        return "the password is too repetitive"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
