"""Read-side queries for cases: work queues (待办) and referrals (转办). Staff queries go through `for_user`
(ARCHITECTURE.md principle 4). The public notice pages (公示, 名单) are in `public.py`."""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Case as CaseExpr
from django.db.models import CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_name
from minzheng.core.workdays import WorkingCalendar
from minzheng.policy.models import ServiceItem
from minzheng.policy.parameters import resolve
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region
from minzheng.registry.identifiers import fold_input
from minzheng.registry.queries import current_size

from . import workflows as wf
from .models import Case, Referral

QUEUE_PAGE_SIZE = 50
REFERRAL_LIMIT = 100

# The states in which each role takes the next step (workflows.py: who may act in which state).
ROLE_STATES: dict[str, tuple[str, ...]] = {
    "clerk": (wf.PENDING, wf.ACCEPTED, wf.PAID_FIRST),
    "assistant": (wf.PENDING, wf.ACCEPTED, wf.INVESTIGATING, wf.NOTICE),
    "township_reviewer": (wf.ACCEPTED, wf.INVESTIGATING, wf.FIRST_REVIEW, wf.NOTICE),
    "county_approver": (),
}
# Confirmation and the written refusal fall to whoever confirms under the case's confirm_level parameter.
CONFIRMING_STATES = (wf.COUNTY_REVIEW, wf.REFUSED)
OVERVIEW_ROLES = frozenset({"leader", "admin"})


def household_size_subquery():
    """Current members of the case's household, as a correlated subquery (no join fan-out)."""
    return current_size("household_id")


# ---------------------------------------------------------------- work queue


def _undelivered_refusal() -> Q:
    return Q(state=wf.REFUSED, current_due__isnull=False)


def role_queue_filter(role: str) -> Q | None:
    """Which cases a role acts on next; None for roles without a queue. Expects the `confirm_level` annotation."""
    delegated = Q(confirm_level="township")
    confirming = Q(state=wf.COUNTY_REVIEW) | _undelivered_refusal()
    if role in OVERVIEW_ROLES:
        return Q(state__in=wf.OPEN_STATES) | _undelivered_refusal()
    if role == "county_approver":
        return confirming & ~delegated
    if role == "township_reviewer":
        return Q(state__in=ROLE_STATES[role]) | (confirming & delegated)
    if role in ROLE_STATES:
        return Q(state__in=ROLE_STATES[role])
    return None


def queue_states(role: str) -> list[tuple[str, str]]:
    """The states a role's queue can hold, for the state filter."""
    if role in OVERVIEW_ROLES:
        codes = [*wf.OPEN_STATES, wf.REFUSED]
    elif role == "township_reviewer":
        codes = [*ROLE_STATES[role], *CONFIRMING_STATES]
    elif role == "county_approver":
        codes = list(CONFIRMING_STATES)
    else:
        codes = list(ROLE_STATES.get(role, ()))
    return [(c, wf.STATE_LABELS[c] + ("（待送达通知书）" if c == wf.REFUSED else "")) for c in codes]


def role_queryset(user) -> QuerySet:
    """The user's open work: in scope (for_user) and in a state the user's role acts on."""
    condition = role_queue_filter(user.role)
    qs = Case.objects.for_user(user).annotate(
        confirm_level=Coalesce(KT("parameters__confirm_level__value"), Value("county"), output_field=CharField())
    )
    return qs.none() if condition is None else qs.filter(condition)


@dataclass(frozen=True)
class QueueFilters:
    service: str = ""
    state: str = ""
    overdue_only: bool = False
    township: str = ""  # 9-digit township prefix (older links; `region` supersedes it)
    after: str = ""  # keyset cursor: "<due or ->~<number>"
    region: str = ""  # 2–12 digit code of a region inside the user's own: the drill-down and the region filter
    q: str = ""  # a case number (MZ…, or its start) or any part of the applicant's name

    @property
    def drill(self) -> str:
        return self.region or self.township


@dataclass(frozen=True)
class QueueRow:
    pk: int
    number: str
    service: str
    applicant: str  # masked
    household_size: int
    state: str
    state_label: str
    step: str
    due: datetime.date | None
    due_provisional: bool
    village: str
    overdue_days: int | None  # working days past the due date, None when not overdue
    due_soon: bool
    days_left: int | None  # working days left when due soon

    @property
    def overdue(self) -> bool:
        return self.overdue_days is not None


