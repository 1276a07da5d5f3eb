import datetime
import threading

import pytest
from django.db import connection

from minzheng.cases import eventlog, procedure, services
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, InterestDeclaration
from minzheng.conftest import COUNTY, OTHER_TOWNSHIP, make_id_number
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.models import AuditEntry, CalendarDay, CalendarYear
from minzheng.policy.models import Parameter

from .conftest import record_paper_check

D = datetime.date


def run_to_county(case, officers):
    c = officers
    services.act(c["clerk"], case.pk, "start_investigation", investigators=["张工作", "李工作"], today=D(2025, 3, 5))
    services.act(c["reviewer"], case.pk, "request_check", today=D(2025, 3, 5))
    services.act(
        c["county"],
        case.pk,
        "record_check",
        manual=True,
        summary="未发现大额存款、车辆",
        per_capita_income="500",
        today=D(2025, 3, 7),
    )
    services.act(
        c["assistant"],
        case.pk,
        "complete_investigation",
        findings="入户核实属实",
        visit_date="2025-03-05",
        per_capita_income="500",
        today=D(2025, 3, 10),
    )
    services.act(c["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 11))
    return services.act(c["reviewer"], case.pk, "end_notice", today=D(2025, 3, 18))


def test_complete_application_is_accepted_with_parameter_snapshot(apply):
    case = apply()
    assert case.state == wf.ACCEPTED and case.accepted_on == D(2025, 3, 3)
    assert case.parameters["total_wd"]["value"] == 30 and case.parameters["total_wd"]["region_code"] == ""
    # DOMAIN.md worked example 3: investigation must start by 2025-03-06.
    assert case.current_step == "启动入户调查" and case.current_due == D(2025, 3, 6)
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.deadline.due == D(2025, 4, 15)


def test_full_dibao_procedure(apply, officers):
    case = apply()
    case = run_to_county(case, officers)
    assert case.state == wf.COUNTY_REVIEW and case.current_step == "县级审核确认"
    assert case.current_due == D(2025, 4, 1)  # 10 working days after 2025-03-18
    case = services.act(officers["county"], case.pk, "approve", amount="300.00", today=D(2025, 3, 25))
    assert case.state == wf.APPROVED and case.decided_amount == 300 and case.start_month == D(2025, 4, 1)
    assert case.current_due is None
    statuses = {s.code: s for s in eventlog.deadlines(case)}
    assert statuses["total"].met_on == D(2025, 3, 25) and not statuses["total"].overdue(D(2025, 5, 1))
    actions = list(case.events.values_list("action", flat=True))
    assert actions[:2] == ["submit", "accept"] and actions[-1] == "approve"
    assert AuditEntry.objects.filter(object_type="case", object_id=str(case.pk), action="update").count() == 7


def test_missing_material_one_time_notice(apply, officers):
    case = apply(received=["application", "authorisation", "pledge"])
    assert case.state == wf.PENDING
    assert procedure.missing_materials(case) == ["家庭收入及财产情况申报表"]
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "accept")
    assert "家庭收入及财产情况申报表" in err.value.message
    services.act(officers["clerk"], case.pk, "notify_missing", today=D(2025, 3, 3))
    event = case.events.get(action="notify_missing")
    assert event.data["missing"] == ["家庭收入及财产情况申报表"]
    # Materials another department holds (身份证件/户口簿 from 公安) are never demanded.
    assert not any("户口簿" in m for m in event.data["missing"])
    with pytest.raises(DomainError) as again:
        services.act(officers["clerk"], case.pk, "notify_missing")
    assert again.value.code == "already_notified"
    case = services.act(
        officers["clerk"],
        case.pk,
        "complete_materials",
        received=["income_statement"],
        accept=True,
        today=D(2025, 3, 6),
    )
    assert case.state == wf.ACCEPTED and case.accepted_on == D(2025, 3, 6)


def test_unsigned_authorisation_is_missing(apply):
    case = apply(signed=False, received=["application", "income_statement"])
    assert case.state == wf.PENDING
    missing = procedure.missing_materials(case)
    assert any("授权书" in m for m in missing) and any("承诺书" in m for m in missing)
    assert not case.authorisation_signed and not case.pledge_signed


def test_signature_flags_tick_the_signature_materials(apply):
    case = apply(signed=True, received=["application", "income_statement"])
    assert case.state == wf.ACCEPTED and case.authorisation_signed and case.pledge_signed


def test_reject_intake_needs_reasons(apply, officers):
    case = apply(received=[])
    with pytest.raises(DomainError):
        services.act(officers["clerk"], case.pk, "reject_intake", reasons="  ")
    case = services.act(officers["clerk"], case.pk, "reject_intake", reasons="户籍不在本乡镇")
    assert case.state == wf.NOT_ACCEPTED


def test_illegal_transitions_refused_and_nothing_changes(apply, officers):
    case = apply()
    with pytest.raises(DomainError) as err:
        services.act(officers["county"], case.pk, "approve", amount="300")
    assert err.value.code == "illegal_transition" and "已受理" in err.value.message
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "start_investigation", investigators=["张工作"])
    assert err.value.code == "investigators"
    case.refresh_from_db()
    assert case.state == wf.ACCEPTED and case.events.count() == 2 and case.version == 1


