"""Following a warning up: the home visit (铁脚板摸排) and closing with the outcome reached — a re-check case, a
proactive application (主动发现), a referral or nothing — with scope, levels, versions and the audit trail."""

import datetime

import pytest
from django.db import models
from django.utils import timezone

from minzheng.cases import eventlog, procedure
from minzheng.cases import services as cases
from minzheng.cases import workflows as wf
from minzheng.cases.models import Case, Channel, Referral
from minzheng.conftest import OTHER_TOWNSHIP, OTHER_VILLAGE, SIBLING_VILLAGE
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.models import AuditEntry
from minzheng.monitoring import services
from minzheng.monitoring.models import Alert, Visit

from .conftest import D, ids

DEATH_ON = D(2026, 10, 20)


@pytest.fixture
def raise_alert(make_household, monitor, signal, sweep):
    """Raise one warning of a rule for a fresh household; returns (alert, household)."""

    def make(kind: str = "death"):
        h = make_household()
        if kind == "death":
            monitor(h, "dibao")
            signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
        elif kind == "student_aid":  # a household nobody monitors → enrol (a 低保 application)
            signal("student", h, 2, status="aid", stage="senior", event_on=D(2026, 9, 1))
        elif kind == "unemployed":
            monitor(h, "edge")
            signal("employment", h, 0, status="unemployed", registered_on=D(2026, 10, 8))
        elif kind == "complex":
            monitor(h, "dibao")
            signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
            signal("employment", h, 2, status="employed", registered_on=D(2026, 10, 8))
            signal("disaster", h, 0, disaster="fire", occurred_on=D(2026, 10, 2), loss="30000")
        sweep()
        found = Alert.objects.filter(household=h).order_by("id")
        assert found, kind
        return found.first(), h

    return make


def visit(user, alert, **overrides):
    data = {
        "visited_on": timezone.localdate(),
        "finding": "confirmed",
        "notes": "入户核实，情况属实",
        "needs": "生活困难",
    }
    return services.record_visit(user, alert.pk, **(data | overrides))


def state(alert) -> tuple:
    a = Alert.objects.get(pk=alert.pk)
    return a.status, a.version, a.outcome, a.case_id, a.referral_id, Visit.objects.filter(alert=a).count()


# --- visits ------------------------------------------------------------------------------------------------------


def test_the_assistant_records_a_visit(raise_alert, assistant):
    alert, _h = raise_alert()
    v = visit(assistant, alert)
    assert (v.visitor, v.finding, v.notes, v.needs, v.visited_on) == (
        assistant,
        "confirmed",
        "入户核实，情况属实",
        "生活困难",
        timezone.localdate(),
    )
    a = Alert.objects.get(pk=alert.pk)
    assert a.status == Alert.Status.VISITED and a.version == alert.version + 1
    entry = AuditEntry.objects.get(object_type="warning", object_id=str(a.pk), action="update")
    assert entry.user == assistant and entry.detail == {"action": "visit", "finding": "confirmed"}
    # A second visit is appended (never edited).
    visit(assistant, a, finding="partly", notes="再次走访", visited_on=timezone.localdate())
    assert a.visits.count() == 2