@dataclass(frozen=True)
class RegionCount:
    code: str  # the child region's significant prefix (6 digits for a county, 9 for a township, ...)
    name: str
    open: int
    overdue: int
    due_soon: int
    leaf: bool  # a township or village: its cases are listed, no further drill-down


TownshipCount = RegionCount  # the name the overview used when it grouped by township only


@dataclass
class Queue:
    rows: list[QueueRow]
    total: int
    overdue: int
    due_soon: int
    due_soon_days: int
    today: datetime.date
    next_cursor: str
    filters: QueueFilters
    states: list[tuple[str, str]]
    services: list[tuple[str, str]]
    overview: bool
    children: list[RegionCount] = field(default_factory=list)  # the selected region's children, with counts
    notes: list[str] = field(default_factory=list)
    region: Region | None = None  # the region drilled into (the user's own by default)
    trail: list[Region] = field(default_factory=list)  # from the user's region down to `region`
    child_level: str = ""

    @property
    def townships(self) -> list[RegionCount]:
        return self.children


_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2}|-)~([A-Za-z0-9-]{1,32})$")


def _encode_cursor(due: datetime.date | None, number: str) -> str:
    return f"{due.isoformat() if due else '-'}~{number}"


def _after(cursor: str) -> Q | None:
    """Rows after the cursor in the order (current_due nulls last, number); None when the cursor is malformed."""
    match = _CURSOR.match(cursor or "")
    if not match:
        return None
    raw_due, number = match.groups()
    if raw_due == "-":
        return Q(current_due__isnull=True, number__gt=number)
    try:
        due = datetime.date.fromisoformat(raw_due)
    except ValueError:
        return None
    return Q(current_due__gt=due) | Q(current_due=due, number__gt=number) | Q(current_due__isnull=True)


def due_soon_days(region_code: str, today: datetime.date) -> int:
    """临期提醒: how many working days before its due date a case is flagged (parameter dibao.due_soon_wd)."""
    try:
        return max(int(resolve("dibao.due_soon_wd", region_code, today).value), 0)
    except (TypeError, ValueError):
        return 2


def _services_in_use() -> list[tuple[str, str]]:
    return list(ServiceItem.objects.exclude(workflow="").order_by("order", "code").values_list("code", "name"))


def work_queue(
    user, filters: QueueFilters | None = None, today: datetime.date | None = None, page_size: int | None = None
) -> Queue:
    """The user's 待办: open cases their role acts on next, in their region, earliest deadline first. An export asks
    for a larger `page_size` (the whole filtered queue, up to the export ceiling)."""
    require(user, Capability.VIEW_PEOPLE)
    filters = filters or QueueFilters()
    today = today or timezone.localdate()
    page_size = page_size or QUEUE_PAGE_SIZE
    calendar = WorkingCalendar()
    soon_days = due_soon_days(user.region_id, today)
    # today ≤ due < soon_limit  ⟺  0 ≤ working days from today to due ≤ soon_days
    soon_limit = calendar.add_working_days(today, soon_days + 1).due
    overdue_q, soon_q = Q(current_due__lt=today), Q(current_due__gte=today, current_due__lt=soon_limit)

    states = queue_states(user.role)
    services = _services_in_use()
    overview = user.role in OVERVIEW_ROLES
    notes: list[str] = []
    qs = role_queryset(user)
    if filters.service:
        if filters.service in {code for code, _ in services}:
            qs = qs.filter(service__code=filters.service)
        else:
            notes.append("事项筛选条件无效，已忽略")
    if filters.state:
        if filters.state in {code for code, _ in states}:
            qs = qs.filter(state=filters.state)
        else:
            notes.append("状态筛选条件无效，已忽略")

    region, trail = _drill_region(user, filters.drill, notes)
    if region is not None and region.code != user.region_id:
        low, high = region.subtree_range()
        qs = qs.filter(region_id__gte=low, region_id__lte=high)
    if filters.q:
        qs = _search(user, qs, filters.q, notes)

    counts = qs.aggregate(total=Count("pk"), overdue=Count("pk", filter=overdue_q), due_soon=Count("pk", filter=soon_q))
    shown = region or user.region
    children: list[RegionCount] = []
    if shown is not None and shown.level < region_codes.VILLAGE and (overview or shown.level < region_codes.TOWNSHIP):
        children = _child_counts(qs, shown, overdue_q, soon_q)

    listed = qs
    if filters.overdue_only:
        listed = listed.filter(overdue_q)
    if filters.after:
        after = _after(filters.after)
        if after is None:
            notes.append("翻页参数无效，已从第一页显示")
        else:
            listed = listed.filter(after)
    values = list(
        listed.annotate(household_size=household_size_subquery())
        .order_by(F("current_due").asc(nulls_last=True), "number")
        .values(
            "pk",
            "number",
            "service__name",
            "applicant__name",
            "household_size",
            "state",
            "current_step",
            "current_due",
            "due_provisional",
            "region__name",
        )[: page_size + 1]
    )
    more = len(values) > page_size
    values = values[:page_size]
    rows = [_queue_row(v, today, soon_limit, calendar) for v in values]
    next_cursor = _encode_cursor(values[-1]["current_due"], values[-1]["number"]) if more else ""
    return Queue(
        rows=rows,
        total=counts["total"],
        overdue=counts["overdue"],
        due_soon=counts["due_soon"],
        due_soon_days=soon_days,
        today=today,
        next_cursor=next_cursor,
        filters=filters,
        states=states,
        services=services,
        overview=overview,
        children=children,
        notes=notes,
        region=region or user.region,
        trail=trail,
        child_level=region_codes.LEVEL_NAMES[min(shown.level + 1, region_codes.VILLAGE)] if shown else "",
    )


