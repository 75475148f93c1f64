"""Taking one worker's data out of free text (activities/scrub.py)."""

from __future__ import annotations

import json

from activities.scrub import PURGED, Scrubber

S = Scrubber.of(name="欧阳春花", phone="13912345678", id_number="11010519491231002X")


def test_the_worker_whole_masked_and_any_other_number() -> None:
    text = (
        "欧阳春花（139-1234-5678，身份证11010519491231002x）找欧***，回拨139****5678；"
        "其弟13700001111；订单号202612011234567890123；金额8400元"
    )
    out = S.text(text)
    assert out is not None
    for gone in ("欧阳春花", "139-1234-5678", "11010519491231002", "欧***", "139****", "137000"):
        assert gone not in out, gone
    # Longer digit runs (an order number) and amounts stay: they are not a phone.
    assert "202612011234567890123" in out and "8400元" in out
    assert out.count(PURGED) == 6


def test_a_landline_and_a_one_character_name() -> None:
    s = Scrubber.of(name="王", phone="020-87654321", id_number=None)
    assert s.text("王先生 020-87654321 / 02087654321") == f"王先生 {PURGED} / {PURGED}"


def test_json_keeps_its_shape_and_untouched_text_its_bytes() -> None:
    untouched = '{"designated": true, "result": "satisfied"}'
    assert S.json_text(untouched) is untouched
    escaped = json.dumps({"text": "欧阳春花来电", "n": 3})  # \\u-escaped, as some writers do
    assert json.loads(S.json_text(escaped) or "") == {"text": f"{PURGED}来电", "n": 3}
    assert S.json_text("not json 13912345678") == f"not json {PURGED}"
