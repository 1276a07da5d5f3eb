"""Scoped reads of monitoring shared by the pages and the API: the warning task list and the monitored register, with
their filters, and the audit entry every list of personal data writes (the same entry from a page and from the API).

A filter value that is not valid is either refused with a Chinese error (`strict`, the API) or noted and ignored (the
pages, which show the note above the list).
"""

import datetime
import re

from django.db.models import Q, QuerySet

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.regions import codes

from . import services
from .models import Alert, Category, MonitoredEntry, Outcome
from .rules import RULES

ALERT_FILTERS = ("status", "rule", "outcome", "level", "region")


def _refuse_or_note(strict: bool, notes: list[str], message: str, code: str) -> None:
    if strict:
        raise DomainError(message, code)
    notes.append(f"{message}，已忽略")


def region_bounds(user, raw: str, notes: list[str], *, strict: bool = False) -> tuple[str, str] | None:
    """A region filter (2–12 digits, full-width digits folded) inside the user's scope, as a code range."""
    import unicodedata

    raw = unicodedata.normalize("NFKC", raw or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}", raw):
        _refuse_or_note(strict, notes, "区划筛选条件格式错误（应为2、4、6、9或12位区划代码）", "invalid_region_code")
        return None
    code = codes.canonical(raw)
    if not user.region.contains(code):
        _refuse_or_note(strict, notes, "区划筛选条件不在您的管辖范围内", "forbidden")
        return None
    return codes.subtree_range(code)


def open_q() -> Q:
    return ~Q(status=Alert.Status.CLOSED)


def overdue_q(today: datetime.date) -> Q:
    return open_q() & Q(due_on__lt=today)


def warnings(user, filters: dict, notes: list[str], *, strict: bool = False) -> QuerySet:
    """The user's warnings matching the filters (status: active — the default —, a status, or all; rule; outcome;
    level; region)."""
    qs = services.alerts_for(user)
    status = filters.get("status") or "active"
    if status == "active":
        qs = qs.filter(open_q())
    elif status in Alert.Status.values:
        qs = qs.filter(status=status)
    elif status != "all":
        _refuse_or_note(
            strict, notes, f"状态筛选条件无效（可取：active、all、{'、'.join(Alert.Status.values)}）", "invalid_status"
        )
    for key, field, allowed, what in (
        ("rule", "rule", RULES, "预警规则"),
        ("outcome", "suggested_outcome", Outcome.values, "处置建议"),
        ("level", "level", Alert.Level.values, "处置层级"),
    ):
        value = filters.get(key)
        if value:
            if value in allowed:
                qs = qs.filter(**{field: value})
            else:
                _refuse_or_note(strict, notes, f"未知的{what}“{value}”", f"invalid_{key}")
    bounds = region_bounds(user, filters.get("region", ""), notes, strict=strict)
    if bounds:
        qs = qs.filter(region_id__gte=bounds[0], region_id__lte=bounds[1])
    return qs


def register(user, *, category: str, history: bool, region: str, notes: list[str], strict: bool = False):
    """The monitored register in the user's scope: current entries (or the whole history), by region; returns the
    entries before and after the category filter (the pages show a count per category)."""
    require(user, Capability.VIEW_MONITORING)
    qs = MonitoredEntry.objects.for_user(user)
    if not history:
        qs = qs.filter(end_on__isnull=True)
    if category and category not in Category.values:
        _refuse_or_note(strict, notes, "监测类别筛选条件无效", "invalid_category")
        category = ""
    bounds = region_bounds(user, region, notes, strict=strict)
    if bounds:
        qs = qs.filter(region_id__gte=bounds[0], region_id__lte=bounds[1])
    return qs, (qs.filter(category=category) if category else qs)


def record_warning_list(user, detail: dict) -> None:
    audit.record(
        audit.Action.VIEW,
        user=user,
        object_type="warning_list",
        label="监测预警任务列表",
        region_code=user.region_id,
        detail=detail,
    )


def record_register_view(user, detail: dict) -> None:
    audit.record(
        audit.Action.VIEW,
        user=user,
        object_type="monitored_register",
        label="监测对象名册",
        region_code=user.region_id,
        detail=detail,
    )
