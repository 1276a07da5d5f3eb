"""The rules against DOMAIN.md's worked examples and edge cases, through the window path (check_household)."""

from decimal import Decimal

import pytest

from minzheng.cases.models import Declaration
from minzheng.checks import services
from minzheng.core.errors import DomainError
from minzheng.exchange.files import snapshot_path

from .conftest import AS_OF, D, member_ids, wages

pytestmark = pytest.mark.django_db

EXAMPLE_1 = {
    "dibao__standard_rural": "600",
    "dibao__standard_urban": "800",
    "local__min_wage": "2000",
    "dibao__employment_cost_base": "min_wage",
    "dibao__employment_cost_rate": "0.1",
}


def test_worked_example_1_rural_household_of_three(family, set_params, make_snapshot, authorised, officer):
    set_params(**EXAMPLE_1)
    earner, spouse, student = member_ids(family)
    make_snapshot("wage", wages(earner, "1500"))
    make_snapshot("pension", [{"id_number": spouse, "item": "resident_basic", "monthly_amount": "143"}])
    make_snapshot("transfer", [{"id_number": student, "item": "scholarship", "monthly_amount": "250"}])
    Declaration.objects.create(
        household=family,
        person_id=family.head_id,
        kind="income",
        item="support_received",
        monthly_amount=Decimal("200"),
        valid_from=D(2026, 1, 1),
    )
    authorised(family)
    result = services.check_household(family.pk, user=officer, as_of=AS_OF)
    assert result.counted_income == Decimal("1500.00")
    assert result.per_capita_income == Decimal("500.00")
    assert result.dibao and result.dibao_amount == Decimal("300.00")
    assert not result.edge
    codes = {r["code"]: r for r in result.reasons}
    assert codes["income"]["ok"] is True and "500.00" in codes["income"]["text"]
    assert codes["dibao"]["ok"] is True and "300.00" in codes["dibao"]["text"]
    counted = {(e["item"], e["counted"]) for e in result.evidence}
    assert ("wage", True) in counted and ("resident_basic", False) in counted and ("scholarship", False) in counted
    assert ("support_received", True) in counted


def _check(family, officer, as_of=AS_OF):
    return services.check_household(family.pk, user=officer, as_of=as_of)


