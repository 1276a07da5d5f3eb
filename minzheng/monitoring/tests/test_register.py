"""The register of monitored people (issue 5 §1): fed by decisions and checks at each sweep, closed (never deleted)
when a later decision stops the benefit, manual and imported entries left alone, and manual registration."""

import datetime

import pytest
from django.utils import timezone

from minzheng.cases import services as cases
from minzheng.cases import workflows as wf
from minzheng.checks.models import CheckResult, CheckRun
from minzheng.conftest import COUNTY, OTHER_VILLAGE
from minzheng.core.errors import Conflict, DomainError, PermissionDeniedError
from minzheng.core.models import AuditEntry
from minzheng.monitoring import services
from minzheng.monitoring.models import Category, EntrySource, MonitoredEntry

from .conftest import AS_OF, D
from .test_rules import authorisation

GRANTED = D(2025, 3, 3)  # a Monday: the application, and the review
REVIEWED = D(2026, 6, 1)
ALL_DEMANDED = ["application", "authorisation", "pledge", "income_statement"]


@pytest.fixture
def officers(make_user):
    return {
        "clerk": make_user("clerk"),
        "reviewer": make_user("township_reviewer"),
        "county": make_user("county_approver"),
        "assistant": make_user("assistant"),
    }


def investigate(case, o, start: datetime.date):
    """Investigation, check and the township's opinion (as in cases/tests/test_dibao.py), from `start` (a Monday)."""
    day = lambda n: start + datetime.timedelta(days=n)  # noqa: E731
    cases.act(o["clerk"], case.pk, "start_investigation", investigators=["张工作", "李工作"], today=day(2))
    cases.act(o["reviewer"], case.pk, "request_check", today=day(2))
    cases.act(
        o["county"],
        case.pk,
        "record_check",
        manual=True,  # a paper result: the check engine itself is tested in minzheng/checks
        summary="未发现大额存款、车辆",
        per_capita_income="500",
        today=day(4),
    )
    cases.act(
        o["assistant"],
        case.pk,
        "complete_investigation",
        findings="入户核实属实",
        visit_date=day(2).isoformat(),
        per_capita_income="500",
        today=day(7),
    )
    return cases.act(o["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=day(8))


@pytest.fixture
def approve_dibao(officers):
    def run(household, start: datetime.date = GRANTED):
        case = cases.open_application(
            officers["clerk"],
            household_id=household.pk,
            service_code="dibao",
            applicant_id=household.head_id,
            channel="window",
            received=ALL_DEMANDED,
            authorisation_signed=True,
            pledge_signed=True,
            today=start,
        )
        assert case.state == wf.ACCEPTED
        investigate(case, officers, start)
        case = cases.act(officers["reviewer"], case.pk, "end_notice", today=start + datetime.timedelta(days=15))
        case = cases.act(
            officers["county"], case.pk, "approve", amount="300", today=start + datetime.timedelta(days=22)
        )
        assert case.state == wf.APPROVED
        return case

    return run


@pytest.fixture
def review(officers):
    """A 动态复核 case decided by the county: "approve" continues the benefit, "refuse" stops it."""

    def run(household, decision: str, start: datetime.date = REVIEWED):
        case = cases.open_application(
            officers["assistant"],
            household_id=household.pk,
            service_code="dibao_review",
            applicant_id=household.head_id,
            channel="proactive",
            today=start,
        )
        assert case.state == wf.ACCEPTED
        case = investigate(case, officers, start)
        assert case.state == wf.COUNTY_REVIEW
        data = {"amount": "300"} if decision == "approve" else {"reasons": "家庭人均收入已高于低保标准"}
        case = cases.act(officers["county"], case.pk, decision, today=start + datetime.timedelta(days=10), **data)
        assert case.state == (wf.APPROVED if decision == "approve" else wf.REFUSED)
        return case

    return run


def entries(household, **filters):
    return list(MonitoredEntry.objects.filter(household=household, **filters).order_by("person_id", "id"))


def test_an_approved_dibao_case_puts_every_member_on_the_register(make_household, approve_dibao, sweep):
    h, other = make_household(3), make_household(2)
    case = approve_dibao(h)
    s = sweep()
    assert s.stats["register_opened"] == 3 and s.stats["register_closed"] == 0
    got = entries(h)
    assert sorted(e.person_id for e in got) == sorted(m.person_id for m in h.current_memberships())
    assert {(e.category, e.source, e.reference, e.start_on, e.end_on, e.region_id) for e in got} == {
        (Category.DIBAO, EntrySource.CASE, case.number, case.start_month, None, h.region_id)
    }
    assert entries(other) == []
    again = sweep()
    assert again.stats["register_opened"] == 0 and len(entries(h)) == 3


# In batches of one id: every `IN (…)` list is split as a city's hundreds of thousands of ids would be.
IN_BATCHES = pytest.mark.parametrize("in_batch", [services._IN_BATCH, 1])


@IN_BATCHES
def test_a_refused_review_closes_the_entries_and_keeps_the_history(
    make_household, approve_dibao, review, sweep, monitor, county_officer, monkeypatch, in_batch
):
    monkeypatch.setattr(services, "_IN_BATCH", in_batch)
    h, manual = make_household(3), make_household(2)
    approve_dibao(h)
    monitor(manual, "dibao")  # registered by hand (e.g. before the platform): the sync leaves it alone
    services.register_entry(
        county_officer, person_id=h.head_id, category=Category.OTHER, start_on=D(2026, 1, 5), reference="走访发现"
    )
    sweep(as_of=D(2026, 5, 1))
    assert len(entries(h, category=Category.DIBAO, end_on__isnull=True)) == 3
    stop = review(h, "refuse")
    s = sweep()
    assert s.stats["register_closed"] == 3 and s.stats["register_opened"] == 0
    closed = entries(h, category=Category.DIBAO)
    assert len(closed) == 3 and {(e.end_on, e.start_on) for e in closed} == {(AS_OF, D(2025, 4, 1))}
    assert all(e.end_reason for e in closed) and stop.decided_on <= AS_OF
    assert [e.category for e in entries(h, end_on__isnull=True)] == [Category.OTHER]
    assert len(entries(manual, end_on__isnull=True)) == 2
    # The household applies again and is approved: new rows, the closed ones stay as history.
    approve_dibao(h, start=D(2026, 8, 3))
    sweep()
    assert len(entries(h, category=Category.DIBAO)) == 6
    assert len(entries(h, category=Category.DIBAO, end_on__isnull=True)) == 3


def test_a_review_that_continues_the_benefit_keeps_the_entries(make_household, approve_dibao, review, sweep):
    h = make_household(2)
    approve_dibao(h)
    review(h, "approve")
    s = sweep()
    assert s.stats["register_opened"] == 2
    assert len(entries(h, end_on__isnull=True, category=Category.DIBAO)) == 2


@IN_BATCHES
def test_edge_and_rigid_come_from_the_latest_check_and_yield_to_a_dibao_decision(
    make_household, approve_dibao, sweep, monkeypatch, in_batch
):
    monkeypatch.setattr(services, "_IN_BATCH", in_batch)
    edge, rigid = make_household(2), make_household(2)
    run = CheckRun.objects.create(
        kind=CheckRun.Kind.BATCH, region_id=COUNTY, as_of=D(2026, 3, 1), status=CheckRun.Status.COMPLETE
    )
    a = CheckResult.objects.create(
        run=run, household=edge, region_id=edge.region_id, edge=True, authorisation=authorisation(edge)
    )
    CheckResult.objects.create(
        run=run, household=rigid, region_id=rigid.region_id, rigid=True, authorisation=authorisation(rigid)
    )
    s = sweep(as_of=D(2026, 4, 1))
    assert s.stats["register_opened"] == 4
    assert {(e.category, e.source, e.reference, e.start_on) for e in entries(edge)} == {
        (Category.EDGE, EntrySource.CHECK, f"核对结果#{a.pk}", D(2026, 3, 1))
    }
    assert {e.category for e in entries(rigid)} == {Category.RIGID}
    approve_dibao(edge, start=D(2026, 6, 1))
    sweep()
    assert {(e.category, e.end_on) for e in entries(edge)} == {(Category.EDGE, AS_OF), (Category.DIBAO, None)}


# --- manual registration -----------------------------------------------------------------------------------------


def test_register_entry_records_a_manual_entry_and_an_audit_record(make_household, assistant):
    h = make_household(2)
    entry = services.register_entry(
        assistant, person_id=h.head_id, category="other", start_on=D(2026, 11, 2), reference="铁脚板摸排发现"
    )
    assert (entry.household_id, entry.region_id, entry.source, entry.end_on) == (h.pk, h.region_id, "manual", None)
    audit = AuditEntry.objects.get(object_type="monitored_entry", object_id=str(entry.pk))
    assert audit.action == "create" and audit.user == assistant and audit.region_code == h.region_id


@pytest.mark.parametrize(
    ("case", "error", "text"),
    [
        ("duplicate", Conflict, "该人员已在此监测类别中"),
        ("future", DomainError, "纳入日期不能晚于今天"),
        ("category", DomainError, "请选择监测类别"),
        ("scope", DomainError, "该人员不在您辖区的家庭中"),
        ("role", PermissionDeniedError, ""),
    ],
)
def test_register_entry_validations_change_nothing(make_household, assistant, make_user, case, error, text):
    h = make_household(2)
    services.register_entry(assistant, person_id=h.head_id, category="other", start_on=D(2026, 1, 1))
    kwargs = {"person_id": h.head_id, "category": "other", "start_on": D(2026, 2, 1)}
    user = assistant
    if case == "future":
        kwargs |= {"category": "rigid", "start_on": timezone.localdate() + datetime.timedelta(days=1)}
    elif case == "category":
        kwargs["category"] = "poor"
    elif case == "scope":
        kwargs["category"] = "rigid"
        user = make_user("assistant", region=OTHER_VILLAGE)
    elif case == "role":
        kwargs["category"] = "rigid"
        user = make_user("leader")
    before = (MonitoredEntry.objects.count(), AuditEntry.objects.count())
    with pytest.raises(error) as caught:
        services.register_entry(user, **kwargs)
    assert text in caught.value.message
    assert (MonitoredEntry.objects.count(), AuditEntry.objects.count()) == before


def test_a_closed_entry_does_not_block_a_new_one(make_household, assistant):
    h = make_household(1)
    first = services.register_entry(assistant, person_id=h.head_id, category="other", start_on=D(2026, 1, 1))
    MonitoredEntry.objects.filter(pk=first.pk).update(end_on=D(2026, 3, 1), end_reason="已脱困")
    again = services.register_entry(assistant, person_id=h.head_id, category="other", start_on=D(2026, 9, 1))
    assert again.pk != first.pk and MonitoredEntry.objects.filter(person_id=h.head_id).count() == 2
