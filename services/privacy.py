"""The worker's identity stays out of what offices read unless it is revealed (audited):
the masked block, and the free text too, where a clerk may have typed a phone number or
the worker's name into the summary."""

from __future__ import annotations

from activities.mail import mask_worker
from db.tables import CaseRow


def masked_summary(case: CaseRow) -> str:
    return mask_worker(case.summary, case.name)
