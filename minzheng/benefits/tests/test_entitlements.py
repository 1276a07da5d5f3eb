"""Entitlements follow decisions (issue 17 §1), from DOMAIN.md's worked examples."""

import datetime
from decimal import Decimal

import pytest

from minzheng.benefits import selectors
from minzheng.benefits.models import Entitlement, EntitlementVersion, Status
from minzheng.cases import services
from minzheng.conftest import COUNTY

D = datetime.date


def test_dibao_approval_creates_entitlement_example_1(apply, approve_case, standards):
    """Example 1: standard 600, per-capita income 500, household of 3 → 300.00 a month from the next month."""
    case = approve_case(apply())
    ent = Entitlement.objects.get(decision=case)
    assert ent.benefit == "dibao" and ent.status == Status.ACTIVE
    assert ent.amount == Decimal("300.00")
    assert ent.start_month == D(2025, 4, 1)
    assert [i["item"] for i in ent.breakdown] == ["gap"] and ent.breakdown[0]["fen"] == 30000
    assert ent.parameters["pay_start"]["value"] == "next_month"
    assert ent.versions.count() == 1
    assert selectors.current_recipients(COUNTY) == {case.household_id: ("dibao", Decimal("300.00"))}


def test_tekun_breakdown_example_4(apply, approve_case, household, set_params):
    """Example 4: standard 800 → basic 1,040.00; full loss of self-care, minimum wage 1,930 × 1/3 → care 643.33."""
    household.area_type = "urban"
    household.save()
    set_params(dibao__standard_urban="800", local__min_wage="1930")
    case = apply(service="tekun", received=["application", "authorisation", "pledge", "supporters", "self_care"])
    case = approve_case(case, amount="1683.33", tier="full")
    ent = Entitlement.objects.get(decision=case)
    assert ent.person_id == case.applicant_id and ent.benefit == "tekun"
    parts = {i["item"]: i["fen"] for i in ent.breakdown}
    assert parts == {"basic": 104000, "care": 64333}
    assert ent.amount == Decimal("1683.33")


def test_officer_adjustment_is_its_own_item(apply, approve_case, standards):
    case = approve_case(apply(), amount="320")
    ent = Entitlement.objects.get(decision=case)
    assert [(i["item"], i["fen"]) for i in ent.breakdown] == [("gap", 30000), ("adjustment", 2000)]
    assert sum(i["fen"] for i in ent.breakdown) == ent.amount_fen


def test_late_decision_starts_from_when_it_was_due(apply, approve_case, standards):
    """30 working days from 2025-03-03 end 2025-04-15 (example 3); decided in June → paid from May, arrears owed."""
    case = approve_case(apply(), decided=D(2025, 6, 20))
    ent = Entitlement.objects.get(decision=case)
    assert ent.start_month == D(2025, 5, 1)
    assert ent.parameters["decision_due"] == "2025-04-15"


def test_versions_are_append_only(apply, approve_case, standards):
    case = approve_case(apply())
    version = EntitlementVersion.objects.get(entitlement__decision=case)
    with pytest.raises(PermissionError):
        version.save()


def test_refusal_creates_nothing(apply, officers, standards):
    case = apply()
    c = officers
    services.act(c["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 5))
    services.act(
        c["assistant"],
        case.pk,
        "complete_investigation",
        findings="收入超标",
        visit_date="2025-03-05",
        today=D(2025, 3, 10),
    )
    services.act(c["reviewer"], case.pk, "first_review", opinion="refuse", reasons="收入超过标准", today=D(2025, 3, 11))
    services.act(c["county"], case.pk, "refuse", reasons="收入超过标准", today=D(2025, 3, 20))
    assert not Entitlement.objects.exists()