def test_roles_are_enforced(apply, officers):
    case = run_to_county(apply(), officers)
    with pytest.raises(PermissionDeniedError) as err:
        services.act(officers["reviewer"], case.pk, "approve", amount="300")
    assert "县级审批员" in err.value.message


def test_notice_period_and_objection(apply, officers):
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    record_paper_check(officers["reviewer"], officers["county"], case.pk, D(2025, 3, 5))
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实", today=D(2025, 3, 6))
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 7))
    with pytest.raises(DomainError) as early:
        services.act(officers["reviewer"], case.pk, "end_notice", today=D(2025, 3, 13))
    assert early.value.code == "notice_running" and "2025年03月14日" in early.value.message
    services.act(
        officers["assistant"],
        case.pk,
        "record_objection",
        content="该户有经营性收入",
        raised_by="村民",
        today=D(2025, 3, 10),
    )
    with pytest.raises(DomainError) as blocked:
        services.act(officers["reviewer"], case.pk, "end_notice", today=D(2025, 3, 14))
    assert blocked.value.code == "objection_open"
    case = services.act(officers["reviewer"], case.pk, "reinvestigate", result="需核实经营收入", today=D(2025, 3, 14))
    assert case.state == wf.INVESTIGATING
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="经营已停止", today=D(2025, 3, 17))
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 18))
    case = services.act(officers["reviewer"], case.pk, "end_notice", today=D(2025, 3, 25))
    assert case.state == wf.COUNTY_REVIEW


def test_objection_resolved_by_democratic_appraisal(apply, officers):
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    record_paper_check(officers["reviewer"], officers["county"], case.pk, D(2025, 3, 5))
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实", today=D(2025, 3, 6))
    services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 7))
    services.act(officers["assistant"], case.pk, "record_objection", content="有异议", today=D(2025, 3, 8))
    services.act(
        officers["reviewer"],
        case.pk,
        "resolve_objection",
        method="democratic_appraisal",
        result="评议通过",
        today=D(2025, 3, 12),
    )
    assert services.act(officers["reviewer"], case.pk, "end_notice", today=D(2025, 3, 14)).state == wf.COUNTY_REVIEW


def test_refusal_must_be_delivered_within_three_working_days(apply, officers):
    case = run_to_county(apply(), officers)
    case = services.act(officers["county"], case.pk, "refuse", reasons="家庭人均收入高于低保标准", today=D(2025, 3, 21))
    assert case.state == wf.REFUSED and case.current_step == "书面告知不予批准理由"
    assert case.current_due == D(2025, 3, 26)
    case = services.act(officers["county"], case.pk, "deliver_refusal", today=D(2025, 3, 24))
    assert case.current_due is None


def test_delegated_confirmation_uses_township_and_20_days(apply, officers):
    Parameter.objects.create(
        key="dibao.confirm_level", region_id=COUNTY, effective_from=D(2024, 1, 1), value="township"
    )
    case = apply()
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.days == 20 and total.deadline.due == D(2025, 3, 31)
    case = run_to_county(case, officers)
    case = services.act(officers["reviewer"], case.pk, "approve", amount="300", today=D(2025, 3, 20))
    assert case.state == wf.APPROVED


def test_parameter_change_does_not_touch_cases_already_accepted(apply, officers):
    case = apply()
    Parameter.objects.create(key="dibao.total_wd", region_id=COUNTY, effective_from=D(2025, 3, 4), value=25)
    case.refresh_from_db()
    assert next(s for s in eventlog.deadlines(case) if s.code == "total").days == 30


