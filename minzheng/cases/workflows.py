"""The procedures as data: states, the actions that move a case between them, who may take each action, and the time
limits that run while a case is in a state (DOMAIN.md §1–3). Values come from the case's parameter snapshot."""

from dataclasses import dataclass, field

# States shared by every procedure.
PENDING = "pending"
ACCEPTED = "accepted"
INVESTIGATING = "investigating"
FIRST_REVIEW = "first_review"
NOTICE = "notice"
COUNTY_REVIEW = "county_review"
PAID_FIRST = "paid_first"
APPROVED = "approved"
REFUSED = "refused"
NOT_ACCEPTED = "not_accepted"
WITHDRAWN = "withdrawn"
TRANSFERRED = "transferred"  # accepted at the one window for an item handled outside the platform's procedures

STATE_LABELS = {
    PENDING: "待补齐材料",
    ACCEPTED: "已受理，待调查",
    INVESTIGATING: "家庭经济状况调查中",
    FIRST_REVIEW: "待乡镇初审",
    NOTICE: "公示中",
    COUNTY_REVIEW: "待审核确认",
    PAID_FIRST: "已先行救助，待补办手续",
    APPROVED: "已批准",
    REFUSED: "不予批准",
    NOT_ACCEPTED: "不予受理",
    WITHDRAWN: "已撤回",
    TRANSFERRED: "已受理并转交承办部门",
}
FINAL_STATES = (APPROVED, REFUSED, NOT_ACCEPTED, WITHDRAWN, TRANSFERRED)
OPEN_STATES = tuple(s for s in STATE_LABELS if s not in FINAL_STATES)

# Who acts: "front" = township window and village assistant; "township" = township reviewer; "confirm" = whoever
# confirms under the case's confirm_level parameter (county approver, or township reviewer when delegated).
FRONT = frozenset({"clerk", "assistant", "township_reviewer"})
TOWNSHIP = frozenset({"township_reviewer", "clerk"})
REVIEWER = frozenset({"township_reviewer"})
CONFIRM = "confirm"


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change (a recorded step)
    actors: frozenset[str] | str


@dataclass(frozen=True)
class Clock:
    """A time limit: it starts at the latest `start` event, runs the number of days in the parameter
    `param`, and is met by the first later event among `met_by`. `calendar` limits count calendar days."""

    code: str
    label: str
    start: str  # an action code, or "enter:<state>" for the first event that moved the case into that state
    param: str
    met_by: tuple[str, ...]
    calendar: bool = False
    informational: bool = False  # shown, but not a deadline for the queue (e.g. the earliest end of the notice)
    # A limit fixed from outside the procedure: the deadline is the date recorded under this key in the starting
    # event's data (e.g. a 复核 opened after a member's death, due within N months of the death); no `param`. A case
    # opened without that date has no such limit.
    due_key: str = ""


@dataclass(frozen=True)
class Workflow:
    code: str
    actions: dict[str, Action]
    clocks: tuple[Clock, ...]
    parameter_group: str
    requires_self_care: bool = False
    spot_check: bool = False
    monthly: bool = True  # the decided amount is paid every month; False: a one-off payment (临时救助)
    extra: dict = field(default_factory=dict)

    def allowed(self, state: str) -> list[Action]:
        return [a for a in self.actions.values() if state in a.sources]


def _actions(*items: Action) -> dict[str, Action]:
    return {a.code: a for a in items}


_OPEN_BEFORE_DECISION = (PENDING, ACCEPTED, INVESTIGATING, FIRST_REVIEW, NOTICE, COUNTY_REVIEW)

