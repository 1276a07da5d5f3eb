import datetime
from decimal import Decimal

import pytest

from minzheng.cases import eventlog, services, steps
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.conftest import COUNTY, VILLAGE, make_id_number
from minzheng.core.errors import DomainError
from minzheng.policy.models import Parameter
from minzheng.registry import services as registry

from .conftest import record_paper_check

D = datetime.date
MONDAY = D(2025, 3, 3)
TEKUN_MATERIALS = ["application", "authorisation", "pledge", "supporters", "self_care"]
ALL_ABLE = {k: True for k in ("feeding", "dressing", "transfer", "toileting", "walking", "bathing")}


@pytest.mark.parametrize(
    ("failed", "tier"),
    [(0, "self"), (1, "partial"), (3, "partial"), (4, "full"), (6, "full")],
)
def test_self_care_tiers(failed, tier):
    """DOMAIN.md §2 / worked example 4: failing 4 of the 6 items is 完全丧失."""
    items = dict(ALL_ABLE)
    for key in list(items)[:failed]:
        items[key] = False
    assert steps.self_care_tier(items) == tier


def test_self_care_needs_all_six_items():
    with pytest.raises(DomainError):
        steps.self_care_tier({"feeding": True})


def _tekun_case(officers, household, today=MONDAY):
    return services.open_application(
        officers["clerk"],
        household_id=household.pk,
        service_code="tekun",
        applicant_id=household.head_id,
        channel="window",
        received=TEKUN_MATERIALS,
        authorisation_signed=True,
        pledge_signed=True,
        today=today,
    )


def _to_county(case, officers):
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "complete_investigation", findings="x", today=D(2025, 3, 5))
    assert err.value.code == "self_care_required"
    items = {**ALL_ABLE, "feeding": False, "dressing": False, "transfer": False, "bathing": False}
    services.act(officers["assistant"], case.pk, "assess_self_care", items=items, today=D(2025, 3, 5))
    record_paper_check(officers["reviewer"], officers["county"], case.pk, D(2025, 3, 5), summary="无赡养人，无收入")
    services.act(
        officers["clerk"], case.pk, "complete_investigation", findings="无劳动能力，无赡养人", today=D(2025, 3, 6)
    )
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="1040", today=D(2025, 3, 7))
    return services.act(officers["reviewer"], case.pk, "end_notice", today=D(2025, 3, 14))


def test_tekun_procedure_with_self_care_and_deadlines(officers, household):
    case = _tekun_case(officers, household)
    survey = next(s for s in eventlog.deadlines(case) if s.code == "survey")
    assert survey.days == 15 and survey.deadline.due == D(2025, 3, 24)
    case = _to_county(case, officers)
    assert case.events.get(action="assess_self_care").data["tier"] == "full"
    county = next(s for s in eventlog.deadlines(case) if s.code == "county")
    assert county.days == 15 and county.deadline.due == D(2025, 4, 7)  # 15 working days, 清明 4 April off
    if case.spot_check_selected:
        with pytest.raises(DomainError):
            services.act(officers["county"], case.pk, "approve", amount="1040", today=D(2025, 3, 20))
        services.act(officers["county"], case.pk, "spot_check", findings="抽查入户属实", today=D(2025, 3, 20))
    case = services.act(officers["county"], case.pk, "approve", amount="1040", today=D(2025, 3, 20))
    assert case.state == wf.APPROVED and case.start_month == D(2025, 4, 1)


def test_first_tekun_case_of_the_year_is_always_spot_checked(officers, household):
    case = _to_county(_tekun_case(officers, household), officers)
    assert case.spot_check_selected  # 0 of 0 checked is below 30%
    with pytest.raises(DomainError) as err:
        services.act(officers["county"], case.pk, "approve", amount="1040", today=D(2025, 3, 20))
    assert err.value.code == "spot_check_required"


def test_spot_check_share_never_falls_below_the_minimum(officers, household_data):
    """Ten 特困 cases reach the county: at least 30% (TK) are selected for the county's spot check."""
    cases = []
    for n in range(10):
        household = registry.create_household(
            officers["clerk"],
            household_data(VILLAGE, [("02", f"申请人{n}", make_id_number(birth="19400101", seq=101 + 2 * n))]),
        )
        cases.append(_to_county(_tekun_case(officers, household), officers))
    selected = Case.objects.filter(pk__in=[c.pk for c in cases], spot_check_selected=True).count()
    assert selected >= 3


def test_spot_check_minimum_is_a_parameter(officers, household_data):
    Parameter.objects.create(key="tekun.spot_check_min", region_id=COUNTY, effective_from=D(2020, 1, 1), value="1")
    household = registry.create_household(officers["clerk"], household_data())
    for _ in range(1):
        case = _to_county(_tekun_case(officers, household), officers)
    assert case.spot_check_selected


def test_spot_check_refused_when_not_selected(officers, household_data):
    household = registry.create_household(officers["clerk"], household_data())
    case = services.open_application(
        officers["clerk"],
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
        today=D(2025, 3, 3),
    )
    assert "spot_check" not in {a.code for a in services.available_actions(officers["county"], case)}


def _emergency(officers, household, received=None, today=MONDAY):
    return services.open_application(
        officers["clerk"],
        household_id=household.pk,
        service_code="temp_emergency",
        applicant_id=household.head_id,
        channel="window",
        received=received or [],
        today=today,
    )


def test_emergency_aid_paid_first_and_documented_afterwards(officers, household):
    case = _emergency(officers, household)
    assert case.state == wf.PENDING  # nothing on paper yet: a house fire
    case = services.act(
        officers["clerk"], case.pk, "pay_first", amount="3000", situation="房屋失火", today=D(2025, 3, 3)
    )
    assert case.state == wf.PAID_FIRST and case.decided_amount == Decimal("3000.00")
    assert case.current_step == "先行救助后补办手续" and case.current_due == D(2025, 3, 10)
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "complete_documents", today=D(2025, 3, 5))
    assert err.value.code == "materials_missing"
    services.act(
        officers["clerk"], case.pk, "complete_materials", received=["application", "situation"], today=D(2025, 3, 5)
    )
    case = services.act(officers["clerk"], case.pk, "complete_documents", today=D(2025, 3, 6))
    assert case.state == wf.APPROVED and case.current_due is None


def test_emergency_cap_is_a_local_parameter(officers, household):
    Parameter.objects.create(
        key="temp_aid.township_approval_cap", region_id=COUNTY, effective_from=D(2020, 1, 1), value="5000"
    )
    case = _emergency(officers, household)
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "pay_first", amount="6000", situation="突发重病")
    assert err.value.code == "over_cap" and "5000" in err.value.message
    assert Case.objects.get(pk=case.pk).state == wf.PENDING


def test_expense_type_temporary_aid_follows_the_full_procedure(officers, household):
    case = services.open_application(
        officers["clerk"],
        household_id=household.pk,
        service_code="temp_expense",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "expense_evidence"],
        authorisation_signed=True,
        pledge_signed=True,
        today=D(2025, 3, 3),
    )
    assert case.state == wf.ACCEPTED
    assert "pay_first" not in {a.code for a in services.available_actions(officers["clerk"], case)}
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.days == 30 and total.deadline.due == D(2025, 4, 15)
