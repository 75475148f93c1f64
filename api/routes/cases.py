"""Cases: open, show, reveal, and the case actions (withdraw, callback, urge, …)."""

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Ctx, CurrentUser, IdempotencyKey
from api.permissions import CaseId, needs, on_case
from auth.policy import Action
from models.case import CaseState
from models.common import RegionCode
from models.intake import IntakeForm
from services import cases
from services.actions import CASE_VERBS, Body, Verb

router = APIRouter(prefix="/cases", tags=["cases"])


class Opened(BaseModel):
    case_id: str
    merged: bool = False  # the call was added to this open case as a repeat (no new case)
    repeat_of: str | None = None  # the recently closed case this new one repeats


class IntakeRequest(IntakeForm):
    """The intake form; without a ``request_id`` the server makes one (not idempotent).

    ``workplace_address`` / ``incident_address``: the place as the worker says it. Without
    the region code, the address proposes one: a 422 lists the ``candidates`` to choose
    from, and a single proposal is taken only with ``confirm_address: true``.

    When the call repeats a case (``POST /cases/repeats`` shows which), say what to do:
    ``repeat_of`` that case, or ``not_repeat``; without a choice it is a 409."""

    request_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None  # type: ignore[assignment]
    workplace: RegionCode | None = None  # type: ignore[assignment]
    workplace_address: Annotated[str, Field(max_length=200)] | None = None
    incident_address: Annotated[str, Field(max_length=200)] | None = None
    confirm_address: bool = False
    repeat_of: Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9-]+$")] | None = None
    not_repeat: bool = False


class RepeatMatches(BaseModel):
    matches: list[dict[str, Any]]


class RevealBody(Body):
    reason: Annotated[str, Field(min_length=2, max_length=500)]


@router.post("", status_code=201, response_model=Opened, dependencies=[needs(Action.case_open)])
async def open_case(form: IntakeRequest, p: CurrentUser, ctx: Ctx) -> Any:
    """Open a case (受理) from the intake form's fields; idempotent by ``request_id``."""
    opened = await cases.intake(ctx, p, form.model_dump(exclude_unset=True))
    return Opened(case_id=opened.case_id, merged=opened.merged, repeat_of=opened.repeat_of)


@router.post("/repeats", response_model=RepeatMatches, dependencies=[needs(Action.case_repeats)])
def repeats(body: dict[str, Any], p: CurrentUser, ctx: Ctx) -> Any:
    """The cases this call would repeat (same worker by keyed hash, category and
    platform or place; open, or closed within the window), before submitting."""
    return RepeatMatches(matches=cases.preview_repeats(ctx, p, body))


@router.get("/{case_id}", dependencies=[on_case(Action.case_read)])
def show_case(case_id: CaseId, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """A case with tasks, clocks and timeline; the worker's personal data masked."""
    return cases.show_case(ctx, p, case_id)


@router.post("/{case_id}/reveal", dependencies=[on_case(Action.case_reveal)])
def reveal(case_id: CaseId, body: RevealBody, p: CurrentUser, ctx: Ctx) -> dict[str, Any]:
    """The case with the worker's name, phone and ID; recorded in the audit trail."""
    return cases.reveal_case(ctx, p, case_id, body.reason)


def _case_action(verb: str, v: Verb) -> None:
    async def endpoint(
        case_id: CaseId, body: Body, p: CurrentUser, ctx: Ctx, key: IdempotencyKey = None
    ) -> CaseState:
        return await cases.act_on_case(ctx, p, case_id, verb, body.model_dump(), key=key)

    endpoint.__annotations__["body"] = v.body  # the verb's own schema in OpenAPI
    endpoint.__name__ = f"case_{verb.replace('-', '_')}"
    router.add_api_route(
        f"/{{case_id}}/{verb}",
        endpoint,
        methods=["POST"],
        response_model=CaseState,
        summary=f"{verb} ({v.action.value})",
        dependencies=[on_case(v.action)],
    )


for _verb, _v in CASE_VERBS.items():
    _case_action(_verb, _v)
