"""Read a rules directory into a ``RuleSet``, collecting every problem before raising."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from routing_rules.errors import RulesError
from routing_rules.references import reference_problems
from routing_rules.ruleset import RuleSet
from routing_rules.schema import (
    Category,
    DefaultHotline,
    Department,
    Deployment,
    Hotline,
    OfficeEntry,
    PlanEntry,
    Platform,
    Region,
    Rule,
    StaffMember,
)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class _ListFile(Generic[T]):
    """A file holding one top-level key with a list of entries."""

    name: str
    key: str
    model: type[T]
    noun: str
    ident: str


DEPLOYMENT_FILE = "deployment.yaml"
REGIONS = _ListFile("regions.yaml", "regions", Region, "region", "code")
DEPARTMENTS = _ListFile("departments.yaml", "departments", Department, "department", "code")
OFFICES = _ListFile("offices.yaml", "offices", OfficeEntry, "office", "id")
PLATFORMS = _ListFile("platforms.yaml", "platforms", Platform, "platform", "code")
STAFF = _ListFile("staff.yaml", "staff", StaffMember, "staff", "id")
CATEGORIES = _ListFile("categories.yaml", "categories", Category, "category", "code")
PLANS = _ListFile("sla_plans.yaml", "plans", PlanEntry, "plan", "name")
RULES = _ListFile("rules.yaml", "rules", Rule, "rule", "id")
HOTLINES = _ListFile("external_hotlines.yaml", "hotlines", Hotline, "hotline", "prefix")
HOTLINES_FILE = HOTLINES.name

OPTIONAL_FILE_NAMES: tuple[str, ...] = (HOTLINES_FILE,)
"""Files a rules directory may leave out; when present they are read and hashed."""
FILE_NAMES: tuple[str, ...] = (
    DEPLOYMENT_FILE,
    *(f.name for f in (REGIONS, DEPARTMENTS, OFFICES, PLATFORMS, STAFF, CATEGORIES, PLANS, RULES)),
    *OPTIONAL_FILE_NAMES,
)
"""The files a rules directory consists of (those in ``OPTIONAL_FILE_NAMES`` may be
missing); other files there (calendar.yaml) are not read."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(name: str, exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = ""
        if exc.context:
            started = exc.context_mark
            at = f" at line {started.line + 1}" if started and started is not mark else ""
            context = f" ({exc.context}{at})"
        return f"{name}: {where}YAML syntax error: {exc.problem}{context}"
    return f"{name}: YAML error: {exc}"