def test_extend_to_45_working_days_once(apply, officers):
    case = apply()
    services.act(officers["county"], case.pk, "extend", reason="跨区域家庭，需协查")
    total = next(s for s in eventlog.deadlines(Case.objects.get(pk=case.pk)) if s.code == "total")
    assert total.days == 45
    with pytest.raises(DomainError):
        services.act(officers["county"], case.pk, "extend", reason="再次")


def test_deadline_in_2027_is_provisional_never_a_crash(apply, officers, monkeypatch):
    """Issue 3: accepted 2026-12-15; its 30-working-day limit falls in 2027, a year chinesecalendar does not know."""
    monkeypatch.setattr(services.timezone, "localdate", lambda: D(2026, 12, 15))  # the clock on that day
    case = apply(today=D(2026, 12, 15))
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.deadline.provisional and total.deadline.due == D(2027, 1, 26)
    year = CalendarYear.objects.create(year=2027, official=True, notice="国办发明电〔2026〕X号")
    CalendarDay.objects.create(calendar_year=year, date=D(2027, 1, 1), is_workday=False, name="元旦")
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert not total.deadline.provisional and total.deadline.due == D(2027, 1, 27)


def test_conflict_of_interest_flags_and_requires_county_visit(apply, officers, household):
    InterestDeclaration.objects.create(
        id_number=household.head.id_number,
        name=household.head.name,
        kind="committee",
        related_to="村委会委员本人",
        region_id=household.region_id,
    )
    case = apply()
    assert case.conflict_of_interest and "村（居）委会成员" in case.conflict_note
    assert case.events.filter(action="register_conflict").exists()
    case = run_to_county(case, officers)
    with pytest.raises(DomainError) as err:
        services.act(officers["county"], case.pk, "approve", amount="300", today=D(2025, 3, 20))
    assert err.value.code == "county_visit_required"
    services.act(officers["county"], case.pk, "county_visit", findings="入户核查属实", today=D(2025, 3, 20))
    assert services.act(officers["county"], case.pk, "approve", amount="300", today=D(2025, 3, 20)).state == wf.APPROVED


def test_duplicate_open_application_refused(apply):
    apply()
    with pytest.raises(Conflict) as err:
        apply()
    assert err.value.code == "duplicate_case"


def test_proxy_application_needs_the_entrusted_person(apply):
    with pytest.raises(DomainError):
        apply(channel="proxy", entrusted_name="", entrusted_id_number="")
    case = apply(channel="proxy", entrusted_name="村协理员赵某", entrusted_id_number=make_id_number(seq=91))
    assert case.entrusted_name == "村协理员赵某"


def test_negative_or_zero_amount_refused(apply, officers):
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"])
    record_paper_check(officers["reviewer"], officers["county"], case.pk, None)
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="属实")
    for amount in ("-300", "0", "abc", "1e9"):
        with pytest.raises(DomainError):
            services.act(officers["reviewer"], case.pk, "first_review", opinion="approve", amount=amount)


def test_stale_version_refused(apply, officers):
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], expected_version=1)
    with pytest.raises(Conflict) as err:
        services.act(officers["reviewer"], case.pk, "request_check", expected_version=1)
    assert err.value.code == "stale_version"


@pytest.mark.django_db(transaction=True)
def test_two_officers_at_once_only_one_succeeds(regions, make_user, household_data):
    """Real concurrency: two threads, two connections, the same expected version."""
    from minzheng.registry import services as registry

    clerk, reviewer = make_user("clerk"), make_user("township_reviewer")
    household = registry.create_household(clerk, household_data())
    case = services.open_application(
        clerk,
        household_id=household.pk,
        service_code="dibao",
        applicant_id=household.head_id,
        channel="window",
        received=["application", "authorisation", "pledge", "income_statement"],
        authorisation_signed=True,
        pledge_signed=True,
    )
    results, barrier = [], threading.Barrier(2)

    def officer(user, investigators):
        try:
            barrier.wait()
            services.act(user, case.pk, "start_investigation", investigators=investigators, expected_version=1)
            results.append("ok")
        except (Conflict, DomainError) as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=officer, args=(u, names))
        for u, names in ((clerk, ["甲", "乙"]), (reviewer, ["丙", "丁"]))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) in (["ok", "stale_version"], ["illegal_transition", "ok"])
    assert Case.objects.get(pk=case.pk).events.filter(action="start_investigation").count() == 1


