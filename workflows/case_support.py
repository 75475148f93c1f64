"""Pure helpers of the case workflow: the routing facts of a case, the read model's
view of it, and the audit line of a routing decision."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import CallbackResult, CaseStatus
    from models.events import CaseProjection
    from models.intake import IntakeForm
    from models.routing import RoutingDecision, RoutingFacts


def routing_facts(form: IntakeForm, summary: str) -> RoutingFacts:
    """The facts routing decides on; ``summary`` as routing may read it (masked since
    patches.PII_MASKED_FOR_OTHERS: keywords do not need the worker's name or numbers)."""
    return RoutingFacts(
        category=form.category,
        occupation=form.occupation,
        platform=form.platform,
        summary=summary,
        residence=form.residence,
        workplace=form.workplace,
        incident=form.incident,
    )


def decision_line(d: RoutingDecision) -> str:
    offices = f"主办 {d.lead.office.name}"
    if d.co:
        offices += f"; 协办 {', '.join(c.office.name for c in d.co)}"
    if d.liaison:
        offices += f"; 平台联络 {d.liaison.office.name}"
    return f"rule {d.rule_id} (rules {d.rules_version}), plan {d.sla_plan}: {offices}"


def case_projection(
    *,
    case_id: str,
    version: int,
    form: IntakeForm,
    status: CaseStatus,
    opened_at: datetime,
    decision: RoutingDecision | None,
    plan: str | None,
    reply: str | None,
    callback: CallbackResult | None,
    callback_remark: str | None,
    priority: int,
    closed_at: datetime | None,
    review_due: datetime | None = None,
    callback_due: datetime | None = None,
    phone_hash: str | None = None,
    id_hash: str | None = None,
    repeat_of: str | None = None,
) -> CaseProjection:
    d = decision
    return CaseProjection(
        case_id=case_id,
        version=version,
        status=status.value,
        request_id=form.request_id,
        category=form.category,
        occupation=form.occupation.value,
        platform=form.platform,
        channel=form.channel.value,
        urgent=form.urgent,
        name=form.name,
        phone=form.phone,
        id_number=form.id_number,
        summary=form.summary,
        residence=form.residence,
        workplace=form.workplace,
        incident=form.incident,
        opened_at=opened_at,
        sla_plan=plan,
        rule_id=d.rule_id if d else None,
        rules_version=d.rules_version if d else None,
        routing_explanation="\n".join(d.explanation) if d else None,
        lead_department=d.lead.office.department if d else None,
        lead_region=d.lead.office.region if d else None,
        reply=reply,
        callback=callback.value if callback else None,
        callback_remark=callback_remark,
        priority=priority,
        closed_at=closed_at,
        review_due=review_due if status is CaseStatus.in_review else None,
        callback_due=callback_due if status is CaseStatus.awaiting_callback else None,
        phone_hash=phone_hash,
        id_hash=id_hash,
        repeat_of=repeat_of,
    )
