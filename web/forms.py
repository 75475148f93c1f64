"""The fields of each action's form, read from the verb's body model
(``services.actions``): what the service will validate is what the page asks for."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel

from routing_rules import RuleSet
from services.actions import CASE_VERBS, TASK_VERBS
from web import labels
from web.regions import Group, Option, region_groups


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # "textarea", "select", "text"
    required: bool
    default: str = ""
    groups: list[Group] = field(default_factory=list)
    placeholder: str = ""


ENUM_LABELS: dict[str, dict[str, str]] = {
    "outcome": labels.OUTCOMES,
    "result": labels.CALLBACKS,
}
LONG_TEXT = {"text", "reply", "reason", "question", "remark"}


def _enum(annotation: Any) -> type[Enum] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, Enum):
            return arg
    return None


def _choices(name: str, rules: RuleSet, clocks: list[tuple[str, str]]) -> list[Group] | None:
    if name in ("department", "owner"):
        return [Group("", [Option(code, d.name) for code, d in sorted(rules.departments.items())])]
    if name == "region":
        return region_groups(rules)
    if name == "to":
        return [
            Group(
                rules.departments[code].name if code in rules.departments else code,
                [
                    Option(f"{o.department}@{o.region}", o.name)
                    for o in rules.office_entries
                    if o.department == code
                ],
            )
            for code in sorted({o.department for o in rules.office_entries})
        ]
    if name == "plan":
        return [Group("", [Option(n, f"{p.label}（{n}）") for n, p in rules.plans.items()])]
    if name == "clock" and clocks:
        return [Group("", [Option(code, label) for code, label in clocks])]
    return None


def fields_for(
    body: type[BaseModel], rules: RuleSet, clocks: list[tuple[str, str]] | None = None
) -> list[Field]:
    out = []
    for name, info in body.model_fields.items():
        required = info.is_required()
        default = "" if info.default is None or required else str(info.default)
        label = labels.FIELDS.get(name, name)
        enum = _enum(info.annotation)
        if enum is not None:
            names = ENUM_LABELS.get(name, {})
            opts = [Option(str(m.value), names.get(str(m.value), str(m.value))) for m in enum]
            out.append(Field(name, label, "select", required, default, [Group("", opts)]))
            continue
        groups = _choices(name, rules, clocks or [])
        if groups is not None:
            out.append(Field(name, label, "select", required, default, groups))
        elif name in LONG_TEXT:
            out.append(Field(name, label, "textarea", required, default))
        else:
            hint = "如 5wd（工作日）、24h（小时）" if name == "period" else ""
            out.append(Field(name, label, "text", required, default, placeholder=hint))
    return out


@dataclass(frozen=True)
class VerbForm:
    verb: str
    label: str
    fields: list[Field]


def task_forms(verbs: list[str], rules: RuleSet, clocks: list[tuple[str, str]]) -> list[VerbForm]:
    return [
        VerbForm(v, labels.VERBS.get(v, v), fields_for(TASK_VERBS[v].body, rules, clocks))
        for v in verbs
        if v in TASK_VERBS
    ]


def case_forms(verbs: list[str], rules: RuleSet) -> list[VerbForm]:
    return [
        VerbForm(v, labels.VERBS.get(v, v), fields_for(CASE_VERBS[v].body, rules))
        for v in verbs
        if v in CASE_VERBS
    ]
