"""The values a person types into a case step, read with a clear Chinese error: required text, dates not in the
future, non-negative amounts, a home visit's date."""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

from minzheng.core.errors import DomainError
from minzheng.core.money import CENT


def text(raw, label: str, field: str = "note") -> str:
    value = "" if raw is None or isinstance(raw, list | dict) else str(raw).strip()
    if not value:
        raise DomainError(f"请填写{label}", "required", field=field)
    return value[:2000]


def date(raw, label: str, today: datetime.date) -> datetime.date:
    if isinstance(raw, datetime.date):
        value = raw
    else:
        try:
            value = datetime.date.fromisoformat(str(raw))
        except ValueError:
            raise DomainError(f"{label}格式不正确", "invalid_date") from None
    if value > today:
        raise DomainError(f"{label}不能晚于今天", "invalid_date")
    return value


def nonnegative(raw, label: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{label}应为数字", "invalid_amount") from None
    if not value.is_finite() or value < 0:
        raise DomainError(f"{label}不能为负数", "invalid_amount")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def visit_date(data: dict, on: datetime.date, label: str) -> datetime.date:
    """A home visit happens on or before the day the step is recorded as taken (不填为办理日期)."""
    raw = data.get("visit_date")
    if raw in (None, ""):
        return on
    visit = date(raw, label, timezone.localdate())
    if visit > on:
        raise DomainError(f"{label}不能晚于办理日期（{on:%Y-%m-%d}）", "invalid_date", field="visit_date")
    return visit
