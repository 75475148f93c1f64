"""The report's columns, in order, with the Chinese headers exports and pages show."""

from __future__ import annotations

RATE_FIELDS = ("sign_rate", "on_time_rate", "resolution_rate", "satisfaction_rate")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "名称"),
    ("period", "周期"),
    ("received", "受理量"),
    ("sign_rate", "签收率"),
    ("signed_on_time", "按时签收"),
    ("sign_due", "应签收"),
    ("on_time_rate", "按时办结率"),
    ("replied_on_time", "按时办结"),
    ("reply_due", "应办结"),
    ("resolution_rate", "解决率"),
    ("resolved", "已解决"),
    ("replies", "答复数"),
    ("satisfaction_rate", "满意率"),
    ("satisfied", "满意"),
    ("callbacks", "回访数"),
    ("returns_given", "退单"),
    ("returns_received", "退单转入"),
    ("wrongful_returns", "错误退单"),
    ("transfers_given", "转办"),
    ("transfers_received", "转办转入"),
    ("designations_received", "指定承办"),
    ("rung_1", "超时一级（科室负责人）"),
    ("rung_2", "超时二级（督办）"),
    ("rung_3", "超时三级（挂牌督办）"),
    ("extensions_asked", "申请延期"),
    ("extensions_granted", "批准延期"),
    ("sign_p50_hours", "签收用时中位数（工作小时）"),
    ("sign_p90_hours", "签收用时P90（工作小时）"),
    ("reply_p50_hours", "办结用时中位数（工作小时）"),
    ("reply_p90_hours", "办结用时P90（工作小时）"),
    ("key", "代码"),
)
HEADERS = dict(COLUMNS)

DIMENSION_LABELS = {
    "office": "单位",
    "department": "部门",
    "region": "区域",
    "category": "诉求类别",
    "platform": "平台",
}
PERIOD_LABELS = {"day": "日", "week": "周", "month": "月"}
