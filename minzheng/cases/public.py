"""The public notice pages (公示 and the published list, 名单), read without a user.

They read one region's subtree by its code range and return only what DOMAIN.md §1 allows to be published (masked
name, household size, amount, and for a notice its period and the township to contact) — never identity numbers,
addresses, phones, household numbers or incomes. Rows are built from `values()` with explicit fields, so nothing else
is even loaded.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.utils import timezone

from minzheng.core.errors import NotFound
from minzheng.core.masking import mask_name
from minzheng.policy.parameters import resolve
from minzheng.regions import codes as region_codes
from minzheng.regions.models import Region

from . import workflows as wf
from .models import Case, CaseEvent
from .queries import household_size_subquery as _household_size

PUBLIC_NOTICE_LIMIT = 1000
PUBLISHED_PAGE_SIZE = 200


_REGION_CODE = re.compile(r"^[0-9]{12}$")  # ASCII digits only


def public_region(code: str) -> Region:
    """The village or township a public page is for; anything else is not found."""
    region = None
    if _REGION_CODE.match(code or ""):
        region = (
            Region.objects.filter(code=code, level__in=(region_codes.TOWNSHIP, region_codes.VILLAGE))
            .select_related("parent")
            .first()
        )
    if region is None:
        raise NotFound("未找到该村（社区）或乡镇（街道）：请核对12位区划代码")
    return region


def _public_cases(region: Region) -> QuerySet:
    low, high = region.subtree_range()
    return Case.objects.filter(region_id__gte=low, region_id__lte=high, service__public_notice=True)


def _township_office(code: str, name: str) -> str:
    kind = region_codes.township_kind(code)
    if kind == "街道":
        return f"{name}办事处"
    if kind in ("镇", "乡"):
        return f"{name}人民政府"
    return name


def _township_names(region_codes_: set[str]) -> dict[str, str]:
    wanted = {code[:9].ljust(12, "0") for code in region_codes_}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))


@dataclass(frozen=True)
class NoticeRow:
    service: str
    name: str  # masked
    household_size: int
    amount: Decimal
    village: str
    notice_from: datetime.date
    notice_to: datetime.date
    contact: str  # the township office that takes objections
    unit: str = "元/月"  # 元 for a one-off 临时救助 payment


@dataclass
class PublicNotice:
    region: Region
    rows: list[NoticeRow]  # notices still running today
    truncated: bool
    archived: list[NoticeRow] = field(default_factory=list)  # ended within the last `archive_days`, newest first
    archive_days: int = 0
    today: datetime.date | None = None

    @property
    def per_village(self) -> bool:
        """A township's page lists its villages' notices together, so each row names its village."""
        return self.region.level != region_codes.VILLAGE


_NOTICE_FIELDS = (
    "service__name",
    "service__workflow",
    "applicant__name",
    "household_size",
    "proposed_amount",
    "region_id",
    "region__name",
)


def _notice_rows(values: list[dict], townships: dict[str, str]) -> list[NoticeRow]:
    rows = []
    for v in values:
        township_code = v["region_id"][:9].ljust(12, "0")
        rows.append(
            NoticeRow(
                service=v["service__name"],
                name=mask_name(v["applicant__name"]),
                household_size=v["household_size"],
                amount=v["proposed_amount"],
                village=v["region__name"],
                notice_from=v["notice_from"],
                notice_to=v["notice_to"],
                contact=_township_office(township_code, townships.get(township_code, "")),
                unit=wf.amount_unit(v["service__workflow"]),
            )
        )
    return rows


def _notice_days(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 7  # DB §19; a case under notice always carries its snapshot, this is only a guard


def public_notice(region: Region, today: datetime.date | None = None) -> PublicNotice:
    """Cases under public notice (公示) in a village or township: the first-review opinion to approve.

    A notice runs `notice_days` calendar days from the first review (the case's parameter snapshot, DB §19); once
    that has passed it is no longer current, even while the reviewer has not yet sent the case on. Ended notices stay
    on the board as an archive for `public.notice_archive_days`, then leave it. A withdrawn or re-investigated case's
    notice is not archived: the family is no longer proposed for assistance.

    A first-review opinion to refuse is told to the applicant in writing, never posted: publishing it would expose a
    family's application without any public-supervision purpose.
    """
    today = today or timezone.localdate()
    archive_days = max(int(resolve("public.notice_archive_days", region.code, today).value or 0), 0)
    archive_from = today - datetime.timedelta(days=archive_days)
    latest_review = CaseEvent.objects.filter(case=OuterRef("pk"), action="first_review").order_by("-seq")
    under_notice = list(
        _public_cases(region)
        .filter(state=wf.NOTICE, proposed_amount__isnull=False)
        .annotate(
            review_on=Subquery(latest_review.values("on")[:1]),
            opinion=Subquery(latest_review.annotate(o=KT("data__opinion")).values("o")[:1]),
            notice_days=KT("parameters__notice_days__value"),
            household_size=_household_size(),
        )
        .filter(opinion="approve", review_on__isnull=False)
        .order_by("service__order", "service__code", "region_id", "review_on", "number")
        .values(*_NOTICE_FIELDS, "review_on", "notice_days")[: PUBLIC_NOTICE_LIMIT + 1]
    )
    current, ended = [], []
    for v in under_notice[:PUBLIC_NOTICE_LIMIT]:
        v["notice_from"] = v["review_on"]
        v["notice_to"] = v["review_on"] + datetime.timedelta(days=_notice_days(v["notice_days"]))
        (current if v["notice_to"] >= today else ended).append(v)
    # Notices the reviewer has closed (公示期满，报送审核确认): their period is in the end_notice event.
    closed = CaseEvent.objects.filter(case=OuterRef("pk"), action="end_notice").order_by("-seq")
    sent_on = list(
        _public_cases(region)
        .filter(state__in=(wf.COUNTY_REVIEW, wf.APPROVED, wf.REFUSED), proposed_amount__isnull=False)
        .annotate(
            notice_from_raw=Subquery(closed.annotate(f=KT("data__notice_from")).values("f")[:1]),
            notice_to_raw=Subquery(closed.annotate(t=KT("data__notice_to")).values("t")[:1]),
            household_size=_household_size(),
        )
        .filter(notice_to_raw__gte=archive_from.isoformat())  # ISO dates compare as text
        .order_by("-notice_to_raw", "number")
        .values(*_NOTICE_FIELDS, "notice_from_raw", "notice_to_raw")[:PUBLIC_NOTICE_LIMIT]
    )
    for v in sent_on:
        v["notice_from"] = datetime.date.fromisoformat(v["notice_from_raw"])
        v["notice_to"] = datetime.date.fromisoformat(v["notice_to_raw"])
    ended = [v for v in ended if v["notice_to"] >= archive_from] + sent_on
    ended.sort(key=lambda v: (-v["notice_to"].toordinal(), v["region_id"]))
    townships = _township_names({v["region_id"] for v in current + ended})
    return PublicNotice(
        region=region,
        rows=_notice_rows(current, townships),
        truncated=len(under_notice) > PUBLIC_NOTICE_LIMIT,
        archived=_notice_rows(ended[:PUBLIC_NOTICE_LIMIT], townships),
        archive_days=archive_days,
        today=today,
    )


@dataclass(frozen=True)
class PublishedRow:
    service: str
    name: str  # masked
    household_size: int
    amount: Decimal
    unit: str = "元/月"  # 元 for a one-off 临时救助 payment


@dataclass
class Published:
    region: Region
    rows: list[PublishedRow]
    year: int | None
    month: int | None
    next_cursor: str
    notes: list[str] = field(default_factory=list)


_PUBLISHED_CURSOR = re.compile(r"^(\d{1,18})~(\d{1,18})$")


def parse_period(raw_year: str, raw_month: str) -> tuple[int | None, int | None, list[str]]:
    """Optional year and month of the decision, from query parameters; bad values are ignored with a note."""
    notes: list[str] = []
    year = month = None
    if raw_year:
        if re.fullmatch(r"\d{4}", raw_year) and 2000 <= int(raw_year) <= 2100:
            year = int(raw_year)
        else:
            notes.append("年份应为四位数字，已显示全部年份")
    if raw_month:
        if year is None:
            if not notes:
                notes.append("请同时选择年份，已显示全部月份")
        elif re.fullmatch(r"\d{1,2}", raw_month) and 1 <= int(raw_month) <= 12:
            month = int(raw_month)
        else:
            notes.append("月份应为1至12，已显示全年")
    return year, month, notes


def published(
    region: Region, year: int | None = None, month: int | None = None, after: str = "", page_size: int | None = None
) -> Published:
    """Decided approvals under a region: only the applicant's masked name, household size and amount (DB §24). An
    export asks for a larger `page_size`."""
    page_size = page_size or PUBLISHED_PAGE_SIZE
    qs = _public_cases(region).filter(state=wf.APPROVED, decided_amount__isnull=False)
    if year:
        qs = qs.filter(decided_on__year=year)
        if month:
            qs = qs.filter(decided_on__month=month)
    notes: list[str] = []
    if after:
        match = _PUBLISHED_CURSOR.match(after)
        if match:
            service_id, pk = int(match.group(1)), int(match.group(2))
            qs = qs.filter(Q(service_id__gt=service_id) | Q(service_id=service_id, pk__gt=pk))
        else:
            notes.append("翻页参数无效，已从第一页显示")
    values = list(
        qs.annotate(household_size=_household_size())
        .order_by("service_id", "pk")
        .values(
            "service_id",
            "pk",
            "service__name",
            "service__workflow",
            "applicant__name",
            "household_size",
            "decided_amount",
        )[: page_size + 1]
    )
    more = len(values) > page_size
    values = values[:page_size]
    rows = [
        PublishedRow(
            v["service__name"],
            mask_name(v["applicant__name"]),
            v["household_size"],
            v["decided_amount"],
            wf.amount_unit(v["service__workflow"]),
        )
        for v in values
    ]
    cursor = f"{values[-1]['service_id']}~{values[-1]['pk']}" if more else ""
    return Published(region=region, rows=rows, year=year, month=month, next_cursor=cursor, notes=notes)
