"""The monitoring pages: the warning task queue and its follow-up (visit, close into a case or referral), the
household's rescue chain, the register, the sweeps with the unmatched-signal report, and the dashboard — with scope,
capability and audit checked on each."""

import datetime
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from minzheng.conftest import (
    OTHER_COUNTY_VILLAGE,
    OTHER_TOWNSHIP,
    OTHER_VILLAGE,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    make_id_number,
)
from minzheng.core.models import AuditEntry
from minzheng.monitoring.models import Alert, MonitoredEntry, Sweep, Visit

from .conftest import D, ids

pytestmark = pytest.mark.django_db


def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


@pytest.fixture
def death(make_household, monitor, make_snapshot, sweep):
    """A 低保 household whose second member died: one death_member warning for the village."""
    h = make_household()
    monitor(h, "dibao")
    dead = ids(h)[1]
    make_snapshot(
        "civil_status", [{"id_number": dead, "event": "death", "event_on": D(2026, 10, 20)}], period=D(2026, 10, 31)
    )
    s = sweep()
    assert s.status == "complete", s.error
    alert = Alert.objects.get()
    return h, alert, dead


def _login(client, user):
    client.force_login(user)
    return client


def _audits(action: str, object_type: str) -> int:
    return AuditEntry.objects.filter(action=action, object_type=object_type).count()


# ------------------------------------------------------------------------------------------------ task queue


def test_queue_lists_scoped_alerts_masked_and_sorted(client, death, assistant, make_user):
    h, alert, dead = death
    page = _login(client, assistant).get(reverse("monitoring:alerts"))
    assert page.status_code == 200
    html = page.content.decode()
    assert alert.number in html and "监测家庭成员死亡" in html
    assert masked(dead) in html and dead not in html
    name = next(m.person.name for m in h.current_memberships() if m.person.id_number == dead)
    assert name not in html and (name[0] + "*") in html
    assert _audits("view", "warning_list") == 1

    # another township / another county: nothing listed, the warning is a 404
    for other in (make_user("township_reviewer", region=OTHER_TOWNSHIP), make_user("clerk", region=OTHER_TOWNSHIP)):
        client.force_login(other)
        assert alert.number not in client.get(reverse("monitoring:alerts")).content.decode()
        assert client.get(reverse("monitoring:alert", args=[alert.pk])).status_code == 404
    client.force_login(make_user("county_approver", region=OTHER_COUNTY_VILLAGE[:6] + "000000"))
    assert client.get(reverse("monitoring:alert", args=[alert.pk])).status_code == 404


def test_queue_filters_and_due_flags(client, death, clerk):
    _h, alert, _dead = death
    _login(client, clerk)  # the township
    url = reverse("monitoring:alerts")

    def numbers(**query):
        return client.get(url, query).context["rows"]

    assert [r["alert"].pk for r in numbers(rule="death_member")] == [alert.pk]
    assert numbers(rule="medical_high") == []
    assert [r["alert"].pk for r in numbers(outcome="stop")] == [alert.pk]
    assert numbers(outcome="enrol") == []
    assert numbers(status="closed") == []
    assert numbers(level="county") == []
    assert len(numbers(region=TOWNSHIP[:9])) == 1
    assert numbers(region=SIBLING_VILLAGE) == []
    full_width = TOWNSHIP[:9].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert len(numbers(region=full_width)) == 1  # as a Chinese input method types it
    for bad in ("١٣٠٧٢٢", "13072", "abc"):
        noted = client.get(url, {"region": bad})
        assert noted.status_code == 200 and "区划筛选条件格式错误" in noted.content.decode(), bad
    register = client.get(reverse("monitoring:register"), {"region": full_width + "٣"})
    assert register.status_code == 200 and "区划筛选条件格式错误" in register.content.decode()
    noted = client.get(url, {"region": OTHER_TOWNSHIP[:9]})
    assert "不在您的管辖范围内" in noted.content.decode() and len(noted.context["rows"]) == 1  # ignored, noted
    assert numbers(overdue="1") == []

    # past its deadline: overdue; on its last day: due soon
    today = timezone.localdate()
    Alert.objects.filter(pk=alert.pk).update(due_on=today - datetime.timedelta(days=7))
    rows = numbers(overdue="1")
    assert len(rows) == 1 and rows[0]["overdue"] and not rows[0]["due_soon"]
    Alert.objects.filter(pk=alert.pk).update(due_on=today)
    rows = numbers()
    assert rows[0]["due_soon"] and not rows[0]["overdue"]
    assert "临期" in client.get(url).content.decode()


