"""Sample notifications for the notify tests, one per kind and rung."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from models.notify import Notification, NotificationKind, Recipient

CASE = "AP-7QK2M4XZ9A"
TASK = f"{CASE}-T1"
MAIL_FROM = "诉求办理平台 <appeals-noreply@appeals.example>"
AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # Thursday 09:30 in Shanghai

# An 11-digit mainland mobile number, anywhere (no look-arounds: stricter than the mask).
PHONE = re.compile(r"1[3-9]\d{9}")

OFFICE = Recipient(
    address="hrss.tianhe@appeals.example", name="天河区人力资源和社会保障局", role="office"
)
HEAD = Recipient(
    address="hrss.tianhe.head@appeals.example", name="天河区人社局负责同志", role="head"
)
CITY = Recipient(
    address="hrss.gz@appeals.example", name="广州市人力资源和社会保障局", role="city_department"
)
SUPERVISION = Recipient(
    address="shgzb.gz@appeals.example", name="中共广州市委社会工作部", role="supervision"
)
LEADERSHIP = Recipient(address="leaders.gz@appeals.example", name="市领导", role="leadership")

COMMON = {"office_name": "天河区人力资源和社会保障局", "category_label": "拖欠劳动报酬"}

# Only the keys each kind requires: every template must work with just these.
MINIMAL: dict[str, dict[str, str]] = {
    "warning": COMMON | {"clock_label": "答复", "due_at": "2026-12-07 17:30", "fraction": "50%"},
    "breach-1": COMMON | {"clock_label": "签收", "due_at": "2026-12-01 17:30", "rung": "1"},
    "breach-2": COMMON | {"clock_label": "答复", "due_at": "2026-11-30 17:30", "rung": "2"},
    "breach-3": COMMON | {"clock_label": "答复", "due_at": "2026-11-30 17:30", "rung": "3"},
    "urge": COMMON | {"urged_by": "市委社会工作部 督办组", "text": "请于本周五前办结并反馈。"},
    "info": COMMON | {"headline": "延期申请已批准", "text": "答复时限延长5个工作日。"},
    "task": COMMON
    | {
        "todo": "请在签收时限内签收（appeals accept AP-T1）。",
        "deadlines": "签收：2026-12-07 17:30 前（1个工作日）\n"
        "答复：2026-12-11 17:30 前（5个工作日）",
    },
}
MINIMAL["digest"] = {
    "office_name": "天河区人力资源和社会保障局",
    "day": "2026-12-07",
    "open_count": "3",
    "overdue_count": "1",
    "due_today_count": "0",
}
MINIMAL["report"] = {
    "office_name": "天河区",
    "week": "2026-11-30 至 2026-12-06",
    "table": "天河区人力资源和社会保障局：收件 3，签收率 66.7%",
}
# Every optional key too.
FULL: dict[str, dict[str, str]] = {
    "warning": MINIMAL["warning"] | {"period": "5wd", "remaining": "2个工作日"},
    "breach-1": MINIMAL["breach-1"] | {"period": "1wd", "late_by": "1个工作日"},
    "breach-2": MINIMAL["breach-2"] | {"period": "5wd", "late_by": "3个工作日"},
    "breach-3": MINIMAL["breach-3"] | {"period": "5wd", "late_by": "8个工作日"},
    "urge": MINIMAL["urge"] | {"clock_label": "答复", "due_at": "2026-12-07 17:30"},
    "info": MINIMAL["info"],
    "task": MINIMAL["task"],
}
for _ctx in FULL.values():
    _ctx.update(category="wage_arrears", role="主办", summary_masked="配送站拖欠王**两个月工资")
# The scheduled mails concern no case: their keys are their own.
FULL["digest"] = MINIMAL["digest"] | {
    "overdue": "AP-T1 拖欠劳动报酬 签收 截止 2026-12-04 17:30",
    "due_today": "",
}
FULL["report"] = dict(MINIMAL["report"])

KIND = {
    "warning": NotificationKind.warning,
    "breach-1": NotificationKind.breach,
    "breach-2": NotificationKind.breach,
    "breach-3": NotificationKind.breach,
    "urge": NotificationKind.urge,
    "info": NotificationKind.info,
    "task": NotificationKind.task,
    "digest": NotificationKind.digest,
    "report": NotificationKind.report,
}
EVENT = {
    "warning": "warning-50",
    "breach-1": "rung-1",
    "breach-2": "rung-2",
    "breach-3": "rung-3",
    "urge": "urge",
    "info": "info",
    "task": "new-task",
    "digest": "digest",
    "report": "weekly-report",
}
TO = {
    "warning": [OFFICE],
    "breach-1": [OFFICE, HEAD],
    "breach-2": [CITY, SUPERVISION],
    "breach-3": [LEADERSHIP],
    "urge": [OFFICE, HEAD],
    "info": [OFFICE],
    "task": [OFFICE],
    "digest": [OFFICE],
    "report": [OFFICE],
}
SCHEDULED = ("digest", "report")
SAMPLES = [k for k in KIND if k not in SCHEDULED]  # the mails about a case


def sample(name: str, *, full: bool = True, **changes: Any) -> Notification:
    """The notification ``name`` (a key of KIND), with ``changes`` to its fields."""
    clock = {"warning": "reply", "breach-1": "sign_for"}.get(name, "reply")
    fields: dict[str, Any] = {
        "id": f"{TASK}:{clock}:{EVENT[name]}",
        "kind": KIND[name],
        "event": EVENT[name],
        "case_id": CASE,
        "task_id": TASK,
        "clock": clock if name.startswith(("warning", "breach")) else None,
        "to": TO[name],
        "context": dict((FULL if full else MINIMAL)[name]),
        "created_at": AT,
    }
    fields.update(changes)
    return Notification(**fields)