def _queue_row(v: dict, today: datetime.date, soon_limit: datetime.date, calendar: WorkingCalendar) -> QueueRow:
    due = v["current_due"]
    overdue_days = calendar.working_days_between(due, today) if due and due < today else None
    soon = bool(due and today <= due < soon_limit)
    label = wf.STATE_LABELS.get(v["state"], v["state"])
    if v["state"] == wf.REFUSED:
        label += "（待送达通知书）"
    return QueueRow(
        pk=v["pk"],
        number=v["number"],
        service=v["service__name"],
        applicant=mask_name(v["applicant__name"]),
        household_size=v["household_size"],
        state=v["state"],
        state_label=label,
        step=v["current_step"],
        due=due,
        due_provisional=v["due_provisional"],
        village=v["region__name"],
        overdue_days=overdue_days,
        due_soon=soon,
        days_left=calendar.working_days_between(today, due) if soon else None,
    )


def _drill_region(user, raw: str, notes: list[str]) -> tuple[Region | None, list[Region]]:
    """The region chosen inside the user's own (a typed code with full-width digits is folded); a bad or foreign
    one is noted and ignored. Returns it and the trail from the user's region down to it."""
    own = user.region
    raw = fold_input(raw)
    if not raw or own is None:
        return None, [own] if own else []
    region = None
    if re.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{9}|\d{12}", raw):
        region = Region.objects.filter(code=region_codes.canonical(raw)).first()
    if region is None or not own.contains(region.code):
        notes.append("区划筛选条件无效或不在您的管辖范围内，已忽略")
        return None, [own]
    trail = [r for r in region.ancestors() if own.contains(r.code)] + [region]
    return region, trail


_QUEUE_CASE_NUMBER = re.compile(r"^MZ\d{1,11}$")


def _search(user, qs: QuerySet, raw: str, notes: list[str]) -> QuerySet:
    """Narrow the queue to a case number (or its start) or a part of the applicant's name; the search is audited
    as the registry's number searches are (the name masked)."""
    folded = fold_input(raw)
    text = " ".join(raw.split())
    if len(text) > 40:
        notes.append("查询内容过长，已忽略")
        return qs
    if _QUEUE_CASE_NUMBER.match(folded):
        kind, shown, qs = "case", folded, qs.filter(number__startswith=folded)
    else:
        kind, shown, qs = "name", mask_name(text), qs.filter(applicant__name__contains=text)
    audit.record(
        audit.Action.SEARCH,
        user=user,
        object_type="case_queue",
        label=f"待办案件查询：{shown}",
        region_code=user.region_id,
        detail={"kind": kind, "q": shown},
    )
    return qs


