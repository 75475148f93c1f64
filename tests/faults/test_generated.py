"""Generated intakes and actions (bench/generated.py, 10,000 steps in full) in a short
form: APPEALS_GENERATED_STEPS steps (default 150) through the API of a live stack. No
traceback anywhere, no answer 5xx, every refusal one line, and nothing in any
workflow's history for a refused action."""

from __future__ import annotations

import os
from pathlib import Path

from bench.chaos.generated import STEPS, generate
from bench.chaos.stack import Stack

GENERATED = int(os.environ.get("APPEALS_GENERATED_STEPS", 150))


async def test_generated_intakes_and_actions_are_answered_cleanly(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "stack")
    try:
        await stack.start()
        tally = await generate(stack, max(1, GENERATED // STEPS), seed_value=11)
    finally:
        await stack.stop()
    assert tally.problems == [], "\n".join(tally.problems[:30])
    # The property held over something: cases opened, actions taken and refused, and
    # refusals whose workflow existed, so that its history was looked at.
    answers = tally.answers
    assert answers["open 201"] >= 5, answers
    assert sum(n for k, n in answers.items() if not k.startswith(("open", "read"))) > 0
    assert tally.history_checked > 0, answers
