"""Demo cases: applications spread over every step of the procedures, some overdue, so the work queues look like a
real office. Driven through the real services with past dates (no shortcuts into the tables), so every case has a
consistent event log, parameter snapshot and deadlines."""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from minzheng.accounts.models import User
from minzheng.accounts.roles import Role
from minzheng.cases import confirmation, services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core.errors import DomainError
from minzheng.core.workdays import WorkingCalendar
from minzheng.policy.models import ServiceItem
from minzheng.regions import codes as region_codes
from minzheng.registry.models import Household

from . import parameters

# Share of demo cases per service, and the step each case is left at (weights).
SERVICES = [("dibao", 60), ("tekun", 15), ("temp_expense", 10), ("temp_emergency", 10), ("disability_care", 5)]
TARGETS = {
    "dibao": [
        (wf.PENDING, 8),
        (wf.ACCEPTED, 12),
        (wf.INVESTIGATING, 15),
        (wf.FIRST_REVIEW, 12),
        (wf.NOTICE, 12),
        (wf.COUNTY_REVIEW, 13),
        (wf.APPROVED, 20),
        (wf.REFUSED, 5),
        (wf.NOT_ACCEPTED, 3),
    ],
    "tekun": [(wf.ACCEPTED, 15), (wf.INVESTIGATING, 25), (wf.NOTICE, 15), (wf.COUNTY_REVIEW, 20), (wf.APPROVED, 25)],
    "temp_expense": [(wf.ACCEPTED, 20), (wf.INVESTIGATING, 30), (wf.COUNTY_REVIEW, 20), (wf.APPROVED, 30)],
    "temp_emergency": [(wf.PAID_FIRST, 60), (wf.APPROVED, 40)],
    "disability_care": [(wf.TRANSFERRED, 100)],
}
# Calendar days between application and today, by the step the case is left at.
AGE_DAYS = {
    wf.PENDING: (0, 4),
    wf.ACCEPTED: (0, 3),
    wf.PAID_FIRST: (0, 6),
    wf.INVESTIGATING: (3, 12),
    wf.FIRST_REVIEW: (8, 16),
    wf.NOTICE: (12, 20),
    wf.COUNTY_REVIEW: (20, 32),
}
ORDER = [wf.PENDING, wf.ACCEPTED, wf.INVESTIGATING, wf.FIRST_REVIEW, wf.NOTICE, wf.COUNTY_REVIEW, wf.APPROVED]
INVESTIGATORS = [["刘建国", "王秀英"], ["张志强", "李桂兰"], ["赵卫东", "孙丽华"]]


@dataclass
class DemoResult:
    created: int
    by_state: dict[str, int]
    skipped: int


def _staff(township_code: str) -> dict[str, User] | None:
    """The demo accounts working in a township (clerk and reviewer) and its county's approver."""
    users = User.objects.filter(is_active=True).select_related("region")
    clerk = users.filter(role=Role.CLERK, region_id=township_code).first()
    reviewer = users.filter(role=Role.TOWNSHIP_REVIEWER, region_id=township_code).first()
    county = users.filter(role=Role.COUNTY_APPROVER, region_id=township_code[:6].ljust(12, "0")).first()
    if not (clerk and reviewer and county):
        return None
    return {"clerk": clerk, "reviewer": reviewer, "county": county}


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def generate_cases(count: int, seed: int = 1, today: datetime.date | None = None) -> DemoResult:
    """Create up to `count` cases for households in townships that have demo staff."""
    today = today or timezone.localdate()
    rng = random.Random(seed)
    calendar = WorkingCalendar()
    townships = {u.region_id for u in User.objects.filter(role=Role.TOWNSHIP_REVIEWER)}
    staff = {code: s for code in townships if (s := _staff(code))}
    # The demo's local parameters first: the cases are checked as they go, against the standards in force.
    for city in sorted({parameters.city_code(code) for code in staff}):
        parameters.load_demo_parameters(city)
    busy = Case.objects.exclude(state__in=wf.FINAL_STATES).values("household_id")
    households = []
    for code in sorted(staff):
        low, high = code[:9] + "000", code[:9] + "999"
        households += list(
            Household.objects.filter(region_id__gte=low, region_id__lte=high, head__isnull=False)
            .exclude(pk__in=busy)
            .order_by("pk")
            .values_list("pk", "head_id", "region_id")
        )
    rng.shuffle(households)
    by_state: dict[str, int] = {}
    created = skipped = 0
    for household_id, head_id, region_id in households[:count]:
        service = _pick(rng, SERVICES)
        target = _pick(rng, TARGETS[service])
        people = staff[region_id[:9] + "000"]
        # Applied a little longer ago the further the case has got; about one open case in seven is running late.
        low, high = AGE_DAYS.get(target, (40, 120))
        start = today - datetime.timedelta(days=rng.randint(low, high) + (25 if rng.random() < 0.15 else 0))
        try:
            with transaction.atomic():
                case = _drive(people, household_id, head_id, service, target, start, today, rng, calendar)
        except DomainError:
            skipped += 1
            continue
        created += 1
        by_state[case.state] = by_state.get(case.state, 0) + 1
    return DemoResult(created, by_state, skipped)