def _child_counts(qs: QuerySet, region: Region, overdue_q: Q, soon_q: Q) -> list[RegionCount]:
    """Open, overdue and due-soon cases per child of `region` (city → counties → townships → villages): one grouped
    query on the code prefix."""
    child = min(region.level + 1, region_codes.VILLAGE)
    width = region_codes.PREFIX_LENGTH[child]
    grouped = list(
        qs.annotate(prefix=Substr("region_id", 1, width))
        .order_by()
        .values("prefix")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q), due_soon=Count("pk", filter=soon_q))
        .order_by("prefix")
    )
    names = dict(
        Region.objects.filter(code__in=[g["prefix"].ljust(12, "0") for g in grouped]).values_list("code", "name")
    )
    return [
        RegionCount(
            g["prefix"],
            names.get(g["prefix"].ljust(12, "0"), g["prefix"]),
            g["open"],
            g["overdue"],
            g["due_soon"],
            leaf=child >= region_codes.TOWNSHIP,
        )
        for g in grouped
    ]


# ---------------------------------------------------------------- referrals

_HOUSEHOLD_NUMBER = re.compile(r"^H?(\d{1,12})$")


def parse_household_number(raw: str) -> int:
    """户编号 as printed (H000000123) or its digits, to the household's id."""
    match = _HOUSEHOLD_NUMBER.match(fold_input(raw))
    if not match or int(match.group(1)) == 0:
        raise DomainError(
            "户编号格式不正确，应为“H”加数字，如 H000000123", "invalid_household_number", field="household"
        )
    return int(match.group(1))


@dataclass(frozen=True)
class ReferralFilters:
    department: str = ""
    status: str = ""  # "" all, "open", "replied"


@dataclass(frozen=True)
class ReferralRow:
    pk: int
    department: str
    household_id: int
    household_number: str
    head: str  # masked
    case_id: int | None
    case_number: str
    need: str
    referred_on: datetime.date
    due: datetime.date
    due_provisional: bool
    reply: str
    replied_on: datetime.date | None
    overdue_days: int | None

    @property
    def open(self) -> bool:
        return self.replied_on is None

    @property
    def overdue(self) -> bool:
        return self.overdue_days is not None

    @property
    def replied_late(self) -> bool:
        return self.replied_on is not None and self.replied_on > self.due


@dataclass
class ReferralList:
    rows: list[ReferralRow]
    open: int
    overdue: int
    truncated: bool
    filters: ReferralFilters
    departments: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


def referral_list(user, filters: ReferralFilters | None = None, today: datetime.date | None = None) -> ReferralList:
    """Referrals in the user's scope: open ones first, by reply deadline."""
    require(user, Capability.VIEW_PEOPLE)
    filters = filters or ReferralFilters()
    today = today or timezone.localdate()
    notes: list[str] = []
    qs = Referral.objects.for_user(user)
    if filters.department:
        if filters.department in Referral.Department.values:
            qs = qs.filter(department=filters.department)
        else:
            notes.append("转办部门筛选条件无效，已忽略")
    counts = qs.aggregate(
        open=Count("pk", filter=Q(replied_on__isnull=True)),
        overdue=Count("pk", filter=Q(replied_on__isnull=True, due__lt=today)),
    )
    if filters.status == "open":
        qs = qs.filter(replied_on__isnull=True)
    elif filters.status == "replied":
        qs = qs.filter(replied_on__isnull=False)
    elif filters.status:
        notes.append("办理状态筛选条件无效，已忽略")
    items = list(
        qs.select_related("household__head", "case")
        .annotate(answered=CaseExpr(When(replied_on__isnull=True, then=Value(0)), default=Value(1)))
        .order_by("answered", "due", "pk")[: REFERRAL_LIMIT + 1]
    )
    calendar = WorkingCalendar()
    rows = [
        ReferralRow(
            pk=r.pk,
            department=r.get_department_display(),
            household_id=r.household_id,
            household_number=r.household.number,
            head=mask_name(r.household.head.name) if r.household.head_id else "—",
            case_id=r.case_id,
            case_number=r.case.number if r.case_id else "",
            need=r.need,
            referred_on=r.referred_on,
            due=r.due,
            due_provisional=r.due_provisional,
            reply=r.reply,
            replied_on=r.replied_on,
            overdue_days=(
                calendar.working_days_between(r.due, today) if r.replied_on is None and r.due < today else None
            ),
        )
        for r in items[:REFERRAL_LIMIT]
    ]
    return ReferralList(
        rows=rows,
        open=counts["open"],
        overdue=counts["overdue"],
        truncated=len(items) > REFERRAL_LIMIT,
        filters=filters,
        departments=list(Referral.Department.choices),
        notes=notes,
    )
