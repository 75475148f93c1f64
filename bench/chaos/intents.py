"""Hypothesis strategies for what people send: intakes and action bodies, mostly
well-formed with the directory's own codes (so that most reach the workflows), and
otherwise wrong in the ways people and scripts are wrong — unknown codes, malformed
phones, names of invisible characters, bidi overrides, control characters, text too
long or empty, a missing or an extra field (``actor`` among them), a value of the wrong
type."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from models.case import CallbackResult
from models.common import Channel, Occupation
from models.tasks import Outcome
from routing_rules import RuleSet

SENTENCES = (
    "配送站拖欠两个月工资共8400元，多次催要未果。",
    "平台罚款200元并封号7天，申诉无人处理。",
    "已电话联系劳动者，约定本周内面谈。",
    "经协调，企业同意本月底前足额支付。",
    "不属本单位职责，请改派。",
    "请提供劳动合同和工资流水。",
)
# Places a person may type: outside the deployment but real, and not real at all.
ELSEWHERE = ("110105", "440305", "310115")
NOWHERE = ("999999", "440199", "44010", "4401061234", "", "abcdef")
REUSE = "(a phone seen before)"
PERIODS = ("5wd", "1d", "3wh", "30m", "24h", "0wd", "-1d", "100000wd", "1y", "wd")
CLOCKS = ("reply", "sign_for", "callback", "nosuch", "")
ODD_TEXT = (
    "",
    "   ",
    "\u200b\u200b",  # invisible
    "\u202e已解决\u202c",  # a bidi override
    "a\x00b",  # a control character
    "x" * 2001,
    "王\u0301小明",  # to be NFC-normalised
)


def text() -> st.SearchStrategy[Any]:
    """Free text (a note, a reason, a reply): mostly a sentence, else anything."""
    return st.one_of(
        st.sampled_from(SENTENCES),
        st.sampled_from(SENTENCES),
        st.sampled_from(ODD_TEXT),
        st.text(max_size=60),
        st.integers(),
        st.none(),
    )


def mostly(values: list[str], odd: tuple[Any, ...] = ()) -> st.SearchStrategy[Any]:
    """A known value four times in five, else an odd one or anything."""
    known = st.sampled_from(values)
    return st.one_of(
        known, known, known, known, st.sampled_from(odd or ("",)), st.text(max_size=12)
    )


def perturbed(body: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """The body as drawn, or with one key dropped, one added (``actor``, unknown), or a
    value of the wrong type."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        b = dict(draw(body))
        how = draw(st.sampled_from(["as is"] * 6 + ["drop", "actor", "extra", "type"]))
        if how == "drop" and b:
            b.pop(draw(st.sampled_from(sorted(b))))
        elif how == "actor":
            b["actor"] = draw(st.sampled_from(["sup.zhang", "", "nobody"]))
        elif how == "extra":
            b[draw(st.text(min_size=1, max_size=8))] = draw(st.text(max_size=8))
        elif how == "type" and b:
            key = draw(st.sampled_from(sorted(b)))
            b[key] = draw(st.one_of(st.integers(), st.lists(st.integers(), max_size=2), st.none()))
        return b

    return build()


def intakes(rules: RuleSet) -> st.SearchStrategy[dict[str, Any]]:
    """An intake form as the API takes it. Its phone may be REUSE: the caller puts in a
    worker's phone seen before (a call that may repeat a case, which needs the clerk's
    choice), so that what is drawn never depends on what exists."""
    regions = sorted(rules.regions)
    region = mostly(regions, ELSEWHERE + NOWHERE)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        phone = draw(
            st.one_of(
                st.integers(13000000000, 19999999999).map(str),
                st.integers(13000000000, 19999999999).map(str),
                st.just(REUSE),
                st.sampled_from(["020-83123456", "12345", "1380013800a", ""]),
            )
        )
        body: dict[str, Any] = {
            "request_id": draw(st.uuids().map(lambda u: f"gen-{u.hex}")),
            "name": draw(mostly(["王小明", "李建国", "张伟"], ODD_TEXT)),
            "phone": phone,
            "occupation": draw(mostly([o.value for o in Occupation])),
            "category": draw(mostly(sorted(rules.categories))),
            "summary": draw(text()),
            "residence": draw(region),
            "workplace": draw(region),
        }
        for key, values in (
            ("platform", sorted(rules.platforms)),
            ("incident", regions),
            ("channel", [c.value for c in Channel]),
            ("sla_plan", sorted(rules.plans)),
            ("id_number", ["11010519491231002X", "110105194912310021", "123"]),
        ):
            if draw(st.booleans()):
                body[key] = draw(mostly(values))
        if draw(st.integers(0, 9)) == 0:
            body["urgent"] = draw(st.sampled_from([True, False, "yes", 1]))
        if draw(st.integers(0, 3)) == 0:
            body["not_repeat"] = True
        return body

    return perturbed(build())


def verb_bodies(rules: RuleSet) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    """Each action verb's body (services/actions.py), as people send it."""
    depts = sorted(rules.departments)
    regions = sorted(rules.regions)
    dept = mostly(depts, ("hrs", "HRSS"))
    region = mostly(regions, NOWHERE)
    to = st.one_of(dept, st.builds(lambda d, r: f"{d}@{r}", st.sampled_from(depts), region))

    def body(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return perturbed(st.fixed_dictionaries(fields))

    return {
        "accept": body(),
        "note": body(text=text()),
        "complete": body(outcome=mostly([o.value for o in Outcome]), reply=text()),
        "return": body(reason=text(), owner=dept),
        "transfer": body(to=to, reason=text()),
        "request-info": body(question=text()),
        "provide-info": body(text=text()),
        "extend": body(
            period=st.sampled_from(PERIODS), reason=text(), clock=st.sampled_from(CLOCKS)
        ),
        "approve-extension": body(clock=st.sampled_from(CLOCKS)),
        "deny-extension": body(clock=st.sampled_from(CLOCKS), reason=text()),
        "external-reply": body(text=text()),
        "liaison-reply": body(text=text()),
        "add-cohandler": body(department=dept, region=region, reason=text()),
        "withdraw": body(reason=text()),
        "callback": body(result=mostly([r.value for r in CallbackResult]), remark=text()),
        "urge": body(text=text()),
        "set-plan": body(plan=mostly(sorted(rules.plans)), reason=text()),
        "proceed": body(reason=text()),
        "designate": body(department=dept, region=region, reason=text()),
    }
