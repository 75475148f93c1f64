"""The actions people take, as the API and the CLI name them: each verb's body (the
CLI's flags as JSON fields) and the workflow Update it becomes, with the actor filled in
from the authenticated person, never from the body."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

from auth.identity import Principal
from auth.policy import Action
from models.case import (
    CallbackInput,
    CallbackResult,
    DesignateInput,
    ProceedInput,
    SetPlanInput,
    UrgeInput,
    WithdrawInput,
)
from models.common import Code
from models.tasks import (
    AcceptInput,
    AddCohandlerInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ExternalReplyInput,
    LiaisonReplyInput,
    NoteInput,
    Outcome,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
    TransferInput,
)
from services.errors import BadInput, Conflict, NotFound
from services.text import clean

Text = Annotated[
    str,
    BeforeValidator(lambda v: clean(v, field="text") if isinstance(v, str) else v),
    StringConstraints(strip_whitespace=True, min_length=2, max_length=2000),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Region = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{6}(\d{3})?$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptBody(Body):
    pass


class NoteBody(Body):
    text: Text


class CompleteBody(Body):
    outcome: Outcome
    reply: Text


class ReturnBody(Body):
    reason: Text
    owner: Code


class TransferBody(Body):
    to: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]*(@\d{6}(\d{3})?)?$")
    ]
    reason: Text


class QuestionBody(Body):
    question: Text


class TextBody(Body):
    text: Text


class ExtendBody(Body):
    period: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=8)]
    reason: Text
    clock: Short = "reply"


class DecideBody(Body):
    clock: Short = "reply"
    reason: Text | None = None


class DenyBody(Body):
    clock: Short = "reply"
    reason: Text


class CohandlerBody(Body):
    department: Code
    region: Region | None = None
    reason: Text


class ReasonBody(Body):
    reason: Text


class CallbackBody(Body):
    result: CallbackResult
    remark: Text | None = None


class UrgeBody(Body):
    text: Text


class SetPlanBody(Body):
    plan: Code
    reason: Text


class DesignateBody(Body):
    department: Code
    region: Region | None = None
    reason: Text


def _transfer(b: Any, actor: str) -> TransferInput:
    department, _, region = b.to.partition("@")
    return TransferInput(actor=actor, department=department, region=region or None, reason=b.reason)


@dataclass(frozen=True)
class Verb:
    action: Action
    update: str  # the workflow Update's name
    body: type[Body]
    build: Callable[[Any, str], BaseModel]  # (body, actor) → the Update's input


def _fields(model: type[BaseModel]) -> Callable[[Any, str], BaseModel]:
    return lambda b, actor: model(actor=actor, **b.model_dump())


TASK_VERBS: dict[str, Verb] = {
    "accept": Verb(Action.task_accept, "accept", AcceptBody, _fields(AcceptInput)),
    "note": Verb(Action.task_note, "note", NoteBody, _fields(NoteInput)),
    "complete": Verb(Action.task_complete, "complete", CompleteBody, _fields(CompleteInput)),
    "return": Verb(Action.task_return, "return", ReturnBody, _fields(ReturnInput)),
    "transfer": Verb(Action.task_transfer, "transfer", TransferBody, _transfer),
    "request-info": Verb(
        Action.task_request_info, "request_info", QuestionBody, _fields(RequestInfoInput)
    ),
    "provide-info": Verb(
        Action.task_provide_info, "provide_info", TextBody, _fields(ProvideInfoInput)
    ),
    "extend": Verb(Action.task_extend, "extend", ExtendBody, _fields(ExtendInput)),
    "approve-extension": Verb(
        Action.task_approve_extension,
        "approve_extension",
        DecideBody,
        _fields(DecideExtensionInput),
    ),
    "deny-extension": Verb(
        Action.task_deny_extension, "deny_extension", DenyBody, _fields(DecideExtensionInput)
    ),
    "external-reply": Verb(
        Action.task_external_reply, "external_reply", TextBody, _fields(ExternalReplyInput)
    ),
    "liaison-reply": Verb(
        Action.task_liaison_reply, "liaison_reply", TextBody, _fields(LiaisonReplyInput)
    ),
    "add-cohandler": Verb(
        Action.task_add_cohandler, "add_cohandler", CohandlerBody, _fields(AddCohandlerInput)
    ),
}

CASE_VERBS: dict[str, Verb] = {
    "withdraw": Verb(Action.case_withdraw, "withdraw", ReasonBody, _fields(WithdrawInput)),
    "callback": Verb(Action.case_callback, "callback", CallbackBody, _fields(CallbackInput)),
    "urge": Verb(Action.case_urge, "urge", UrgeBody, _fields(UrgeInput)),
    "set-plan": Verb(Action.case_set_plan, "set_plan", SetPlanBody, _fields(SetPlanInput)),
    "proceed": Verb(Action.case_proceed, "proceed", ReasonBody, _fields(ProceedInput)),
    "designate": Verb(Action.case_designate, "designate", DesignateBody, _fields(DesignateInput)),
}


# A caller's idempotency key for one action (the API's Idempotency-Key header, the web
# form's action_key): the same key sent again by the same person for the same action
# is answered by the first attempt's outcome (Temporal dedupes Update ids), never
# applied twice, e.g. a 督办 retried after "no answer within 30 s".
ACTION_KEY = re.compile(r"[A-Za-z0-9._:-]{8,64}")
ACTION_KEY_RULE = "8 to 64 of A-Z a-z 0-9 . _ : -"


def check_action_key(key: str | None, workflow_id: str) -> str:
    """Refuse a malformed key (BadInput); say how to retry the action safely."""
    if key is not None and not ACTION_KEY.fullmatch(key):
        raise BadInput(f"Idempotency-Key: {ACTION_KEY_RULE}")
    if key:
        return "send it again with the same Idempotency-Key"
    return f"look at {workflow_id} before trying again"


def action_update_id(verb: str, p: Principal, key: str | None) -> str | None:
    """The Update's id for a keyed action: the same person, action and key, one Update."""
    return f"{verb}:{p.staff_id}:{key}" if key else None


@asynccontextmanager
async def answered_from_record(closed: Conflict | None) -> AsyncIterator[None]:
    """Around a keyed Update to a task or case the read model says has ended.

    The action that ended it may be the one being retried (a ``complete`` whose answer
    was lost to a timeout): Temporal keeps a finished workflow's Update outcomes, so the
    same Update id is answered with the first outcome. Any other action on it finds the
    workflow finished, and gets the read model's refusal (``closed``), not Temporal's."""
    try:
        yield
    except (Conflict, NotFound) as e:
        if closed is None:
            raise
        raise closed from e
