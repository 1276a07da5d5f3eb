"""动态管理 (DOMAIN.md §1 Dynamic management; DB §31; TZ): when each recipient household is next reviewed, the queue
of reviews due and overdue, and the review cases (复核) opened for them — by the schedule, or for the households a
batch re-check flagged. The review itself is the case workflow `review` (cases/workflows.py)."""

import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError
from minzheng.core.months import add_months
from minzheng.policy.parameters import resolve_many
from minzheng.registry.models import Membership

from .kinds import TYPES
from .models import Entitlement, Status

REVIEW_SERVICE = "dibao_review"
DUE_SOON_DAYS = 30


def review_months(ent: Entitlement, on: datetime.date) -> int | None:
    """12 months for a stable household, 6 with a working-age member (irregular income), yearly for 特困."""
    kind = TYPES.get(ent.benefit)
    if kind is None or ent.benefit not in ("dibao", "tekun"):
        return None
    params = resolve_many(
        [
            "dibao.review_months_stable",
            "dibao.review_months_irregular",
            "dibao.working_age_from",
            "dibao.working_age_to",
            "tekun.review_months",
            "dibao.post_death_review_months",
        ],
        ent.region_id,
        on,
    )
    if ent.benefit == "tekun":
        return int(params["tekun.review_months"].value)
    low, high = int(params["dibao.working_age_from"].value), int(params["dibao.working_age_to"].value)
    members = Membership.objects.filter(household_id=ent.household_id, left_on__isnull=True).select_related("person")
    working = any(
        low <= m.person.age_on(on) < high and m.person.disability_grade not in (1, 2) and m.person.deceased_on is None
        for m in members
    )
    return int(params["dibao.review_months_irregular" if working else "dibao.review_months_stable"].value)


def next_review_date(ent: Entitlement, on: datetime.date) -> datetime.date | None:
    """From the latest decision; a member's death since then brings it forward to N months after the death."""
    if ent.status == Status.STOPPED:
        return None
    months = review_months(ent, on)
    if months is None:
        return None
    due = add_months(on, months)
    death = (
        Membership.objects.filter(
            household_id=ent.household_id, person__deceased_on__gt=on - datetime.timedelta(days=1)
        )
        .order_by("person__deceased_on")
        .values_list("person__deceased_on", flat=True)
        .first()
    )
    if death is not None:
        after = int(
            resolve_many(["dibao.post_death_review_months"], ent.region_id, on)["dibao.post_death_review_months"].value
        )
        due = min(due, add_months(death, after))
    return due


def _open_review() -> Exists:
    return Exists(
        Case.objects.filter(household=OuterRef("household"), service__workflow="review").exclude(
            state__in=wf.FINAL_STATES
        )
    )


def queue(user, today: datetime.date | None = None):
    """Recipients due for review within DUE_SOON_DAYS or overdue, in the user's scope, earliest first."""
    require(user, Capability.VIEW_PAYMENTS)
    today = today or timezone.localdate()
    return (
        Entitlement.objects.for_user(user)
        .exclude(status=Status.STOPPED)
        .filter(next_review__isnull=False, next_review__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        .annotate(review_open=_open_review())
        .select_related("household", "household__head", "region", "person")
        .order_by("next_review", "id")
    )


def open_review(user, household_id: int, *, due_on: datetime.date | None, note: str, today=None) -> Case:
    """A 复核 case for a recipient household (applicant: the head, or another living member)."""
    from minzheng.cases import services as cases
    from minzheng.cases.models import Channel

    members = list(
        Membership.objects.filter(household_id=household_id, left_on__isnull=True, person__deceased_on__isnull=True)
        .order_by("relationship", "id")
        .values_list("person_id", flat=True)
    )
    if not members:
        raise DomainError("该家庭已无在世成员，无法发起复核，请直接作出停止保障决定", "no_applicant")
    head = Entitlement.objects.filter(household_id=household_id).values_list("household__head_id", flat=True).first()
    return cases.open_application(
        user,
        household_id=household_id,
        service_code=REVIEW_SERVICE,
        applicant_id=head if head in members else members[0],
        channel=Channel.PROACTIVE,
        note=note,
        today=today,
        due_on=due_on,
    )


def schedule_due(user, region_code: str, today: datetime.date | None = None) -> dict:
    """Open review cases for every recipient household due within DUE_SOON_DAYS (or overdue) with none open yet."""
    require(user, Capability.EDIT_PEOPLE)
    today = today or timezone.localdate()
    from minzheng.regions.models import Region

    low, high = Region.objects.by_code(region_code).subtree_range()
    due = queue(user, today).filter(region_id__gte=low, region_id__lte=high, review_open=False)
    opened, failed, seen = 0, [], set()
    for ent in due:
        if ent.household_id in seen:
            continue
        seen.add(ent.household_id)
        try:
            open_review(user, ent.household_id, due_on=ent.next_review, note="定期复核（动态管理）", today=today)
            opened += 1
        except DomainError as exc:
            failed.append((ent.household_id, exc.message))
    return {"opened": opened, "failed": failed, "due": len(seen)}


def to_open(user, household_ids: list[int]) -> set[int]:
    """Of these households, those still receiving 低保/特困 and without a review already open."""
    receiving = set(
        Entitlement.objects.for_user(user)
        .filter(household_id__in=household_ids, benefit__in=("dibao", "tekun"))
        .exclude(status=Status.STOPPED)
        .values_list("household_id", flat=True)
    )
    busy = set(
        Case.objects.filter(household_id__in=receiving, service__workflow="review")
        .exclude(state__in=wf.FINAL_STATES)
        .values_list("household_id", flat=True)
    )
    return receiving - busy


def open_for_households(user, household_ids: list[int], reason: str, today=None) -> dict:
    """Review cases for the households a batch re-check flagged (its differences), skipping those not receiving a
    benefit any more or with a review already open."""
    require(user, Capability.EDIT_PEOPLE)
    opened, failed = [], []
    for household_id in sorted(to_open(user, household_ids)):
        try:
            with transaction.atomic():
                case = open_review(user, household_id, due_on=None, note=reason, today=today)
        except DomainError as exc:
            failed.append((household_id, exc.message))
            continue
        opened.append(case.number)
    return {"opened": opened, "skipped": len(set(household_ids)) - len(opened) - len(failed), "failed": failed}
