"""What a warning says, in Chinese, and what it suggests doing: built from the rule's output row (no names in the
summary — it is shown in lists; the person is shown masked beside it)."""

from functools import cache

from minzheng.core.money import fmt_fen
from minzheng.exchange.sources import ALL_SOURCES

from .models import Category, Outcome
from .rules import RULES

# The service item a warning's case is opened for, by rule and outcome; `None` where a referral fits better.
SERVICE_FOR: dict[tuple[str, str], str] = {
    ("death_member", Outcome.STOP): "dibao_review",
    ("registration_change", Outcome.STOP): "dibao_review",
    ("employed", Outcome.STOP): "dibao_review",
    ("recheck_change", Outcome.STOP): "dibao_review",
    ("recheck_change", Outcome.APPLY): "dibao_review",
    ("recheck_change", Outcome.ENROL): "dibao",
    ("medical_high", Outcome.APPLY): "temp_expense",
    ("medical_high", Outcome.ENROL): "temp_expense",
    ("disaster", Outcome.APPLY): "temp_emergency",
    ("disaster", Outcome.ENROL): "temp_emergency",
    ("student_aid", Outcome.ENROL): "dibao",
    ("anti_poverty", Outcome.ENROL): "dibao",
    ("dropout", Outcome.ENROL): "dibao",
}
# The department a warning is referred to, by rule.
DEPARTMENT_FOR = {
    "unemployed": "employment",
    "dropout": "education",
    "medical_high": "medical_insurance",
    "disability_new": "disabled",
    "disaster": "emergency",
}

# How a household is named by its category in a sentence ("低保家庭成员死亡").
_CATEGORY = {
    Category.DIBAO: "低保",
    Category.TEKUN: "特困",
    Category.EDGE: "低保边缘",
    Category.RIGID: "刚性支出困难",
    Category.ANTI_POVERTY: "防返贫监测",
    Category.OTHER: "困难",
}


@cache
def _choices(feed: str, field: str) -> dict[str, str]:
    spec = ALL_SOURCES.get(feed)
    return spec.field(field).choices if spec is not None else {}


def _choice(feed: str, field: str, code) -> str:
    return _choices(feed, field).get(str(code), str(code or ""))


def rule_name(rule: str) -> str:
    return RULES.get(rule, (rule, ""))[0]


def _amount(r: dict, key: str, before: str) -> str:
    return f"{before}{fmt_fen(int(r[key]))}元" if r.get(key) not in (None, "") else ""


# Per rule, the sentence of a warning from its output row; `cat` names the household by its category, `day` is the
# signal's date.
_SUMMARIES = {
    "death_member": lambda r, cat, day: f"{cat or '监测'}家庭成员死亡（{day}），须复核家庭人口及待遇",
    "registration_change": lambda r, cat, day: (
        f"{cat}家庭成员{_choice('civil_status', 'event', r['code'])}（{day}），已不共同生活，须核实"
    ),
    "employed": lambda r, cat, day: f"低保家庭成员办理就业登记（{day}），家庭收入可能变化",
    "unemployed": lambda r, cat, day: f"{cat}家庭成员办理失业登记（{day}），可落实就业援助",
    "medical_high": lambda r, cat, day: (
        f"近12个月个人自付医疗费用合计{fmt_fen(r['cents'])}元{_amount(r, 'extra', '，家庭年收入约')}，达到高额医疗费用预警线"
    ),
    "disability_new": lambda r, cat, day: (
        f"新办或升级残疾人证（{_choice('disability', 'grade', r['code'])}，{day}），可落实残疾人两项补贴等政策"
    ),
    "dropout": lambda r, cat, day: f"学生辍学、失学（{_choice('student', 'stage', r['extra'])}，{day}）",
    "student_aid": lambda r, cat, day: (
        f"认定为家庭经济困难学生（{_choice('student', 'stage', r['extra'])}，{day}），家庭尚未纳入社会救助"
    ),
    "disaster": lambda r, cat, day: (
        f"遭受{_choice('disaster', 'disaster', r['code'])}灾害（{day}）{_amount(r, 'cents', '，直接经济损失')}"
    ),
    "anti_poverty": lambda r, cat, day: (
        f"新纳入防止返贫监测（{_choice('anti_poverty', 'risk', r['extra'])}，{day}），尚未纳入低保、特困"
    ),
    "recheck_change": lambda r, cat, day: f"批量复核（{day}）：{_RECHECK.get(r['code'], r['code'])}",
}
_RECHECK = {"increase": "核定金额应增加", "decrease": "核定金额应减少", "stop": "可能不再符合条件"}


def summary(r: dict) -> str:
    on = r["signal_on"]
    text = _SUMMARIES.get(r["rule"])
    if text is None:
        return rule_name(r["rule"])
    return text(r, _CATEGORY.get(r["category"], ""), f"{on:%Y-%m-%d}" if on else "")


def detail(r: dict) -> dict:
    """The facts behind the warning and what it suggests, stored with it (JSON)."""
    rule, outcome = r["rule"], r["outcome"]
    suggested = r.get("suggested") or outcome
    out = {
        "rule_name": rule_name(rule),
        "category": r["category"],
        "suggested": suggested,
        "rule_count": r.get("rule_count"),
        "service": SERVICE_FOR.get((rule, suggested), ""),
        "department": DEPARTMENT_FOR.get(rule, ""),
    }
    if rule == "disability_new":
        out["service"] = "disability_care" if str(r["code"]) in ("1", "2") else "disability_living"
    if r.get("cents") is not None:
        out["amount"] = fmt_fen(r["cents"])
    return out