@pytest.mark.parametrize(
    ("overrides", "code", "text"),
    [
        ({"visited_on": "tomorrow"}, "future_date", "走访日期不能晚于今天"),
        ({"visited_on": "2026/1/1"}, "invalid_date", "走访日期格式错误"),
        ({"visited_on": "yesterday"}, "invalid_date", "走访日期不能早于预警日期"),
        ({"finding": "maybe"}, "invalid_finding", "请选择核实结论"),
        ({"finding": ""}, "invalid_finding", "请选择核实结论"),
        ({"notes": "   "}, "required", "请填写走访情况"),
        ({"notes": None}, "required", "请填写走访情况"),
    ],
)
def test_a_bad_visit_is_refused_and_changes_nothing(raise_alert, assistant, overrides, code, text):
    alert, _h = raise_alert()
    today = timezone.localdate()
    days = {"tomorrow": today + datetime.timedelta(days=1), "yesterday": alert.raised_on - datetime.timedelta(days=1)}
    overrides = {k: days.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    before = state(alert)
    with pytest.raises(DomainError) as caught:
        visit(assistant, alert, **overrides)
    assert caught.value.code == code and text in caught.value.message
    assert state(alert) == before


def test_a_visit_on_a_stale_version_or_a_closed_warning_is_refused(raise_alert, assistant):
    alert, _h = raise_alert()
    visit(assistant, alert)
    before = state(alert)
    with pytest.raises(Conflict) as caught:
        visit(assistant, alert, expected_version=alert.version)  # the page was loaded before the first visit
    assert "已被他人处理" in caught.value.message and state(alert) == before
    services.close_alert(assistant, alert.pk, outcome="stop", note="核实后无需处理", action="none")
    before = state(alert)
    with pytest.raises(DomainError) as caught:
        visit(assistant, alert)
    assert caught.value.message == "该预警已办结" and state(alert) == before


def test_visits_are_refused_outside_scope_and_without_the_capability(raise_alert, make_user):
    alert, _h = raise_alert()
    for stranger in (make_user("assistant", region=OTHER_VILLAGE), make_user("assistant", region=SIBLING_VILLAGE)):
        with pytest.raises(NotFound):
            visit(stranger, alert)
    with pytest.raises(PermissionDeniedError):
        visit(make_user("leader"), alert)
    assert state(alert)[5] == 0


# --- closing -----------------------------------------------------------------------------------------------------


def test_closing_with_a_recheck_case_opens_an_accepted_proactive_review(raise_alert, assistant):
    alert, h = raise_alert("death")
    visit(assistant, alert)
    closed = services.close_alert(
        assistant, alert.pk, outcome="stop", note="死亡属实，启动动态复核", action="case", service_code="dibao_review"
    )
    assert (closed.status, closed.outcome, closed.closed_by, closed.closed_on) == (
        "closed",
        "stop",
        assistant,
        timezone.localdate(),
    )
    case = closed.case
    assert case is not None and closed.referral is None
    assert (case.service.code, case.state, case.channel) == ("dibao_review", wf.ACCEPTED, Channel.PROACTIVE)
    assert case.household_id == h.pk and case.region_id == h.region_id
    submit = case.events.get(action="submit")
    assert submit.note.startswith(f"由监测预警 {alert.number} 主动发现") and submit.data["channel"] == "proactive"
    # The case carries the warning's 复核期限 (N months after the death) as one of its clocks, first in its queue.
    assert alert.action_due_on is not None
    review = next(s for s in eventlog.deadlines(case) if s.code == "review")
    assert (review.label, review.deadline.due, review.open) == ("复核期限", alert.action_due_on, True)
    assert review.overdue(alert.action_due_on) is False and review.overdue(
        alert.action_due_on + datetime.timedelta(days=1)
    )
    entry = (
        AuditEntry.objects.filter(object_type="warning", object_id=str(alert.pk), action="update")
        .order_by("seq")
        .last()
    )
    assert entry.detail["action"] == "close" and entry.detail["case"] == case.number
    assert not services.can_close(assistant, closed)


def test_the_recheck_case_after_a_death_is_not_applied_for_by_the_deceased(raise_alert, assistant):
    alert, h = raise_alert("death")
    assert alert.person.id_number == ids(h)[1]
    visit(assistant, alert)
    closed = services.close_alert(
        assistant, alert.pk, outcome="stop", note="死亡属实", action="case", service_code="dibao_review"
    )
    assert closed.case.applicant_id == h.head_id


def test_after_the_heads_death_another_member_applies(assistant, make_household, monitor, signal, sweep):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 0, event="death", event_on=DEATH_ON)
    sweep()
    alert = Alert.objects.get(household=h)
    assert alert.person_id == h.head_id
    visit(assistant, alert)
    closed = services.close_alert(
        assistant, alert.pk, outcome="stop", note="户主死亡", action="case", service_code="dibao_review"
    )
    assert closed.case.applicant_id != h.head_id
    assert closed.case.applicant_id in [m.person_id for m in h.current_memberships()]


def test_an_enrol_case_is_applied_for_by_the_person_concerned(raise_alert, assistant):
    alert, h = raise_alert("student_aid")
    visit(assistant, alert)
    closed = services.close_alert(assistant, alert.pk, outcome="enrol", note="x", action="case", service_code="dibao")
    assert closed.case.applicant.id_number == ids(h)[2] == alert.person.id_number


def test_closing_an_enrol_warning_with_a_case_opens_a_pending_proactive_application(raise_alert, assistant):
    alert, _h = raise_alert("student_aid")
    assert (alert.rule, alert.suggested_outcome, alert.detail["service"]) == ("student_aid", "enrol", "dibao")
    visit(assistant, alert, notes="家庭确有困难，未申请低保")
    closed = services.close_alert(
        assistant, alert.pk, outcome="enrol", note="推送低保申请", action="case", service_code="dibao"
    )
    case = closed.case
    assert (case.service.code, case.state, case.channel) == ("dibao", wf.PENDING, Channel.PROACTIVE)
    assert procedure.missing_materials(case)  # the family still has to bring the application, the authorisation …
    assert Case.objects.count() == 1