_COMMON = (
    Action("notify_missing", "出具一次性告知书", (PENDING,), None, FRONT),
    Action("complete_materials", "补齐材料", (PENDING,), None, FRONT),
    Action("accept", "受理", (PENDING,), ACCEPTED, FRONT),
    Action("reject_intake", "不予受理", (PENDING,), NOT_ACCEPTED, TOWNSHIP),
    Action("start_investigation", "启动入户调查", (ACCEPTED,), INVESTIGATING, FRONT),
    Action("record_visit", "登记入户调查", (INVESTIGATING,), None, FRONT),
    Action("request_check", "提请信息核对", (INVESTIGATING,), None, FRONT),
    Action("record_check", "登记核对结果", (INVESTIGATING,), None, frozenset({"county_approver", "township_reviewer"})),
    Action("complete_investigation", "完成调查", (INVESTIGATING,), FIRST_REVIEW, FRONT),
    Action("first_review", "乡镇初审", (FIRST_REVIEW,), NOTICE, REVIEWER),
    Action("record_objection", "登记公示异议", (NOTICE,), None, FRONT),
    Action("resolve_objection", "处理异议", (NOTICE,), None, REVIEWER),
    Action("reinvestigate", "异议成立，重新调查", (NOTICE,), INVESTIGATING, REVIEWER),
    Action("end_notice", "公示期满，报送审核确认", (NOTICE,), COUNTY_REVIEW, REVIEWER),
    Action("county_visit", "县级入户核查", (COUNTY_REVIEW,), None, CONFIRM),
    Action("approve", "审核确认：批准", (COUNTY_REVIEW,), APPROVED, CONFIRM),
    Action("refuse", "审核确认：不予批准", (COUNTY_REVIEW,), REFUSED, CONFIRM),
    Action("deliver_refusal", "送达不予批准通知书", (REFUSED,), None, CONFIRM),
    Action("extend", "特殊情况延长办理时限", _OPEN_BEFORE_DECISION, None, CONFIRM),
    Action("withdraw", "申请人撤回", _OPEN_BEFORE_DECISION, WITHDRAWN, FRONT),
)

# The public notice runs in calendar days from the first review (DB §19); informational: its end is the earliest date
# the case may go on, not a deadline for anyone.
NOTICE_CLOCK = Clock(
    "notice",
    "公示期满（最早）",
    "first_review",
    "notice_days",
    ("end_notice", "reinvestigate"),
    calendar=True,
    informational=True,
)

_DIBAO_CLOCKS = (
    Clock("survey", "启动入户调查", "accept", "survey_start_wd", ("start_investigation",)),
    Clock("check", "启动信息核对", "request_check", "check_start_wd", ("record_check", "complete_investigation")),
    NOTICE_CLOCK,
    Clock("county", "县级审核确认", "enter:county_review", "county_review_wd", ("approve", "refuse")),
    Clock("total", "办理总时限", "accept", "total_wd", ("approve", "refuse", "withdraw")),
    Clock("refusal", "书面告知不予批准理由", "refuse", "refusal_notice_wd", ("deliver_refusal",)),
)

DIBAO = Workflow("dibao", _actions(*_COMMON), _DIBAO_CLOCKS, "dibao")

TEKUN = Workflow(
    "tekun",
    _actions(
        *_COMMON,
        Action("assess_self_care", "生活自理能力评估", (INVESTIGATING,), None, FRONT),
        Action("spot_check", "县级抽查", (COUNTY_REVIEW,), None, CONFIRM),
    ),
    (
        Clock("survey", "调查及乡镇初审", "accept", "survey_wd", ("first_review",)),
        NOTICE_CLOCK,
        Clock("county", "县级审核确认", "enter:county_review", "county_wd", ("approve", "refuse")),
        Clock("refusal", "书面告知不予认定理由", "refuse", "refusal_notice_wd", ("deliver_refusal",)),
    ),
    "tekun",
    requires_self_care=True,
    spot_check=True,
)

TEMP_EXPENSE = Workflow(
    "temp_expense",
    _actions(*_COMMON),
    (
        NOTICE_CLOCK,
        Clock("total", "办理时限", "accept", "decide_wd", ("approve", "refuse", "withdraw")),
        Clock("refusal", "书面告知不予救助理由", "refuse", "refusal_notice_wd", ("deliver_refusal",)),
    ),
    "temp_aid",
    monthly=False,
)

TEMP_EMERGENCY = Workflow(
    "temp_emergency",
    _actions(
        *_COMMON,
        # 先行救助: help first, even before materials are complete; document afterwards (DOMAIN.md §3).
        Action("pay_first", "先行救助", (PENDING, ACCEPTED), PAID_FIRST, TOWNSHIP),
        Action("complete_materials", "补齐材料", (PENDING, PAID_FIRST), None, FRONT),
        Action("complete_documents", "补办手续，完成救助", (PAID_FIRST,), APPROVED, TOWNSHIP),
    ),
    (
        Clock("documents", "先行救助后补办手续", "pay_first", "emergency_document_wd", ("complete_documents",)),
        Clock("refusal", "书面告知不予救助理由", "refuse", "refusal_notice_wd", ("deliver_refusal",)),
    ),
    "temp_aid",
    monthly=False,
)

