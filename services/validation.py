"""Bad input in one line, whatever pydantic found."""

from __future__ import annotations

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
