"""The worker's identity stays out of what offices read unless it is revealed (audited):
the masked block, and the free text too, where a clerk may have typed a phone number or
the worker's name into the summary."""

from __future__ import annotations

from activities.mail import mask_personal
from db.tables import CaseRow
from models.intake import mask_name


def masked_summary(case: CaseRow) -> str:
    text = mask_personal(case.summary)
    # The worker's own name, wherever it was typed (a one-character name would mask
    # every occurrence of that character, so only names of two or more).
    if len(case.name) >= 2:
        text = text.replace(case.name, mask_name(case.name))
    return text