def test_worked_example_2_edge_household(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600")
    earner, spouse, _student = member_ids(family)
    make_snapshot("wage", wages(earner, "1600") + wages(spouse, "800"))  # 2,400 / 3 = 800 per capita
    authorised(family)
    result = _check(family, officer)
    assert result.per_capita_income == Decimal("800.00")
    assert not result.dibao and result.edge
    assert result.dibao_amount == 0
    edge = next(r for r in result.reasons if r["code"] == "edge")
    assert "900.00" in edge["text"]


def test_income_exactly_at_standard_is_not_dibao_but_edge(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600")
    earner, *_ = member_ids(family)
    make_snapshot("wage", wages(earner, "1800"))
    authorised(family)
    result = _check(family, officer)
    assert result.per_capita_income == Decimal("600.00")
    assert not result.dibao and result.edge


def test_zero_income_gets_the_full_standard_and_flags_members_without_data(family, set_params, authorised, officer):
    set_params(dibao__standard_rural="600")
    authorised(family)
    result = _check(family, officer)
    assert result.dibao and result.dibao_amount == Decimal("1800.00")
    missing = next(r for r in result.reasons if r["code"] == "missing_data")
    assert missing["ok"] is None and "3" in missing["text"]


def test_member_who_died_is_not_counted(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600")
    earner, spouse, _student = member_ids(family)
    make_snapshot("wage", wages(spouse, "900"))
    make_snapshot("civil_status", [{"id_number": earner, "event": "death", "event_on": D(2026, 10, 5)}])
    authorised(family)
    result = _check(family, officer)
    assert result.members == 2  # household of two now: 900 / 2 = 450 < 600
    assert result.per_capita_income == Decimal("450.00")
    assert result.dibao_amount == Decimal("300.00")
    assert [p["exclusion"] for p in result.facts["persons"]].count("death") == 1
    assert any(r["code"] == "members" and "共同生活家庭成员 2 人" in r["text"] for r in result.reasons)


def test_single_person_household_and_rounding_rule(officer, household_data, set_params, make_snapshot, authorised):
    from minzheng.conftest import VILLAGE, make_id_number
    from minzheng.registry import services as registry

    alone = registry.create_household(
        officer, household_data(VILLAGE, [("02", "赵一", make_id_number(seq=41))], area_type="rural")
    )
    set_params(dibao__standard_rural="600", dibao__rounding_quantum="1", dibao__rounding_mode="up")
    make_snapshot(
        "pension", [{"id_number": member_ids(alone)[0], "item": "resident_personal", "monthly_amount": "100.40"}]
    )
    authorised(alone)
    result = _check(alone, officer)
    assert result.members == 1
    assert result.dibao_amount == Decimal("500.00")  # 499.60 rounded up to the yuan


def test_assets_over_the_limits_fail_with_reasons(family, set_params, make_snapshot, authorised, officer):
    set_params(
        dibao__standard_rural="600",
        dibao__financial_assets_months=24,
        dibao__vehicle_rule="value_cap",
        dibao__vehicle_value_cap="30000",
        dibao__max_residential_properties=1,
        dibao__business_registration_allowed=False,
    )
    earner, spouse, _ = member_ids(family)
    make_snapshot(
        "finance", [{"id_number": earner, "institution": "农行", "product": "deposit", "balance": "43200.01"}]
    )
    make_snapshot(
        "vehicle",
        [
            {"id_number": earner, "plate_no": "冀G12345", "vehicle_type": "car", "value": "45000"},
            {"id_number": spouse, "plate_no": "冀G54321", "vehicle_type": "motorcycle", "value": "90000"},
        ],
    )
    authorised(family)
    result = _check(family, officer)
    codes = {r["code"]: r for r in result.reasons}
    assert codes["financial"]["ok"] is False and "43,200.00" in codes["financial"]["text"]  # 24 × 600 × 3
    assert codes["vehicle"]["ok"] is False and "45,000.00" in codes["vehicle"]["text"]  # the motorcycle is exempt
    assert codes["property"]["ok"] is True and codes["business"]["ok"] is True
    assert not result.dibao and not result.edge


def test_financial_assets_exactly_at_the_limit_pass(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600", dibao__financial_assets_months=24)
    earner, *_ = member_ids(family)
    make_snapshot("finance", [{"id_number": earner, "institution": "农行", "product": "deposit", "balance": "43200"}])
    authorised(family)
    assert _check(family, officer).dibao


def test_worked_example_4_tekun_amounts(officer, household_data, set_params, authorised):
    from minzheng.conftest import VILLAGE, make_id_number
    from minzheng.registry import services as registry
    from minzheng.registry.models import Person

    elder = registry.create_household(
        officer,
        household_data(VILLAGE, [("02", "孙老汉", make_id_number(birth="19500101", seq=51))], area_type="rural"),
    )
    Person.objects.filter(pk=elder.head_id).update(self_care="full")
    set_params(dibao__standard_rural="800", local__min_wage="1930")
    authorised(elder)
    pending = _check(elder, officer)
    assert pending.tekun_pending and not pending.tekun  # supporters not yet investigated
    Declaration.objects.create(household=elder, person_id=elder.head_id, kind="no_supporter", valid_from=D(2026, 1, 1))
    result = _check(elder, officer)
    assert result.tekun
    person = result.facts["persons"][0]
    assert person["tekun_basic"] == 104000 and person["tekun_care"] == 64333  # 1,040.00 and 643.33
    assert result.tekun_amount == Decimal("1683.33")


def test_uplift_for_a_severely_disabled_member(family, set_params, authorised, officer):
    from minzheng.registry.models import Person

    set_params(dibao__standard_rural="600", dibao__uplift_severe_disability="0.2")
    Person.objects.filter(pk=family.head_id).update(disability_category="physical", disability_grade=1)
    authorised(family)
    result = _check(family, officer)
    assert result.dibao_amount == Decimal("1920.00")  # 1,800 + 20% of 600


def test_excluded_items_can_be_extended_by_the_city(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600", dibao__extra_excluded_items="gift")
    earner, *_ = member_ids(family)
    make_snapshot("transfer", [{"id_number": earner, "item": "gift", "monthly_amount": "300"}])
    authorised(family)
    assert _check(family, officer).counted_income == 0


def test_rigid_expense_household(family, set_params, make_snapshot, authorised, officer):
    set_params(dibao__standard_rural="600", local__disposable_income="30000", rigid_expense__share_of_income="0.5")
    earner, _, student = member_ids(family)
    make_snapshot("wage", wages(earner, "3000"))  # 1,000 per capita: above 1.5 × 600, below 2,500 a month
    make_snapshot(
        "medical",
        [
            {
                "id_number": earner,
                "settled_on": D(2026, 6, 1),
                "total_cost": "80000",
                "fund_paid": "50000",
                "out_of_pocket": "30000",
            }
        ],
    )
    make_snapshot("education", [{"id_number": student, "stage": "senior", "paid_on": D(2026, 9, 1), "fee": "2000"}])
    authorised(family)
    result = _check(family, officer)
    assert not result.dibao and not result.edge
    assert result.rigid  # 32,000 > 50% of 36,000


def test_unconfigured_standard_is_said_not_guessed(family, authorised, officer):
    authorised(family)
    result = _check(family, officer)
    assert not result.dibao
    assert result.reasons[0]["code"] == "standard" and "未配置" in result.reasons[0]["text"]


def test_no_authorisation_no_check(family, officer, set_params):
    from minzheng.checks.models import CheckResult
    from minzheng.core.models import AuditEntry

    set_params(dibao__standard_rural="600")
    before = AuditEntry.objects.filter(action="check").count()
    with pytest.raises(DomainError, match="没有有效的核对授权"):
        _check(family, officer)
    assert not CheckResult.objects.exists()
    assert AuditEntry.objects.filter(action="check").count() == before


def test_authorisation_must_cover_every_member(family, officer, authorised):
    head = family.head
    authorised(family, persons=[head])
    with pytest.raises(DomainError, match="尚未签署授权书"):
        _check(family, officer)


def test_expired_authorisation_refused(family, officer, authorised):
    authorised(family, on=D(2025, 1, 1))  # valid 12 months
    with pytest.raises(DomainError, match="没有有效的核对授权"):
        _check(family, officer)


def test_check_is_audited_against_the_authorisation(family, officer, authorised, set_params, make_snapshot):
    from minzheng.core.models import AuditEntry

    set_params(dibao__standard_rural="600")
    snap = make_snapshot("wage", wages(member_ids(family)[0], "100"))
    auth = authorised(family)
    result = _check(family, officer)
    entry = AuditEntry.objects.filter(action="check").latest("seq")
    assert entry.detail["authorisation"] == auth.pk and entry.detail["check_result"] == result.pk
    assert entry.detail["sources"]["wage"] == snap.pk
    assert list(result.run.snapshots.all()) == [snap]


def test_person_registered_after_the_import_is_matched_by_identity_number(
    family, officer, authorised, set_params, make_snapshot
):

    set_params(dibao__standard_rural="600")
    earner = member_ids(family)[0]
    snap = make_snapshot("wage", wages(earner, "900"))
    # Simulate an import made before the person was registered: the key is NULL in the file.
    import duckdb

    path = snapshot_path(snap)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (NULL::BIGINT AS person_key) FROM read_parquet('{path}')) TO '{path}.tmp' (FORMAT parquet)"
    )
    con.close()
    path.with_suffix(".parquet.tmp").replace(path)
    authorised(family)
    assert _check(family, officer).counted_income == Decimal("900.00")


# ------------------------------------------------------------------------------------------ 特困 minors (issue 15 §3)


@pytest.mark.parametrize(
    ("birth", "student", "limit", "unable"),
    [
        ("20110601", False, None, True),  # 15
        ("20100601", False, None, True),  # 16: covered since the 14th Five-Year Plan (was 16 before)
        ("20090601", False, None, True),  # 17
        ("20080601", False, None, False),  # 18, not in school: no longer covered as a minor
        ("20080601", True, None, True),  # 18, in full-time education: covered
        ("20070601", True, None, True),  # a student of 19: covered (no national age limit)
        ("20070601", True, 19, False),  # … unless the province limits schooling cover to under 19
        ("20070601", True, 20, True),
    ],
)
def test_tekun_minors_covered_to_18_and_longer_in_school(
    officer, household_data, set_params, authorised, birth, student, limit, unable
):
    """DOMAIN.md §2: < 16 extended to 18 by the 14th Five-Year Plan (seed 004), longer while in school, up to the
    parameter's limit. A child alone with no supporter able to support (the investigation's finding)."""
    from minzheng.conftest import VILLAGE, make_id_number
    from minzheng.registry import services as registry

    child = registry.create_household(
        officer, household_data(VILLAGE, [("02", "赵小雨", make_id_number(birth=birth, seq=61))], area_type="rural")
    )
    set_params(dibao__standard_rural="800", local__min_wage="1930")
    if limit is not None:
        set_params(tekun__student_age_limit=limit)
    Declaration.objects.create(household=child, person_id=child.head_id, kind="no_supporter", valid_from=D(2026, 1, 1))
    if student:
        Declaration.objects.create(household=child, person_id=child.head_id, kind="student", valid_from=D(2026, 9, 1))
    authorised(child)
    result = _check(child, officer)
    assert result.facts["persons"][0]["unable_to_work"] is unable
    assert result.tekun is unable
    assert result.tekun_amount == (Decimal("1040.00") if unable else 0)  # 1.3 × 800, self-care not assessed


def test_the_minor_age_is_a_dated_parameter_of_18():
    from minzheng.policy.catalogue import spec

    minor = spec("tekun.minor_age")
    assert minor.default == 18 and minor.effective_from == D(2021, 7, 1) and "16周岁延长至18周岁" in minor.source
    assert spec("tekun.student_age_limit").default == ""


def test_the_investigation_offers_the_declarable_items_under_the_engine_labels():
    from minzheng.cases.investigations import DECLARABLE_ITEMS
    from minzheng.checks.items import ITEMS

    assert {code: ITEMS[code].label for code in DECLARABLE_ITEMS} == DECLARABLE_ITEMS