def test_auditor_and_admin_are_refused(client, death, make_user):
    _h, alert, _dead = death
    client.force_login(make_user("auditor"))
    for name, args in (("alerts", []), ("alert", [alert.pk]), ("register", []), ("dashboard", []), ("sweeps", [])):
        assert client.get(reverse(f"monitoring:{name}", args=args)).status_code == 403, name
    assert client.get(reverse("monitoring:chain", args=[alert.household_id])).status_code == 403


# ---------------------------------------------------------------------------------------------- one warning


def test_detail_is_audited_and_shows_evidence(client, death, assistant):
    _h, alert, dead = death
    page = _login(client, assistant).get(reverse("monitoring:alert", args=[alert.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "户籍及死亡信息" in html or "死亡" in html
    assert masked(dead) in html and dead not in html
    assert alert.action_due_on.strftime("%Y-%m-%d") in html
    assert page.context["close_form"]["outcome"].value() == "stop"
    assert page.context["close_form"]["service"].value() == "dibao_review"
    assert page.context["visit_form"]["expected_version"].value() == alert.version
    assert AuditEntry.objects.filter(action="view", object_type="warning", object_id=str(alert.pk)).count() == 1
    assert page.context["evidence"][0]["fields"], "the snapshot row is read back"


def test_visit_then_close_into_a_review_case(client, death, assistant):
    from minzheng.cases.models import Case

    _h, alert, _dead = death
    _login(client, assistant)
    today = timezone.localdate().isoformat()
    # a bad visit: no notes → the form shows the error, nothing stored
    bad = client.post(
        reverse("monitoring:alert_visit", args=[alert.pk]),
        {
            "visit-visited_on": today,
            "visit-finding": "confirmed",
            "visit-notes": "",
            "visit-expected_version": alert.version,
        },
    )
    assert bad.status_code == 400 and "请填写走访情况" in bad.content.decode()
    assert not Visit.objects.exists()
    ok = client.post(
        reverse("monitoring:alert_visit", args=[alert.pk]),
        {
            "visit-visited_on": today,
            "visit-finding": "confirmed",
            "visit-notes": "家属确认成员已于10月去世",
            "visit-needs": "丧葬补助咨询",
            "visit-expected_version": alert.version,
        },
    )
    assert ok.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "visited" and Visit.objects.count() == 1

    # a stale version: the optimistic check refuses, shown as a form error
    stale = client.post(
        reverse("monitoring:alert_close", args=[alert.pk]),
        {
            "close-outcome": "stop",
            "close-note": "x",
            "close-action": "none",
            "close-expected_version": alert.version - 1,
        },
    )
    assert stale.status_code == 400 and "已被他人处理" in stale.content.decode()
    # a case without a service item
    missing = client.post(
        reverse("monitoring:alert_close", args=[alert.pk]),
        {
            "close-outcome": "stop",
            "close-note": "复核",
            "close-action": "case",
            "close-service": "",
            "close-expected_version": alert.version,
        },
    )
    assert missing.status_code == 400 and "请选择要办理的服务事项" in missing.content.decode()
    assert not Case.objects.exists()

    done = client.post(
        reverse("monitoring:alert_close", args=[alert.pk]),
        {
            "close-outcome": "stop",
            "close-note": "成员死亡，启动动态复核",
            "close-action": "case",
            "close-service": "dibao_review",
            "close-expected_version": alert.version,
        },
        follow=True,
    )
    assert done.status_code == 200
    case = Case.objects.get()
    assert case.service.code == "dibao_review" and case.state == "accepted" and case.channel == "proactive"
    html = done.content.decode()
    assert reverse("cases:case", args=[case.pk]) in html and case.number in html
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.case_id == case.pk
    assert done.context["close_form"] is None and done.context["visit_form"] is None


def test_close_with_referral_links_to_it(client, death, assistant):
    from minzheng.cases.models import Referral

    _h, alert, _dead = death
    _login(client, assistant)
    client.post(
        reverse("monitoring:alert_visit", args=[alert.pk]),
        {"visit-visited_on": timezone.localdate().isoformat(), "visit-finding": "partly", "visit-notes": "已核实"},
    )
    alert.refresh_from_db()
    page = client.post(
        reverse("monitoring:alert_close", args=[alert.pk]),
        {
            "close-outcome": "apply",
            "close-note": "需要医疗救助",
            "close-action": "referral",
            "close-department": "medical_insurance",
            "close-expected_version": alert.version,
        },
        follow=True,
    )
    referral = Referral.objects.get()
    assert f"#referral-{referral.pk}" in page.content.decode()


def test_leader_sees_but_cannot_handle(client, death, make_user):
    _h, alert, _dead = death
    leader = make_user("leader")
    _login(client, leader)
    page = client.get(reverse("monitoring:alert", args=[alert.pk]))
    assert page.status_code == 200 and page.context["visit_form"] is None and page.context["close_form"] is None
    assert 'data-testid="visit-form"' not in page.content.decode()
    visit = {"visit-visited_on": timezone.localdate().isoformat(), "visit-finding": "confirmed", "visit-notes": "x"}
    assert client.post(reverse("monitoring:alert_visit", args=[alert.pk]), visit).status_code == 403
    close = {"close-outcome": "stop", "close-note": "x", "close-action": "none"}
    assert client.post(reverse("monitoring:alert_close", args=[alert.pk]), close).status_code == 403
    assert not Visit.objects.exists()
    alert.refresh_from_db()
    assert alert.status == "open"


def test_complex_warning_cannot_be_closed_by_the_village(client, death, assistant):
    _h, alert, _dead = death
    Alert.objects.filter(pk=alert.pk).update(level="county", suggested_outcome="complex")
    page = _login(client, assistant).get(reverse("monitoring:alert", args=[alert.pk]))
    assert page.context["close_form"] is None and page.context["visit_form"] is not None
    close = {
        "close-outcome": "complex",
        "close-note": "x",
        "close-action": "none",
        "close-expected_version": alert.version,
    }
    assert client.post(reverse("monitoring:alert_close", args=[alert.pk]), close).status_code == 403


# ---------------------------------------------------------------------------------------- the household's chain


def test_chain_shows_signal_alert_visit_and_case(client, death, assistant, make_user):
    from minzheng.monitoring import services

    h, alert, _dead = death
    services.record_visit(assistant, alert.pk, visited_on=timezone.localdate(), finding="confirmed", notes="属实")
    services.close_alert(assistant, alert.pk, outcome="stop", note="复核", action="case", service_code="dibao_review")
    page = _login(client, assistant).get(reverse("monitoring:chain", args=[h.pk]))
    assert page.status_code == 200
    kinds = [e["kind"] for e in page.context["entries"]]
    for kind in ("register", "signal", "alert", "visit", "closure", "case"):
        assert kind in kinds, kind
    dates = [e["date"] for e in page.context["entries"]]
    assert dates == sorted(dates)
    signal = next(e for e in page.context["entries"] if e["kind"] == "signal")
    assert signal["date"] == D(2026, 10, 20) and "死亡" in signal["title"]
    case_entries = [e for e in page.context["entries"] if e["kind"] == "case"]
    assert any("提出申请" in e["title"] for e in case_entries) and any("受理" in e["title"] for e in case_entries)
    assert AuditEntry.objects.filter(action="view", object_type="household", object_id=str(h.pk)).exists()
    client.force_login(make_user("clerk", region=OTHER_TOWNSHIP))
    assert client.get(reverse("monitoring:chain", args=[h.pk])).status_code == 404


def test_chain_reads_unmatched_rows_by_number_and_ignores_other_households(
    client, make_household, monitor, make_snapshot, assistant
):
    from minzheng.monitoring.chain import build_chain

    h, other = make_household(), make_household()
    number = ids(h)[0]
    make_snapshot(
        "employment",
        [
            {"id_number": number, "status": "unemployed", "registered_on": D(2026, 9, 1)},
            {"id_number": ids(other)[0], "status": "employed", "registered_on": D(2026, 9, 2)},
        ],
        period=D(2026, 9, 30),
    )
    entries = [e for e in build_chain(h, assistant) if e["kind"] == "signal"]
    assert len(entries) == 1 and "失业登记" in entries[0]["title"]


def test_chain_shows_medical_and_disaster_amounts(client, make_household, monitor, signal, assistant):
    """The chain titled these two signals with a money helper the texts module no longer has: the page answered 500
    for every household with a medical bill or a disaster loss."""
    from minzheng.monitoring.chain import build_chain

    h = make_household()
    monitor(h, "dibao")
    signal(
        "medical", h, 0, settled_on=D(2026, 9, 15), total_cost="3000.00", fund_paid="2000.00", out_of_pocket="1000.00"
    )
    signal("disaster", h, 1, disaster="fire", occurred_on=D(2026, 10, 2), loss="30000")
    titles = [e["title"] for e in build_chain(h, assistant) if e["kind"] == "signal"]
    assert any("个人自付 1,000.00 元" in t for t in titles), titles
    assert any("直接经济损失 30,000.00 元" in t for t in titles), titles
    assert _login(client, assistant).get(reverse("monitoring:chain", args=[h.pk])).status_code == 200


# ------------------------------------------------------------------------------------------------ the register


def test_register_lists_filters_and_registers(client, make_household, monitor, assistant, make_user):
    h = make_household()
    monitor(h, "dibao")
    far = make_household(region=OTHER_VILLAGE)
    monitor(far, "tekun")
    _login(client, assistant)
    page = client.get(reverse("monitoring:register"))
    assert page.status_code == 200
    assert len(page.context["rows"]) == 3
    html = page.content.decode()
    assert masked(ids(h)[0]) in html and ids(h)[0] not in html
    assert _audits("view", "monitored_register") == 1
    all_counts = client.get(reverse("monitoring:register")).context["categories"]
    tekun = client.get(reverse("monitoring:register"), {"category": "tekun"}).context
    assert tekun["rows"] == [] and tekun["categories"] == all_counts  # the tabs keep their numbers

    # 人工登记 of another person of the village's household
    new = make_household(size=1)
    posted = client.post(
        reverse("monitoring:register"),
        {"entry-id_number": ids(new)[0], "entry-category": "other", "entry-start_on": timezone.localdate().isoformat()},
    )
    assert posted.status_code == 302
    assert MonitoredEntry.objects.filter(person__id_number=ids(new)[0], category="other").exists()
    again = client.post(
        reverse("monitoring:register"),
        {"entry-id_number": ids(new)[0], "entry-category": "other", "entry-start_on": timezone.localdate().isoformat()},
    )
    assert again.status_code == 400 and "已在此监测类别中" in again.content.decode()
    # a person outside the scope looks like an unknown one
    outside = client.post(
        reverse("monitoring:register"),
        {"entry-id_number": ids(far)[0], "entry-category": "other", "entry-start_on": timezone.localdate().isoformat()},
    )
    assert outside.status_code == 400 and "不在您辖区" in outside.content.decode()
    # a malformed number says what is wrong with it (the registry's wording), and nothing is registered
    count = MonitoredEntry.objects.count()
    wrong_digit = ids(new)[0][:-1] + ("0" if ids(new)[0][-1] != "0" else "1")
    for bad in ("123", wrong_digit):
        refused = client.post(
            reverse("monitoring:register"),
            {"entry-id_number": bad, "entry-category": "other", "entry-start_on": timezone.localdate().isoformat()},
        )
        page = refused.content.decode()
        assert refused.status_code == 400 and "公民身份号码" in page and "不在您辖区" not in page, bad
    assert MonitoredEntry.objects.count() == count

    # history: a closed entry shows only with history=all
    MonitoredEntry.objects.filter(person__id_number=ids(new)[0]).update(
        end_on=timezone.localdate(), end_reason="已脱困"
    )
    assert len(client.get(reverse("monitoring:register")).context["rows"]) == 3
    assert len(client.get(reverse("monitoring:register"), {"history": "all"}).context["rows"]) == 4

    leader = make_user("leader")
    client.force_login(leader)
    assert client.get(reverse("monitoring:register")).context["form"] is None
    assert len(client.get(reverse("monitoring:register")).context["rows"]) == 6  # the city: both villages
    assert client.post(reverse("monitoring:register"), {"entry-id_number": ids(new)[0]}).status_code == 403


# --------------------------------------------------------------------------------------------------- the sweeps


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def test_sweep_started_from_the_page(
    client, sync_tasks, make_household, monitor, make_snapshot, county_officer, assistant
):
    h = make_household()
    monitor(h, "dibao")
    make_snapshot(
        "civil_status",
        [{"id_number": ids(h)[1], "event": "death", "event_on": D(2026, 10, 20)}],
        period=D(2026, 10, 31),
    )
    _login(client, county_officer)
    form = client.get(reverse("monitoring:sweeps")).context["form"]
    assert form["region"].value() == "130722" and form["as_of"].value() == timezone.localdate()
    future = client.post(
        reverse("monitoring:sweeps"),
        {"region": "130722", "as_of": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 400 and "不能晚于今天" in future.content.decode()
    outside = client.post(reverse("monitoring:sweeps"), {"region": "130702", "as_of": "2026-11-01"})
    assert outside.status_code == 400 and "本辖区" in outside.content.decode()
    response = client.post(reverse("monitoring:sweeps"), {"region": "130722", "as_of": "2026-11-01"})
    sweep = Sweep.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("monitoring:sweep", args=[sweep.pk])
    assert sweep.status == "complete" and Alert.objects.count() == 1
    page = client.get(reverse("monitoring:sweep", args=[sweep.pk]))
    stats = dict(page.context["stats"])
    assert stats["读取信号"] == 1 and stats["新增预警"] == 1
    assert page.context["by_rule"] == [("监测家庭成员死亡", 1)]
    assert "户籍及死亡信息" in page.content.decode() or page.context["feeds"][0][1] == 1
    progress = client.get(reverse("monitoring:sweep_progress", args=[sweep.pk]), headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"

    # the assistant sees the list but cannot start one
    client.force_login(assistant)
    listing = client.get(reverse("monitoring:sweeps"))
    assert listing.status_code == 200 and listing.context["form"] is None
    assert client.post(reverse("monitoring:sweeps"), {"region": VILLAGE, "as_of": "2026-11-01"}).status_code == 403


def test_queued_sweep_progress_polls(client, county_officer):
    from minzheng.monitoring import services

    sweep = services.start_sweep(county_officer, "130722", D(2026, 11, 1), enqueue=False)
    page = _login(client, county_officer).get(reverse("monitoring:sweep", args=[sweep.pk]))
    assert 'hx-trigger="every 2s"' in page.content.decode()
    partial = client.get(reverse("monitoring:sweep_progress", args=[sweep.pk]), headers={"HX-Request": "true"})
    assert "HX-Refresh" not in partial and "run-queued" in partial.content.decode()
    # The status badge says 排队中 once (the run's message said it again beside it).
    html = re.sub(r"<[^>]+>", " ", partial.content.decode())
    assert html.count(sweep.get_status_display()) == 1, html


# ------------------------------------------------------------------------------------------ unmatched signals


def test_unmatched_report_downloads_masked_and_audited(
    client, make_household, make_snapshot, sweep, county_officer, make_user
):
    h = make_household()
    stranger = make_id_number(birth="19900101", seq=777)
    snap = make_snapshot(
        "employment",
        [
            {"id_number": ids(h)[0], "status": "unemployed", "registered_on": D(2026, 9, 1)},
            {"id_number": stranger, "status": "employed", "registered_on": D(2026, 9, 3), "employer": "某某公司"},
        ],
        period=D(2026, 9, 30),
    )
    snap.rows_unmatched = 1
    snap.save(update_fields=["rows_unmatched"])
    s = sweep()
    _login(client, county_officer)
    detail = client.get(reverse("monitoring:sweep", args=[s.pk]))
    url = reverse("exchange:unmatched", args=[snap.pk])
    assert url in detail.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[2][:2] == ("行号", "公民身份号码")
    data = [r for r in rows[3:] if r[0]]
    assert len(data) == 1
    assert data[0][0] == 2 and data[0][1] == masked(stranger) and "就业登记" in data[0] and "某某公司" in data[0]
    assert AuditEntry.objects.filter(action="export", object_type="snapshot", object_id=str(snap.pk)).count() == 1

    # capability and scope
    client.force_login(make_user("assistant"))
    assert client.get(url).status_code == 403
    client.force_login(make_user("county_approver", region="130702000000"))
    assert client.get(url).status_code == 404
    client.force_login(make_user("admin"))  # IMPORT_DATA, the city above the county
    assert client.get(url).status_code == 200


# ------------------------------------------------------------------------------------------------- the dashboard


@pytest.fixture
def dashboard_data(make_household, monitor, county_officer):
    """Five warnings in three villages of two townships, with known statuses and waits."""
    from minzheng.cases.models import Case
    from minzheng.policy.models import ServiceItem

    today = timezone.localdate()
    past = today - datetime.timedelta(days=30)
    a, b, c = make_household(), make_household(region=SIBLING_VILLAGE), make_household(region=OTHER_VILLAGE)
    monitor(a, "dibao")
    monitor(c, "edge")
    n = {"i": 0}

    def alert(h, rule, outcome, status="open", due=None, signal_on=None, closed_on=None, case=None):
        n["i"] += 1
        return Alert.objects.create(
            number=f"YJT{n['i']:05d}",
            household=h,
            region_id=h.region_id,
            rule=rule,
            signal_key=f"k{n['i']}",
            suggested_outcome=outcome,
            summary="测试预警",
            signal_on=signal_on or past,
            raised_on=past,
            due_on=due or today + datetime.timedelta(days=10),
            status=status,
            closed_on=closed_on,
            case=case,
        )

    case = Case.objects.create(
        number="T-DASH-1",
        service=ServiceItem.objects.get(code="dibao"),
        household=c,
        applicant_id=c.head_id,
        region_id=c.region_id,
        channel="proactive",
        submitted_on=past,
        state="approved",
        decided_on=past + datetime.timedelta(days=20),
        created_by=county_officer,
    )
    alert(a, "death_member", "stop")
    alert(a, "medical_high", "apply", due=today - datetime.timedelta(days=2))  # overdue
    alert(b, "medical_high", "apply", status="closed", closed_on=past + datetime.timedelta(days=4))  # 4 days
    alert(c, "anti_poverty", "enrol", status="closed", closed_on=past + datetime.timedelta(days=25), case=case)  # 20
    alert(c, "disaster", "apply", status="closed", closed_on=past + datetime.timedelta(days=10))  # 10
    return a, b, c


def test_dashboard_numbers(client, dashboard_data, county_officer):
    page = _login(client, county_officer).get(reverse("monitoring:dashboard"))
    assert page.status_code == 200
    d = page.context["d"]
    assert d["region"].code == "130722000000"
    assert d["totals"] == {"open": 2, "overdue": 1, "closed": 3}
    rows = {r["rule"]: dict(zip([o["code"] for o in d["outcomes"]], r["counts"], strict=True)) for r in d["rule_rows"]}
    assert (
        rows["medical_high"]["apply"] == 2 and rows["death_member"]["stop"] == 1 and rows["anti_poverty"]["enrol"] == 1
    )
    children = {c["code"]: c for c in d["children"]}
    assert children[TOWNSHIP]["open"] == 2 and children[TOWNSHIP]["overdue"] == 1 and children[TOWNSHIP]["closed"] == 1
    assert children[OTHER_TOWNSHIP]["closed"] == 2 and children[OTHER_TOWNSHIP]["open"] == 0
    assert d["timing"] == {"count": 3, "median": 10, "mean": round(34 / 3, 1)}
    timing = {t["code"]: t for t in d["timing_children"]}
    assert (
        timing[TOWNSHIP]["median"] == 4
        and timing[OTHER_TOWNSHIP]["median"] == 15
        and timing[OTHER_TOWNSHIP]["mean"] == 15
    )
    population = {p["code"]: p["count"] for p in d["population"]}
    assert population["dibao"] == 3 and population["edge"] == 3 and population["tekun"] == 0
    html = page.content.decode()
    assert 'id="dashboard-data"' in html and "echarts.min.js" in html
    assert f"?region={TOWNSHIP}" in html  # drill-down

    # drill down to the township, then to a village (the leaf)
    township = client.get(reverse("monitoring:dashboard"), {"region": TOWNSHIP[:9]}).context["d"]
    villages = {c["code"]: c for c in township["children"]}
    assert villages[VILLAGE]["open"] == 2 and villages[SIBLING_VILLAGE]["closed"] == 1
    village = client.get(reverse("monitoring:dashboard"), {"region": VILLAGE}).context["d"]
    assert village["leaf"] and village["children"] == [] and village["totals"]["open"] == 2


def test_dashboard_scope_and_leader(client, dashboard_data, make_user):
    clerk = make_user("clerk", region=OTHER_TOWNSHIP)
    _login(client, clerk)
    own = client.get(reverse("monitoring:dashboard")).context["d"]
    assert own["totals"] == {"open": 0, "overdue": 0, "closed": 2}
    # Outside the scope, unknown or malformed: noted, and the user's own region shown instead.
    for region in (TOWNSHIP[:9], "130722", "abc", "１３０７"):
        page = client.get(reverse("monitoring:dashboard"), {"region": region})
        assert page.status_code == 200 and page.context["d"]["region"].code == OTHER_TOWNSHIP, region
        assert "区划不存在或不在您的管辖范围内，已显示本辖区" in page.content.decode()
    full_width = OTHER_TOWNSHIP[:9].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.get(reverse("monitoring:dashboard"), {"region": full_width}).context["notes"] == []

    leader = make_user("leader")  # the city
    client.force_login(leader)
    d = client.get(reverse("monitoring:dashboard")).context["d"]
    assert d["totals"]["open"] == 2
    assert any(c["code"] == "130722000000" and c["open"] == 2 for c in d["children"])
    other_city = client.get(reverse("monitoring:dashboard"), {"region": "1301"})
    assert other_city.context["d"]["region"].code == leader.region_id and other_city.context["notes"]
