"""Confirming a benefit against the data check (issue 15 §1): the rule every path shares (the case page, the API and
the demo all reach it through `services.act`).

A step that proposes or confirms a 低保/特困 amount (乡镇初审“拟批准”, 审核确认“批准”, 复核“调整金额”) stands on the
case's latest 信息核对. Where no check is recorded at all, or that check found the household not eligible, could not
decide (no authorisation, no standard configured), or is stale (older than `check.result_valid_days`, or computed
before a parameter it used changed), the step needs an explicit override with reasons: recorded on the event, shown on the case page and
audited. Without one the step is refused in Chinese and nothing changes.

The amount follows the check too: the computed amount is proposed, and an officer who changes it must say why.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from minzheng.core.errors import DomainError
from minzheng.core.money import parse as parse_amount
from minzheng.policy.parameters import resolve

from . import checking, values
from .models import Case

# The workflows whose benefit the check decides, and the benefit's name in messages.
CHECKED = {"dibao": "低保", "tekun": "特困人员救助供养", "review": "低保"}
UNDECIDED = ("unconfigured", "not_checked")
OVERRIDE_FIELD = "override_reasons"
AMOUNT_REASON_FIELD = "amount_reason"
NO_CHECK = "尚未登记信息核对结果"


# The steps that may confirm against the check, and so the only events that can carry a `check_override`.
CONFIRMING_ACTIONS = ("first_review", "approve", "change_amount")


def confirming(workflow_code: str, action: str, data: dict) -> bool:
    """Whether this step proposes or confirms the benefit against the check."""
    if workflow_code not in CHECKED:
        return False
    if action == "first_review":
        return data.get("opinion") == "approve"
    return action in ("approve", "change_amount")


@dataclass
class Standing:
    """What the case's latest check says for a confirming step: the concerns that need an override, and the amount
    it computed (None when it computed none: not eligible, undecided, manual)."""

    check: dict | None
    concerns: list[str] = field(default_factory=list)
    computed: Decimal | None = None


def latest_check(case: Case, events: list | None = None) -> dict | None:
    """The latest 信息核对 recorded on the case (its event's data, with the event's date), or None; `events`: the
    case's events in order including every check (eventlog.key_events), when already read."""
    if events is not None:
        event = next((e for e in reversed(events) if e.action == "record_check"), None)
    else:
        event = case.events.filter(action="record_check").order_by("-seq").only("case", "on", "data").first()
    if event is None:
        return None
    return {**(event.data or {}), "on": event.on}


def standing(case: Case, workflow_code: str, today: datetime.date) -> Standing:
    check = latest_check(case)
    out = Standing(check)
    benefit = CHECKED.get(workflow_code, "")
    if check is None:
        # The procedure lets the investigation close without a check; confirming money on nothing is an override too.
        out.concerns.append(NO_CHECK)
        return out
    verdict = check.get("verdict") or ""
    if not check.get("manual"):
        if check.get("verdict_code") in UNDECIDED:
            out.concerns.append(f"核对结论为“{verdict}”，无法据以确认")
        elif not check.get("eligible"):
            out.concerns.append(f"核对结论为“{verdict}”，不能据以确认{benefit}")
        elif check.get("amount") not in (None, ""):
            out.computed = Decimal(str(check["amount"]))
            if out.computed <= 0:
                out.computed = None
    days = int(resolve("check.result_valid_days", case.region_id, today).value)
    on = check["on"]
    if (today - on).days > days:
        out.concerns.append(f"核对结果已超过{days}日有效期（{on:%Y-%m-%d}核对）")
    if check.get("check_result"):
        changed = checking.changed_parameters(int(check["check_result"]), today)
        if changed:
            out.concerns.append(f"核对后政策参数已调整（{'、'.join(changed)}），核对结果已过时")
    return out


def guard(case: Case, workflow_code: str, action: str, today: datetime.date, data: dict) -> dict:
    """The override (and amount) record a confirming step carries, or {}; raises (nothing changes) when a concern has
    no override with reasons."""
    if not confirming(workflow_code, action, data):
        return {}
    found = standing(case, workflow_code, today)
    record: dict = {}
    if found.concerns:
        reasons = (data.get(OVERRIDE_FIELD) or "").strip()
        if not reasons:
            raise DomainError(
                f"核对结果不支持此项确认：{'；'.join(found.concerns)}。如确需确认，请填写越过核对结果的理由，"
                "理由将记入办理记录和审计日志",
                "check_override_required",
                field=OVERRIDE_FIELD,
            )
        record["check_override"] = {
            "concerns": found.concerns,
            "reasons": values.text(reasons, "越过核对结果的理由", OVERRIDE_FIELD),
            "check_result": (found.check or {}).get("check_result"),
        }
    if found.computed is not None:
        record["computed_amount"] = str(found.computed)
    return record


def amount(case: Case, action: str, data: dict, record: dict, label: str) -> tuple[Decimal, dict]:
    """The amount a confirming step decides: as given, else the proposal (at approval) or the check's computed
    amount. One that differs from the computed amount needs a reason (an approval keeps the proposal's reason)."""
    computed = record.get("computed_amount")
    raw = data.get("amount")
    if raw in (None, "") and action == "approve" and case.proposed_amount is not None:
        raw = case.proposed_amount
    if raw in (None, "") and computed is not None:
        raw = computed
    value = parse_amount(raw, label)
    extra: dict = {}
    if computed is not None and value != Decimal(computed):
        reason = (data.get(AMOUNT_REASON_FIELD) or "").strip()
        if not reason and action == "approve" and value == case.proposed_amount:
            reason = _proposal_reason(case)
        if not reason:
            raise DomainError(
                f"{label}{value} 元与核对测算金额 {computed} 元不一致，请填写调整理由",
                "amount_reason_required",
                field=AMOUNT_REASON_FIELD,
            )
        extra[AMOUNT_REASON_FIELD] = values.text(reason, "金额调整理由", AMOUNT_REASON_FIELD)
    return value, extra


def _proposal_reason(case: Case) -> str:
    event = case.events.filter(action="first_review").order_by("-seq").only("case", "data").first()
    return ((event.data or {}).get(AMOUNT_REASON_FIELD) or "") if event else ""