def _drive(people, household_id, head_id, service, target, start, today, rng, calendar) -> Case:
    item = ServiceItem.objects.get(code=service)
    demanded = [m.code for m in item.materials.all() if m.demandable and m.required]
    received = demanded if target != wf.PENDING else demanded[:-1]
    clerk, reviewer, county = people["clerk"], people["reviewer"], people["county"]
    day = start

    def step(days: int) -> datetime.date:
        nonlocal day
        day = min(calendar.add_working_days(day, days).due, today)
        return day

    if service == "temp_emergency":
        case = services.open_application(
            clerk,
            household_id=household_id,
            service_code=service,
            applicant_id=head_id,
            channel="window",
            received=[],
            today=day,
        )
        services.act(
            clerk,
            case.pk,
            "pay_first",
            amount=str(rng.choice([1500, 2000, 3000, 5000])),
            situation=rng.choice(["房屋失火", "突发重病住院", "交通事故"]),
            today=day,
        )
        if target == wf.APPROVED:
            services.act(clerk, case.pk, "complete_materials", received=demanded, today=step(2))
            services.act(clerk, case.pk, "complete_documents", today=day)
        return Case.objects.get(pk=case.pk)
    case = services.open_application(
        clerk,
        household_id=household_id,
        service_code=service,
        applicant_id=head_id,
        channel=rng.choice(["window", "window", "window", "online"]) if item.online else "window",
        received=received,
        today=day,
    )
    if case.state in (wf.TRANSFERRED,) or target == wf.PENDING:
        if target == wf.PENDING and rng.random() < 0.5:
            services.act(clerk, case.pk, "notify_missing", today=day)
        return case
    if target == wf.NOT_ACCEPTED:
        return case
    reached = ORDER.index(target) if target in ORDER else len(ORDER)
    refuse = target == wf.REFUSED
    check_refuses = False  # the check found the household not eligible: the case goes on to a refusal
    if reached >= ORDER.index(wf.INVESTIGATING) or refuse:
        services.act(
            clerk,
            case.pk,
            "start_investigation",
            investigators=rng.choice(INVESTIGATORS),
            today=step(rng.randint(1, 4)),
        )
        services.act(reviewer, case.pk, "request_check", today=day)
        # A case left at the investigation waits for its check: `record_waiting_checks` runs it once the departments'
        # data are in (generate_check_data). Every other case is checked now, and goes on as its verdict says.
        if reached > ORDER.index(wf.INVESTIGATING) or refuse:
            services.act(county, case.pk, "record_check", today=step(rng.randint(1, 2)))
            check = confirmation.latest_check(case) or {}
            check_refuses = service in confirmation.CHECKED and not check.get("eligible")
    if reached >= ORDER.index(wf.FIRST_REVIEW) or refuse:
        if service == "tekun":
            items = {
                k: rng.random() < 0.5 for k in ("feeding", "dressing", "transfer", "toileting", "walking", "bathing")
            }
            services.act(clerk, case.pk, "assess_self_care", items=items, today=step(2))
        # The investigation's income is the check's where there is one (the visit confirmed the departments' data).
        income = (confirmation.latest_check(case) or {}).get("per_capita_income") or rng.randint(200, 700)
        services.act(
            clerk,
            case.pk,
            "complete_investigation",
            findings="入户调查：家庭成员、收入、财产情况与申报一致",
            per_capita_income=str(income),
            today=step(rng.randint(3, 8)),
        )
    if reached >= ORDER.index(wf.NOTICE) or refuse:
        check = confirmation.latest_check(case) or {}
        if check_refuses:
            services.act(
                reviewer,
                case.pk,
                "first_review",
                opinion="refuse",
                reasons=f"信息核对结论：{check['verdict']}",
                today=step(rng.randint(1, 3)),
            )
            decided = step(rng.randint(2, 9))
            _county_checks(county, Case.objects.get(pk=case.pk), decided)
            services.act(county, case.pk, "refuse", reasons=f"经信息核对，{check['verdict']}", today=decided)
            return Case.objects.get(pk=case.pk)
        # The check's computed amount is proposed as it stands; a 特困 case still awaiting the supporter finding, or
        # 临时救助, has none and the reviewer enters one.
        computed = check.get("eligible") and check.get("amount") not in (None, "", "0.00")
        amount = {"dibao": rng.randint(150, 900), "tekun": 1040, "temp_expense": rng.randint(1000, 6000)}[service]
        _confirm(
            reviewer,
            case.pk,
            "first_review",
            opinion="approve",
            **({} if computed else {"amount": str(amount)}),
            today=step(rng.randint(1, 3)),
        )
    if reached >= ORDER.index(wf.COUNTY_REVIEW) or refuse:
        day = min(day + datetime.timedelta(days=7), today)
        services.act(reviewer, case.pk, "end_notice", today=day)
    if reached >= ORDER.index(wf.APPROVED) or refuse:
        current = Case.objects.get(pk=case.pk)
        decided = step(rng.randint(2, 9))
        _county_checks(county, current, decided)
        if refuse:
            services.act(
                county, case.pk, "refuse", reasons="县级入户核查：家庭实际收入高于申报，不符合条件", today=decided
            )
        else:
            _confirm(county, case.pk, "approve", today=decided)
    return Case.objects.get(pk=case.pk)


