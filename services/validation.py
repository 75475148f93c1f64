"""Bad input in one line, whatever pydantic found."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from services.errors import BadInput

M = TypeVar("M", bound=BaseModel)


def one_line(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and where == "actor":
            msg = "the actor is the logged-in person; do not send it"
        parts.append(f"{where}: {msg}")
    return "invalid input: " + "; ".join(parts)


def parse(model: type[M], body: dict[str, Any] | BaseModel) -> M:
    if isinstance(body, model):
        return body
    try:
        return model.model_validate(body if isinstance(body, dict) else body.model_dump())
    except ValidationError as e:
        raise BadInput(one_line(e)) from e


def moment(text: str, *, field: str, tz: tzinfo) -> datetime:
    """An ISO 8601 date or time between 1970 and 2100 (a local one in ``tz``)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as e:
        raise BadInput(f"{field} {text[:40]!r} is not ISO 8601, e.g. 2026-09-30T10:00+08:00") from e
    value = value if value.tzinfo else value.replace(tzinfo=tz)
    if not 1970 <= value.year <= 2100:
        raise BadInput(f"{field} must lie between 1970 and 2100")
    return value