# 动态复核: a recipient household re-examined (scheduled, or after a monitoring warning such as a member's death):
# investigation and checking as for an application, the township's opinion straight to the county (no public notice:
# the service item has none), and the county decides to continue (possibly with a new amount) or to stop.
# The decisions a review may end in (DB §31): continue, change the amount, 渐退, suspend, stop.
REVIEW_DECISIONS = ("approve", "change_amount", "taper", "suspend", "refuse")
REVIEW = Workflow(
    "review",
    _actions(
        Action("start_investigation", "启动复核调查", (ACCEPTED,), INVESTIGATING, FRONT),
        Action("record_visit", "登记入户调查", (INVESTIGATING,), None, FRONT),
        Action("request_check", "提请信息核对", (INVESTIGATING,), None, FRONT),
        Action(
            "record_check", "登记核对结果", (INVESTIGATING,), None, frozenset({"county_approver", "township_reviewer"})
        ),
        Action("complete_investigation", "完成复核调查", (INVESTIGATING,), FIRST_REVIEW, FRONT),
        Action("first_review", "乡镇提出复核意见", (FIRST_REVIEW,), COUNTY_REVIEW, REVIEWER),
        Action("county_visit", "县级入户核查", (COUNTY_REVIEW,), None, CONFIRM),
        Action("approve", "复核决定：继续保障", (COUNTY_REVIEW,), APPROVED, CONFIRM),
        Action("change_amount", "复核决定：调整保障金额", (COUNTY_REVIEW,), APPROVED, CONFIRM),
        Action("taper", "复核决定：渐退", (COUNTY_REVIEW,), APPROVED, CONFIRM),
        Action("suspend", "复核决定：暂停发放", (COUNTY_REVIEW,), APPROVED, CONFIRM),
        # 特困 termination (DOMAIN.md §2): posted for 7 days before the stop decision, which then stops next month.
        Action("notify_termination", "终止救助供养公示", (COUNTY_REVIEW,), None, CONFIRM),
        Action("refuse", "复核决定：停止保障", (COUNTY_REVIEW,), REFUSED, CONFIRM),
        Action("deliver_refusal", "送达停止保障通知书", (REFUSED,), None, CONFIRM),
    ),
    (
        Clock("review", "复核期限", "submit", "", REVIEW_DECISIONS, due_key="due_on"),
        Clock("check", "启动信息核对", "request_check", "check_start_wd", ("record_check", "complete_investigation")),
        Clock("county", "县级复核决定", "enter:county_review", "county_review_wd", REVIEW_DECISIONS),
        Clock("refusal", "书面告知停止保障理由", "refuse", "refusal_notice_wd", ("deliver_refusal",)),
    ),
    "dibao",
)

WORKFLOWS = {w.code: w for w in (DIBAO, TEKUN, TEMP_EXPENSE, TEMP_EMERGENCY, REVIEW)}

# The order the procedures expect their steps in (DOMAIN.md §1–3), every workflow alike: in any state the first of
# these the officer may still take is the next step. The rest are taken when something happens (an objection, a
# special circumstance) or end the case early.
MAIN_LINE = (
    "notify_missing",
    "complete_materials",
    "accept",
    "pay_first",
    "complete_documents",
    "start_investigation",
    "record_visit",
    "request_check",
    "record_check",
    "assess_self_care",
    "complete_investigation",
    "first_review",
    "resolve_objection",
    "end_notice",
    "county_visit",
    "spot_check",
    "approve",
    "deliver_refusal",
)
# Steps that answer an objection raised during the public notice.
OBJECTION_STEPS = frozenset({"resolve_objection", "reinvestigate"})
# Steps that cannot be undone: the page asks for confirmation before it sends them.
IRREVERSIBLE = frozenset({"reject_intake", "withdraw", "refuse", "reinvestigate"})


def amount_unit(workflow_code: str) -> str:
    """How an amount decided under the workflow reads: 元/月 for a monthly benefit, 元 for a one-off payment."""
    workflow = WORKFLOWS.get(workflow_code)
    return "元" if workflow is not None and not workflow.monthly else "元/月"