def _county_checks(county, case: Case, decided: datetime.date) -> None:
    """The county's own visit (a relative of staff) and spot check (特困), before it decides."""
    if case.conflict_of_interest:
        services.act(county, case.pk, "county_visit", findings="县级入户核查属实", today=decided)
    if case.spot_check_selected:
        services.act(county, case.pk, "spot_check", findings="抽查入户，情况属实", today=decided)


STALE_REASONS = "核对结果已逾有效期，经入户复核家庭收入、财产情况未发生变化"


def _confirm(user, case_id: int, action: str, **data) -> Case:
    """A proposal or approval as an officer makes it: on a check that has gone stale while the case waited (the
    notice, a late county), with the override's reasons recorded, as the procedure requires."""
    try:
        return services.act(user, case_id, action, **data)
    except DomainError as exc:
        # Only a check gone stale is overridden here: the demo records a check before any proposal.
        if exc.code != "check_override_required" or confirmation.NO_CHECK in exc.message:
            raise
        return services.act(user, case_id, action, override_reasons=STALE_REASONS, **data)


def record_waiting_checks(region_code: str, today: datetime.date | None = None) -> int:
    """Check the demo cases still waiting at the investigation for their data check (after the parameters and the
    departments' data are in): the county's checker runs the engine on each, as of today. Returns how many."""
    today = today or timezone.localdate()
    low, high = region_codes.subtree_range(region_code)
    waiting = (
        Case.objects.filter(state=wf.INVESTIGATING, region_id__gte=low, region_id__lte=high)
        .filter(events__action="request_check")
        .exclude(events__action="record_check")
        .select_related("region")
        .distinct()
        .order_by("pk")
    )
    done = 0
    for case in waiting:
        people = _staff(case.region_id[:9] + "000")
        if people is None:
            continue
        try:
            services.act(people["county"], case.pk, "record_check", today=today)
        except DomainError:
            continue
        done += 1
    return done