def test_closing_with_a_referral(raise_alert, assistant):
    alert, h = raise_alert("unemployed")
    assert alert.detail["department"] == "employment"
    visit(assistant, alert)
    closed = services.close_alert(
        assistant, alert.pk, outcome="apply", note="转人社部门落实就业援助", action="referral", department="employment"
    )
    referral = closed.referral
    assert isinstance(referral, Referral) and closed.case is None
    assert (referral.household_id, referral.department, referral.region_id) == (h.pk, "employment", h.region_id)
    assert alert.number in referral.need and "转人社部门落实就业援助" in referral.need


def test_closing_with_no_action_needs_no_visit(raise_alert, assistant):
    alert, _h = raise_alert("unemployed")
    closed = services.close_alert(assistant, alert.pk, outcome="apply", note="已在就业援助名单中", action="none")
    assert (closed.status, closed.case, closed.referral, closed.closing_note) == (
        "closed",
        None,
        None,
        "已在就业援助名单中",
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"action": "case", "service_code": "dibao_review"}, DomainError, "请先登记入户核实情况"),
        ({"action": "referral", "department": "employment"}, DomainError, "请先登记入户核实情况"),
        ({"outcome": "later"}, DomainError, "请选择处置结果"),
        ({"note": "  "}, DomainError, "请填写处置说明"),
        ({"action": "phone"}, DomainError, "请选择处置方式"),
        ({"expected_version": 99}, Conflict, "已被他人处理"),
    ],
)
def test_a_bad_close_is_refused_and_changes_nothing(raise_alert, assistant, kwargs, error, text):
    alert, _h = raise_alert()
    before = state(alert)
    data = {"outcome": "stop", "note": "处置", "action": "none"} | kwargs
    with pytest.raises(error) as caught:
        services.close_alert(assistant, alert.pk, **data)
    assert text in caught.value.message
    assert state(alert) == before and Case.objects.count() == 0 and Referral.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"action": "case", "service_code": ""}, "请选择要办理的服务事项"),
        ({"action": "case", "service_code": "no_such_item"}, "请选择服务事项"),
        ({"action": "referral", "department": "police"}, "请选择转介部门"),
    ],
)
def test_a_bad_action_after_the_visit_changes_nothing(raise_alert, assistant, kwargs, text):
    alert, _h = raise_alert()
    visit(assistant, alert)
    before = state(alert)
    with pytest.raises(DomainError) as caught:
        services.close_alert(assistant, alert.pk, outcome="stop", note="处置", **kwargs)
    assert text in caught.value.message
    assert state(alert) == before and Case.objects.count() == 0 and Referral.objects.count() == 0


def test_an_open_case_of_the_same_item_refuses_the_close_and_changes_nothing(raise_alert, assistant):
    alert, h = raise_alert()
    visit(assistant, alert)
    existing = cases.open_application(
        assistant, household_id=h.pk, service_code="dibao_review", applicant_id=h.head_id, channel="window"
    )
    before = state(alert)
    with pytest.raises(Conflict) as caught:
        services.close_alert(
            assistant, alert.pk, outcome="stop", note="复核", action="case", service_code="dibao_review"
        )
    assert existing.number in caught.value.message
    assert state(alert) == before and Case.objects.count() == 1


def test_a_review_has_a_review_clock_only_when_opened_with_a_due_date(raise_alert, assistant):
    """A scheduled 复核 has no outside deadline; one opened late after a death shows its limit overdue at once."""
    _alert, h = raise_alert()
    scheduled = cases.open_application(
        assistant, household_id=h.pk, service_code="dibao_review", applicant_id=h.head_id, channel="window"
    )
    assert "review" not in [s.code for s in eventlog.deadlines(scheduled)]
    Case.objects.filter(pk=scheduled.pk).update(state=wf.WITHDRAWN)  # out of the way of the next one
    today = timezone.localdate()
    late = cases.open_application(
        assistant,
        household_id=h.pk,
        service_code="dibao_review",
        applicant_id=h.head_id,
        channel="window",
        due_on=today - datetime.timedelta(days=3),
    )
    review = next(s for s in eventlog.deadlines(late) if s.code == "review")
    assert review.overdue(today) and review.days == 0 and review.deadline.due == today - datetime.timedelta(days=3)


def test_a_closed_warning_cannot_be_closed_again(raise_alert, assistant):
    alert, _h = raise_alert()
    services.close_alert(assistant, alert.pk, outcome="stop", note="无需处理", action="none")
    before = state(alert)
    with pytest.raises(DomainError) as caught:
        services.close_alert(assistant, alert.pk, outcome="apply", note="再次", action="none")
    assert caught.value.message == "该预警已办结" and state(alert) == before


