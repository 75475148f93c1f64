"""Chinese words for the codes the services return: statuses, actions, roles, fields."""

from __future__ import annotations

from datetime import datetime

from models.case import CALLBACK_LABELS
from models.common import OCCUPATION_LABELS
from models.tasks import OUTCOME_LABELS
from routing_rules import Directory, addresses

ROLES = {
    "clerk": "受理员",
    "handler": "承办人",
    "head": "科室负责人",
    "supervisor": "督办",
    "liaison": "平台联络员",
    "admin": "系统管理员",
}

TASK_ROLES = {"lead": "主办", "co": "协办", "liaison": "平台联络", "external": "跨地域转办"}

STATUSES = {
    # tasks
    "dispatched": "待签收",
    "accepted": "办理中",
    "waiting_on_worker": "待补充材料",
    "completed": "已办结",
    "returned": "已退回",
    "transferred": "已转办",
    "cancelled": "已取消",
    # cases
    "open": "办理中",
    "in_review": "派单审核",
    "awaiting_callback": "待回访",
    "closed": "已结案",
    "withdrawn": "已撤回",
    # clocks
    "pending": "未开始",
    "running": "计时中",
    "paused": "暂停",
    "stopped": "已停止",
    "met": "按时",
    "breached": "超期",
}

CHANNELS = {
    "hotline": "12345 热线",
    "walk_in": "窗口来访",
    "online": "网上诉求",
    "union_station": "工会驿站",
}

OCCUPATIONS = {o.value: label for o, label in OCCUPATION_LABELS.items()}
OUTCOMES = {o.value: label for o, label in OUTCOME_LABELS.items()}
CALLBACKS = {c.value: label for c, label in CALLBACK_LABELS.items()}
# How an office received a task, and whether a clock was kept (the figures page).
ORIGINS = {
    "routed": "分派",
    "return": "他单位退单后改派",
    "transfer": "转办转入",
    "designation": "指定承办",
    "reopen": "不满意重办",
}
ON_TIME = {"on_time": "按时", "late": "超时"}

ACTIONS = {
    "opened": "受理",
    "routed": "分办",
    "rerouted": "重新分办",
    "routing_failed": "分办失败",
    "routing_delayed": "分办延迟（重试中）",
    "dispatched": "派单",
    "accepted": "签收",
    "noted": "备注",
    "note": "备注",
    "completed": "办结",
    "replied": "答复",
    "returned": "退单",
    "transferred": "转办",
    "cancelled": "取消",
    "designated": "指定承办",
    "proceeded": "准予先行答复",
    "urged": "督办",
    "plan_changed": "调整时限方案",
    "info_requested": "要求补充材料",
    "info_provided": "补充材料",
    "extension_requested": "申请延期",
    "extension_approved": "批准延期",
    "extension_denied": "驳回延期",
    "cohandler_requested": "申请增加协办",
    "cohandler_added": "增加协办",
    "cohandler_refused": "拒绝增加协办",
    "co_dropped": "协办撤销",
    "breached": "超期",
    "escalated": "超期升级",
    "warning": "临期提醒",
    "paused": "暂停计时",
    "stopped": "停止计时",
    "satisfied": "回访：满意",
    "unsatisfied": "回访：不满意",
    "unreachable": "回访：无法联系",
    "reopened": "重新办理",
    "closed": "结案",
    "withdrawn": "撤回",
    "revealed": "查看个人信息",
    "purged": "个人信息已清除",
    "summary_masked": "诉求内容脱敏",
    "lead_restarted": "主办重启",
    "external_replied": "外地答复",
    "liaison_replied": "平台答复",
    "callback_due": "回访时限",
    "callback_overdue": "回访超时",
    "review_overdue": "派单审核超时",
}

VERBS = {
    "cluster-designate": "指定集中诉求牵头单位",
    "accept": "签收",
    "note": "备注",
    "complete": "办结答复",
    "return": "退单",
    "transfer": "转办",
    "request-info": "要求补充材料",
    "provide-info": "补充材料",
    "extend": "申请延期",
    "approve-extension": "批准延期",
    "deny-extension": "驳回延期",
    "external-reply": "登记外地答复",
    "liaison-reply": "平台答复",
    "add-cohandler": "增加协办单位",
    "withdraw": "撤回诉求",
    "callback": "登记回访",
    "urge": "督办",
    "set-plan": "调整时限方案",
    "proceed": "准予先行答复",
    "designate": "指定承办单位",
}

FIELDS = {
    "text": "内容",
    "outcome": "办理结果",
    "reply": "答复内容",
    "reason": "理由",
    "owner": "应承办部门",
    "to": "转至单位",
    "question": "需补充的材料",
    "period": "延长时间",
    "clock": "时限",
    "department": "部门",
    "region": "地区",
    "result": "回访结果",
    "remark": "备注",
    "plan": "时限方案",
}


def person(rules: Directory, staff_id: str | None) -> str:
    """A staff member's name as the directory gives it; the id for the system's own
    entries (the workflow, a timer)."""
    if not staff_id:
        return ""
    member = rules.staff_member(staff_id)
    return member.name if member else staff_id


def action(code: str) -> str:
    return ACTIONS.get(code, code)


def status(code: str | None) -> str:
    return STATUSES.get(code or "", code or "")


def when(iso: str | None) -> str:
    """An ISO time from the services as people read it: 2026-09-30 10:00."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


# Why an address needs the clerk's choice (routing_rules/addresses.py), in Chinese.
PLACE_REASONS = {
    addresses.SEVERAL: "地址中的地名对应多个地方，请选择：",
    addresses.NO_CITY: "地址只说了街道（镇），没有说城市或区，请确认：",
    addresses.ONLY_CITY: "地址只说到城市，请从列表中选择区，或补充地址：",
    addresses.NOTHING: "未能从地址识别出地名，请从列表中选择，或修改地址：",
}


def place_reason(reason: object, any_candidate: bool) -> str:
    if reason is None:
        return "根据地址识别出以下属地，请确认："
    text = PLACE_REASONS.get(str(reason), "请确认属地：")
    return text if any_candidate else text.rstrip("：")


CLUSTER_STATUS = {
    "forming": "形成中",
    "formed": "已形成",
    "designated": "联合处置中",
    "replied": "已统一答复",
    "ended": "已结束",
}