def _loc(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _validation_lines(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "missing (required)"
        loc = _loc(error["loc"])
        lines.append(f"{loc}: {message}" if loc else message)
    return lines


class _Reader:
    """Reads the files of one directory, remembering their bytes and every problem."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[str] = []
        self.broken = False  # a whole file unusable: cross-file checks would only echo it
        self._bytes: dict[str, bytes] = {}
        # Codes of entries present but invalid, so that references to them are not
        # reported a second time (see references.reference_problems).
        self.invalid: dict[str, set[str]] = {}

    def _read(self, name: str) -> tuple[bool, Any]:
        """(True, the parsed YAML), or (False, None) after recording why it is unusable."""
        path = self.directory / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self._fail(f"{name}: file is missing from {self.directory}")
            return False, None
        except OSError as exc:
            self._fail(f"{name}: cannot read: {exc.strerror or exc}")
            return False, None
        self._bytes[name] = data
        try:
            return True, yaml.load(data, Loader=_StrictLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            self._fail(_yaml_problem(name, exc))
            return False, None

    def _fail(self, problem: str) -> None:
        self.problems.append(problem)
        self.broken = True

    def deployment(self) -> Deployment | None:
        ok, raw = self._read(DEPLOYMENT_FILE)
        if not ok:
            return None
        if not isinstance(raw, dict):
            self._fail(f"{DEPLOYMENT_FILE}: expected a mapping with name and root_region")
            return None
        try:
            return Deployment.model_validate(raw)
        except ValidationError as exc:
            self.problems += [f"{DEPLOYMENT_FILE}: {line}" for line in _validation_lines(exc)]
            self.broken = True
            return None

    def entries(self, spec: _ListFile[T]) -> list[T]:
        ok, raw = self._read(spec.name)
        if not ok:
            return []
        shape = f"expected a mapping with one key {spec.key!r} holding a list of {spec.noun}"
        if not isinstance(raw, dict) or not isinstance(raw.get(spec.key), list):
            self._fail(f"{spec.name}: {shape}")
            return []
        extra = sorted(str(key) for key in raw if key != spec.key)
        if extra:
            self.problems.append(f"{spec.name}: unknown top-level key {extra[0]!r}; {shape}")
        return self._validated(spec, raw[spec.key])

    def hotlines(self) -> tuple[list[Hotline], DefaultHotline | None]:
        """external_hotlines.yaml, which may be missing (then: no hotlines, no default)."""
        if not (self.directory / HOTLINES_FILE).exists():
            return [], None
        ok, raw = self._read(HOTLINES_FILE)
        if not ok or raw is None:  # an empty file lists no hotline
            return [], None
        shape = (
            "expected a mapping with 'hotlines' (a list of {prefix, name, mailbox}) and "
            "optionally 'default' ({name, mailbox})"
        )
        if not isinstance(raw, dict) or not isinstance(raw.get("hotlines", []), list):
            self._fail(f"{HOTLINES_FILE}: {shape}")
            return [], None
        extra = sorted(str(key) for key in raw if key not in ("hotlines", "default"))
        if extra:
            self.problems.append(f"{HOTLINES_FILE}: unknown top-level key {extra[0]!r}; {shape}")
        default = None
        if raw.get("default") is not None:
            try:
                default = DefaultHotline.model_validate(raw["default"])
            except ValidationError as exc:
                lines = _validation_lines(exc)
                self.problems += [f"{HOTLINES_FILE}: default: {line}" for line in lines]
        return self._validated(HOTLINES, raw.get("hotlines") or []), default

    def _validated(self, spec: _ListFile[T], items: list[Any]) -> list[T]:
        entries: list[T] = []
        first_at: dict[str, int] = {}
        for number, item in enumerate(items, start=1):
            label = f"#{number}"
            if isinstance(item, dict) and isinstance(item.get(spec.ident), str | int):
                label = repr(str(item[spec.ident]).strip())
            where = f"{spec.name}: {spec.noun} {label}"
            if not isinstance(item, dict):
                self.problems.append(f"{where}: expected a mapping, got {type(item).__name__}")
                continue
            try:
                entry = spec.model.model_validate(item)
            except ValidationError as exc:
                self.problems += [f"{where}: {line}" for line in _validation_lines(exc)]
                if isinstance(item.get(spec.ident), str | int):
                    self.invalid.setdefault(spec.name, set()).add(str(item[spec.ident]).strip())
                continue
            ident = str(getattr(entry, spec.ident))
            if ident in first_at:
                self.problems.append(
                    f"{where}: duplicate {spec.ident} (entries #{first_at[ident]} and #{number}); "
                    f"each {spec.noun} {spec.ident} must be unique"
                )
                continue
            first_at[ident] = number
            entries.append(entry)
        return entries

    def version(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self._bytes):
            digest.update(name.encode() + b"\0" + self._bytes[name] + b"\0")
        return digest.hexdigest()[:12]


def load_ruleset(directory: Path) -> RuleSet:
    """Load and cross-check a rules directory.

    Args:
        directory: a folder holding the files named in ``FILE_NAMES`` (those in
            ``OPTIONAL_FILE_NAMES`` may be missing).

    Returns:
        The rule set, with ``version`` the short sha256 of those files' bytes.

    Raises:
        RulesError: one line per problem, each naming file, entry and problem.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise RulesError([f"{directory}: not a directory of routing rules"])
    reader = _Reader(directory)
    deployment = reader.deployment()
    regions = reader.entries(REGIONS)
    departments = reader.entries(DEPARTMENTS)
    offices = reader.entries(OFFICES)
    platforms = reader.entries(PLATFORMS)
    staff = reader.entries(STAFF)
    categories = reader.entries(CATEGORIES)
    plans = reader.entries(PLANS)
    rules = reader.entries(RULES)
    hotlines, default_hotline = reader.hotlines()
    if reader.broken or deployment is None:
        raise RulesError(reader.problems)
    ruleset = RuleSet(
        deployment=deployment,
        regions=regions,
        departments=departments,
        offices=offices,
        platforms=platforms,
        staff=staff,
        categories=categories,
        rules=rules,
        plans=[plan.to_plan() for plan in plans],
        hotlines=hotlines,
        default_hotline=default_hotline,
        version=reader.version(),
        source=directory,
    )
    problems = reader.problems + reference_problems(ruleset, invalid=reader.invalid)
    if problems:
        raise RulesError(problems)
    return ruleset