def test_a_complex_warning_is_closed_by_the_county_only(raise_alert, assistant, county_officer, make_user):
    alert, _h = raise_alert("complex")
    assert (alert.suggested_outcome, alert.level) == ("complex", "county")
    township = make_user("township_reviewer")
    assert not services.can_close(assistant, alert) and not services.can_close(township, alert)
    assert services.can_close(county_officer, alert)
    visit(assistant, alert, notes="家庭多重困难")  # the village may visit
    for user in (assistant, township):
        with pytest.raises(PermissionDeniedError) as caught:
            services.close_alert(user, alert.pk, outcome="complex", note="上报", action="none")
        assert "一事一议" in caught.value.message
    assert Alert.objects.get(pk=alert.pk).status == "visited"
    closed = services.close_alert(
        county_officer,
        alert.pk,
        outcome="complex",
        note="一事一议：临时救助",
        action="case",
        service_code="temp_expense",
    )
    assert closed.status == "closed" and closed.case.channel == Channel.PROACTIVE and closed.closed_by == county_officer


def test_the_county_may_close_a_complex_warning_before_any_visit(raise_alert, county_officer):
    alert, _h = raise_alert("complex")
    closed = services.close_alert(
        county_officer, alert.pk, outcome="complex", note="县级直接研究", action="referral", department="other"
    )
    assert closed.referral is not None and closed.visits.count() == 0


def test_closing_is_refused_outside_scope_and_for_read_only_roles(raise_alert, make_user):
    alert, _h = raise_alert()
    with pytest.raises(NotFound):
        services.close_alert(make_user("clerk", region=OTHER_TOWNSHIP), alert.pk, outcome="stop", note="x")
    leader = make_user("leader")
    with pytest.raises(PermissionDeniedError):
        services.close_alert(leader, alert.pk, outcome="stop", note="x")
    assert not services.can_close(leader, alert)
    assert state(alert)[0] == "open"


# --- versions: compare-and-set only when the client sent one (issue 18 §5) -----------------------------------------


@pytest.fixture
def someone_else_visits_meanwhile(monkeypatch):
    """Another officer's visit lands between this request reading the warning and writing its own (what 20 clients
    at once did: 24 % of visits without a version were answered 409)."""
    real = services._date

    def concurrent(*args, **kwargs):
        day = real(*args, **kwargs)
        Alert.objects.filter(pk=concurrent.alert_pk).update(version=models.F("version") + 1)
        return day

    monkeypatch.setattr(services, "_date", concurrent)
    return concurrent


def test_a_visit_without_a_version_is_recorded_whatever_happened_meanwhile(
    raise_alert, assistant, someone_else_visits_meanwhile
):
    alert, _h = raise_alert()
    someone_else_visits_meanwhile.alert_pk = alert.pk
    visit(assistant, alert)
    a = Alert.objects.get(pk=alert.pk)
    assert a.status == Alert.Status.VISITED and a.visits.count() == 1
    assert a.version == alert.version + 2  # the other writer's bump and this visit's


def test_a_visit_with_the_version_it_saw_is_still_compared(raise_alert, assistant, someone_else_visits_meanwhile):
    alert, _h = raise_alert()
    someone_else_visits_meanwhile.alert_pk = alert.pk
    with pytest.raises(Conflict):
        visit(assistant, alert, expected_version=alert.version)
    assert Alert.objects.get(pk=alert.pk).visits.count() == 0


def _api_visit(client, token, alert, **extra):
    import json

    body = {"visited_on": timezone.localdate().isoformat(), "finding": "confirmed", "notes": "入户核实", **extra}
    return client.post(
        f"/api/v1/monitoring/alerts/{alert.pk}/visits",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_api_visits_with_and_without_a_version(client, raise_alert, assistant):
    from minzheng.accounts.services import issue_token

    token = issue_token(assistant, "测试")[1]
    alert, _h = raise_alert()
    seen = alert.version
    assert _api_visit(client, token, alert).status_code == 201  # someone else's visit, without a version
    stale = _api_visit(client, token, alert, expected_version=seen)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert _api_visit(client, token, alert).status_code == 201  # no version: recorded
    current = Alert.objects.get(pk=alert.pk).version
    assert _api_visit(client, token, alert, expected_version=current).status_code == 201
    assert Alert.objects.get(pk=alert.pk).visits.count() == 3


def test_page_visits_with_and_without_a_version(client, raise_alert, assistant):
    from django.urls import reverse

    client.force_login(assistant)
    alert, _h = raise_alert()
    url = reverse("monitoring:alert_visit", args=[alert.pk])
    form = {"visit-visited_on": timezone.localdate().isoformat(), "visit-finding": "confirmed", "visit-notes": "入户"}
    assert client.post(url, form).status_code == 302
    stale = client.post(url, {**form, "visit-expected_version": alert.version})
    assert stale.status_code == 400 and "已被他人处理" in stale.content.decode()
    assert client.post(url, form).status_code == 302
    assert Alert.objects.get(pk=alert.pk).visits.count() == 2
