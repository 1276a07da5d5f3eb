"""The case procedure's data check (信息核对, DB §17) as cases sees it.

The checking engine lives in the checks app, one layer above cases, so cases never imports it: checks registers its
case checker here when Django starts (`ChecksConfig.ready`), and the `record_check` step calls it through `run`.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from minzheng.core.errors import DomainError


@dataclass(frozen=True)
class CheckOutcome:
    """What the case records of a check: the stored result it links to and the verdict, in the workflow's terms."""

    result_id: int
    verdict: str  # the label an officer reads (e.g. 符合低保条件)
    eligible: bool  # for the case's own benefit
    amount: Decimal  # the monthly amount the rules computed for that benefit
    per_capita_income: Decimal
    code: str = ""  # the verdict's code (checks.verdicts): "unconfigured" / "not_checked" decide nothing
    # How the amount is made up, as (label, text) rows: the gap, 分类施保 uplifts, rounding (or 特困's two parts).
    breakdown: tuple[tuple[str, str], ...] = ()


Checker = Callable[..., CheckOutcome]
ChangedParameters = Callable[[int, datetime.date], list[str]]
_checker: Checker | None = None
_changed: ChangedParameters | None = None


def register(checker: Checker, changed: ChangedParameters | None = None) -> None:
    global _checker, _changed
    _checker = checker
    _changed = changed


def changed_parameters(result_id: int, on: datetime.date) -> list[str]:
    """The parameters the stored check used whose values in force on `on` differ (their labels): a check computed
    before such a change is stale. Empty when the checking app is not installed."""
    return _changed(result_id, on) if _changed is not None else []


def run(case, user, *, workflow: str, today: datetime.date) -> CheckOutcome:
    """Check the case's household now, under the case file's authorisation; the result is linked to the case."""
    if _checker is None:
        raise DomainError("家庭经济状况核对服务未启用，请登记纸质核对结果", "checks_unavailable")
    return _checker(case, user, workflow=workflow, today=today)