def test_scope_other_township_cannot_see_or_act(apply, make_user):
    case = apply()
    other = make_user("clerk", OTHER_TOWNSHIP)
    with pytest.raises(NotFound):
        services.act(other, case.pk, "start_investigation", investigators=["甲", "乙"])
    with pytest.raises(NotFound):
        services.view_case(other, case.pk)


def test_item_without_workflow_is_accepted_and_transferred(apply, officers):
    case = apply(service="disability_care", received=["application"])
    assert case.state == wf.TRANSFERRED and case.events.filter(action="transfer").exists()
    assert case.current_due is None


def test_action_date_may_be_earlier_but_not_future_nor_before_previous_step(apply, officers):
    case = apply()
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 1))
    assert "不能早于上一环节" in err.value.message
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2099, 1, 1))
    assert "不能晚于今天" in err.value.message
    case = services.act(
        officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today="2025-03-04"
    )
    assert case.events.get(action="start_investigation").on == D(2025, 3, 4)


def test_badly_typed_action_data_is_a_chinese_error(apply, officers):
    case = apply()
    with pytest.raises(DomainError) as err:
        services.act(officers["clerk"], case.pk, "start_investigation", investigators="张三")
    assert err.value.code == "investigators"
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    with pytest.raises(DomainError):
        services.act(officers["clerk"], case.pk, "complete_investigation", findings=["x"], today=D(2025, 3, 5))
    with pytest.raises(DomainError):
        services.act(officers["clerk"], case.pk, "complete_investigation", findings=None, today=D(2025, 3, 5))


def test_database_refuses_a_second_open_case_for_the_same_item(apply):
    from django.db import IntegrityError, transaction

    case = apply()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            number="X1",
            service=case.service,
            household=case.household,
            applicant=case.applicant,
            region=case.region,
            channel="window",
            submitted_on=case.submitted_on,
            state=wf.PENDING,
            created_by=case.created_by,
        )


def test_proposed_refusal_skips_the_public_notice(apply, officers):
    case = apply()
    services.act(officers["clerk"], case.pk, "start_investigation", investigators=["甲", "乙"], today=D(2025, 3, 4))
    services.act(officers["clerk"], case.pk, "complete_investigation", findings="有稳定工资收入", today=D(2025, 3, 5))
    case = services.act(
        officers["reviewer"], case.pk, "first_review", opinion="refuse", reasons="人均收入高于标准", today=D(2025, 3, 6)
    )
    assert case.state == wf.COUNTY_REVIEW
    case = services.act(
        officers["county"], case.pk, "refuse", reasons="家庭人均收入高于当地低保标准", today=D(2025, 3, 10)
    )
    assert case.state == wf.REFUSED


def test_declarations_maintained_in_admin_with_validated_numbers(client, make_user):
    from minzheng.conftest import CITY, VILLAGE

    # The admin is scoped to the administrator's region (issue 18 §4): the city's administrator.
    admin_client = client
    admin_client.force_login(make_user("admin", region=CITY, is_staff=True, is_superuser=True))

    data = {
        "name": "赵某",
        "id_number": "110105194912310021",
        "kind": "committee",
        "related_to": "村委会主任之子",
        "region": VILLAGE,
        "active": "on",
    }
    assert "校验位" in admin_client.post("/admin/cases/interestdeclaration/add/", data).content.decode()
    admin_client.post("/admin/cases/interestdeclaration/add/", {**data, "id_number": "11010519491231002x"})
    assert InterestDeclaration.objects.get().id_number == "11010519491231002X"
    assert "1101**********002X" in admin_client.get("/admin/cases/interestdeclaration/").content.decode()


def test_notice_outside_the_total_limit_extends_it(apply, officers):
    """`dibao.notice_in_total` false: the notice's working days (2025-03-11 → 03-18: 5) are added to the 30."""
    Parameter.objects.create(key="dibao.notice_in_total", region_id=COUNTY, effective_from=D(2020, 1, 1), value=False)
    case = run_to_county(apply(), officers)
    total = next(s for s in eventlog.deadlines(case) if s.code == "total")
    assert total.days == 35 and total.deadline.due == D(2025, 4, 22)
    default = run_to_county(
        apply(service="temp_expense", received=["application", "authorisation", "pledge", "expense_evidence"]), officers
    )
    assert next(s for s in eventlog.deadlines(default) if s.code == "total").days == 30
