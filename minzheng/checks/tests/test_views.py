"""The checking pages through the Django test client: the 核对报告 (page and PDF), the household's authorisation and
window check, and batch re-checks with their differences and the xlsx export."""

import datetime
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse

from minzheng.cases.models import Declaration
from minzheng.cases.tests.test_documents import CJK_FONT_NAMES, embedded_fonts, pdf_text
from minzheng.checks import services
from minzheng.checks.models import Authorisation, CheckResult, CheckRun
from minzheng.conftest import OTHER_TOWNSHIP, VILLAGE, make_id_number
from minzheng.core import audit
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.core.models import AuditEntry
from minzheng.exchange.sources import CATEGORIES

from .conftest import AS_OF, D, case_awaiting_check, member_ids, wages
from .test_rules import EXAMPLE_1

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def checked(family, set_params, make_snapshot, authorised, officer):
    """DOMAIN.md worked example 1, checked at the window: 低保, 300.00 a month."""
    set_params(**EXAMPLE_1)
    earner, spouse, student = member_ids(family)
    make_snapshot("wage", wages(earner, "1500"))
    make_snapshot("pension", [{"id_number": spouse, "item": "resident_basic", "monthly_amount": "143"}])
    make_snapshot("transfer", [{"id_number": student, "item": "scholarship", "monthly_amount": "250"}])
    make_snapshot("finance", [{"id_number": spouse, "institution": "农行", "product": "deposit", "balance": "5000"}])
    make_snapshot("civil_status", [])  # delivered, nothing about this family
    Declaration.objects.create(
        household=family,
        person_id=family.head_id,
        kind="income",
        item="support_received",
        monthly_amount=Decimal("200"),
        valid_from=D(2026, 1, 1),
    )
    authorised(family)
    return services.check_household(family.pk, user=officer, as_of=AS_OF)


# ------------------------------------------------------------------------------------------------------ report


def test_report_page_shows_the_verdict_reasons_evidence_and_parameters(client, officer, family, checked):
    client.force_login(officer)
    response = client.get(reverse("checks:report", args=[checked.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'data-testid="verdict-label">符合低保条件<', page)
    assert re.search(r'data-testid="amount">300.00 元<', page)
    assert re.search(r'data-testid="per-capita">500.00 元<', page)
    # Every member masked: names and identity numbers never appear in full.
    for m in family.current_memberships():
        assert m.person.name not in page
        assert m.person.id_number not in page
        assert mask_id_number(m.person.id_number) in page
        assert mask_name(m.person.name) in page
    assert family.number in page
    header = re.search(r'data-testid="header".*?</dl>', page, re.S).group(0)
    assert "张家口市张北县张北镇南壕堑村" in header and "130722100201" in header and "2026-12-01" in header
    # Income, counted and excluded, with the monthly amounts; deductions; assets against the limits.
    income = re.search(r'data-testid="income".*?</table>', page, re.S).group(0)
    assert "工资性收入" in income and "1,500.00" in income and "18,000.00 ÷ 12 个月" in income
    assert "城乡居民基础养老金" in income and "不计入" in income and "奖学金、助学金" in income
    assert "赡养、抚养、扶养费" in income
    deductions = re.search(r'data-testid="deductions".*?</table>', page, re.S).group(0)
    assert "必要就业成本" in deductions and "200.00" in deductions
    assets = re.search(r'data-testid="assets".*?</table>', page, re.S).group(0)
    assert "5,000.00 元" in assets and "当地未设上限" in assets
    # The formula and every reason with its mark.
    assert "补差 600.00 × 3 − 1,500.00 = 300.00 元" in page
    reasons = re.search(r'data-testid="reasons".*?</ul>', page, re.S).group(0)
    assert reasons.count("<li") == len(checked.reasons)
    assert "✓" in reasons and "!" in reasons
    # Sources: the snapshot used and its rows, or 无记录 / no snapshot.
    wage = re.search(r'data-testid="source-wage".*?(?=data-testid="source-)', page, re.S).group(0)
    assert "数据截至 2026-12-01" in wage and "工资性收入" in wage
    civil = re.search(r'data-testid="source-civil_status".*?(?=data-testid="source-)', page, re.S).group(0)
    assert "数据截至 2026-12-01" in civil and "无记录" in civil
    vehicle = re.search(r'data-testid="source-vehicle".*?(?=data-testid="source-)', page, re.S).group(0)
    assert "核对基准日 2026-12-01 前没有该来源的数据快照，按无记录核对" in vehicle
    # Parameters in force, with the region that set them (or 全国) and the date.
    params = re.search(r'data-testid="parameters".*?</table>', page, re.S).group(0)
    assert re.search(r"农村低保标准（元/月）</td><td>600 元</td><td>张北县</td><td>2025-01-01", params)
    assert re.search(r"低保边缘收入上限（低保标准的倍数）</td><td>1.5 倍</td><td>全国</td>", params)
    # Authorisation.
    auth = checked.authorisation
    assert f"第 {auth.pk} 号" in page and f"{auth.valid_until:%Y-%m-%d}" in page


def test_report_view_is_audited(client, officer, checked):
    client.force_login(officer)
    before = AuditEntry.objects.filter(action="view", object_type="check_result", object_id=str(checked.pk)).count()
    client.get(reverse("checks:report", args=[checked.pk]))
    entries = AuditEntry.objects.filter(action="view", object_type="check_result", object_id=str(checked.pk))
    assert entries.count() == before + 1
    assert entries.last().user == officer


def test_report_pdf_is_read_back(client, officer, checked):
    client.force_login(officer)
    response = client.get(reverse("checks:report_pdf", args=[checked.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    if target := os.environ.get("PDF_ARTIFACTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / "check-report.pdf").write_bytes(pdf)
    names = [f.lower().replace("-", "").replace(" ", "") for f in embedded_fonts(pdf)]
    assert any(cjk in name for name in names for cjk in CJK_FONT_NAMES), names
    text = pdf_text(pdf)
    assert "家庭经济状况核对报告" in text and "核对报告" in text
    assert "300.00" in text and "符合低保条件" in text
    assert "王大山" not in text and "王*山" in text
    assert AuditEntry.objects.filter(action="export", object_type="check_result", object_id=str(checked.pk)).exists()


def test_report_pdf_double_click_is_one_export_and_no_view(client, officer, checked, monkeypatch):
    """The PDF is audited as its export (the export is the view); a double click is one export (issue 15 §4)."""
    monkeypatch.setattr(audit, "REPEAT_SECONDS", 600)  # the render may take > 5 s on a loaded machine
    client.force_login(officer)
    entries = AuditEntry.objects.filter(object_type="check_result", object_id=str(checked.pk))
    before = entries.count()
    first = client.get(reverse("checks:report_pdf", args=[checked.pk]))
    second = client.get(reverse("checks:report_pdf", args=[checked.pk]))
    assert first.status_code == second.status_code == 200 and second.content.startswith(b"%PDF-")
    added = list(entries.order_by("seq"))[before:]
    assert [(e.action, e.user, e.detail) for e in added] == [("export", officer, {"format": "pdf"})]


def test_report_out_of_scope_is_404_and_without_capability_403(client, make_user, checked):
    client.force_login(make_user("township_reviewer", region=OTHER_TOWNSHIP))
    assert client.get(reverse("checks:report", args=[checked.pk])).status_code == 404
    assert client.get(reverse("checks:report_pdf", args=[checked.pk])).status_code == 404
    client.force_login(make_user("clerk"))  # same township, but a clerk does not read check results
    assert client.get(reverse("checks:report", args=[checked.pk])).status_code == 403
    client.force_login(make_user("leader"))  # the city's leader reads them
    assert client.get(reverse("checks:report", args=[checked.pk])).status_code == 200


def test_results_of_a_failed_run_are_not_shown(client, officer, checked):
    CheckRun.objects.filter(pk=checked.run_id).update(status=CheckRun.Status.FAILED)
    client.force_login(officer)
    assert client.get(reverse("checks:report", args=[checked.pk])).status_code == 404


# ------------------------------------------------------------------------------------------- household page


def test_household_page_offers_checking_to_reviewers_only(client, officer, make_user, family):
    client.force_login(officer)
    page = client.get(reverse("registry:household", args=[family.pk])).content.decode()
    assert "登记核对授权" in page and "经济状况核对" in page
    assert "没有有效的核对授权" in page  # the panel says so before anyone clicks
    client.force_login(make_user("clerk"))
    page = client.get(reverse("registry:household", args=[family.pk])).content.decode()
    assert 'data-testid="checks-panel"' not in page


def test_check_without_authorisation_shows_the_chinese_error_and_stores_nothing(client, officer, family):
    client.force_login(officer)
    response = client.post(reverse("checks:check_household", args=[family.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("registry:household", args=[family.pk])
    assert any("未能核对：该家庭没有有效的核对授权" in m for m in _messages(response))
    assert "没有有效的核对授权（授权核对书）" in response.content.decode()
    assert not CheckResult.objects.exists() and not CheckRun.objects.exists()


def test_authorise_then_check_from_the_household_page(client, officer, family, set_params):
    set_params(dibao__standard_rural="600")
    client.force_login(officer)
    url = reverse("checks:authorise", args=[family.pk])
    page = client.get(url).content.decode()
    members = family.current_memberships()
    for m in members:  # every member pre-ticked, names masked
        assert re.search(rf'name="persons" value="{m.person_id}"[^>]*checked', page)
        assert m.person.name not in page
    assert page.count('name="categories"') == 12 and page.count("checked") >= 15
    # A member left out: the check is refused with the missing member's masked name.
    signed = datetime.date.today() - datetime.timedelta(days=3)
    response = client.post(
        url,
        {
            "signed_on": signed.isoformat(),
            "persons": [m.person_id for m in members][:2],
            "categories": list(CATEGORIES),
        },
        follow=True,
    )
    assert any("已登记核对授权" in m for m in _messages(response))
    response = client.post(reverse("checks:check_household", args=[family.pk]), follow=True)
    assert any("核对授权未覆盖全部家庭成员" in m and "王*明" in m for m in _messages(response))
    assert not CheckResult.objects.exists()
    # A future signing date is refused on the form, nothing registered.
    response = client.post(
        url, {"signed_on": "2999-01-01", "persons": [m.person_id for m in members], "categories": list(CATEGORIES)}
    )
    assert response.status_code == 200 and "授权签署日期不能晚于今天" in response.content.decode()
    assert Authorisation.objects.count() == 1
    # Everyone signs: the check runs and lands on the report.
    client.post(
        url,
        {"signed_on": signed.isoformat(), "persons": [m.person_id for m in members], "categories": list(CATEGORIES)},
    )
    response = client.post(reverse("checks:check_household", args=[family.pk]), follow=True)
    result = CheckResult.objects.get()
    assert response.redirect_chain[-1][0] == reverse("checks:report", args=[result.pk])
    assert result.dibao and result.dibao_amount == Decimal("1800.00")
    page = client.get(reverse("registry:household", args=[family.pk])).content.decode()
    results = re.search(r'data-testid="check-results".*?</table>', page, re.S).group(0)
    assert "符合低保条件" in results and reverse("checks:report", args=[result.pk]) in results


def test_household_check_needs_run_capability_and_scope(client, make_user, family):
    client.force_login(make_user("leader"))
    assert client.post(reverse("checks:check_household", args=[family.pk])).status_code == 403
    assert client.get(reverse("checks:authorise", args=[family.pk])).status_code == 403
    client.force_login(make_user("township_reviewer", region=OTHER_TOWNSHIP))
    assert client.post(reverse("checks:check_household", args=[family.pk])).status_code == 404
    assert client.get(reverse("checks:authorise", args=[family.pk])).status_code == 404


# --------------------------------------------------------------------------------------------------- batch


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q runs queued tasks inline, as with Q_SYNC=1."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def approve(household, amount: str, service: str = "dibao", user=None):
    """An approved decision, as the case procedure leaves it: the case, its approval event, and the entitlement the
    benefits app keeps from it (what the batch compares against)."""
    from minzheng.cases.decisions import decided
    from minzheng.cases.models import Case, CaseEvent
    from minzheng.policy.models import ServiceItem

    case = Case.objects.create(
        number=f"T{household.pk:06d}{service}",
        service=ServiceItem.objects.get(code=service),
        household=household,
        applicant_id=household.head_id,
        region_id=household.region_id,
        channel="window",
        submitted_on=D(2026, 1, 5),
        accepted_on=D(2026, 1, 5),
        state="approved",
        decided_amount=Decimal(amount),
        decided_on=D(2026, 2, 1),
        created_by=user,
    )
    event = CaseEvent.objects.create(
        case=case,
        seq=1,
        action="approve",
        from_state="county_review",
        to_state="approved",
        on=case.decided_on,
        actor=user,
        data={"amount": amount},
    )
    decided.send(sender=Case, case=case, event=event, user=user, on=case.decided_on)
    return case


@pytest.fixture
def recipients(officer, household_data, family, set_params, make_snapshot, authorised):
    """Three 低保 households: one due more (300 vs 200), one whose income now exceeds the standard, one whose
    authorisation has lapsed; and a fourth household that receives nothing (checked, not listed)."""
    from minzheng.registry import services as registry

    set_params(**EXAMPLE_1)

    def household(seq, name):
        return registry.create_household(
            officer, household_data(VILLAGE, [("02", name, make_id_number(seq=seq))], area_type="rural")
        )

    richer = household(51, "刘富贵")
    lapsed = household(53, "陈无授")
    bystander = household(55, "周旁观")
    earner, *_ = member_ids(family)
    make_snapshot(
        "wage",
        wages(earner, "1700")  # 1,700 − 200 = 1,500: 300 a month for the family of three (600 × 3 − 1,500)
        + wages(member_ids(richer)[0], "3000")
        + wages(member_ids(bystander)[0], "100"),
    )
    for h in (family, richer, bystander):
        authorised(h)
    authorised(lapsed, on=D(2024, 1, 1))  # valid for 12 months: lapsed by the as-of date
    approve(family, "200.00", user=officer)
    approve(richer, "150.00", user=officer)
    approve(lapsed, "400.00", user=officer)
    return {"family": family, "richer": richer, "lapsed": lapsed, "bystander": bystander}


def test_batch_from_the_page_runs_and_shows_the_differences(client, officer, recipients, sync_tasks):
    client.force_login(officer)
    page = client.get(reverse("checks:runs")).content.decode()
    assert 'value="130722"' in page  # the user's region by default
    assert "不会自动改变任何家庭的救助待遇" in page
    response = client.post(reverse("checks:runs"), {"region": "130722", "as_of": AS_OF.isoformat()}, follow=True)
    run = CheckRun.objects.get(kind="batch")
    assert response.redirect_chain[-1][0] == reverse("checks:run", args=[run.pk])
    assert run.status == "complete" and run.started_by == officer
    page = response.content.decode()
    assert 'data-status="complete"' in page and "hx-trigger" not in page  # no polling once finished
    assert "不会自动改变任何家庭的救助待遇" in page
    rows = re.findall(r'<tr data-change="([a-z_]+)">(.*?)</tr>', page, re.S)
    by_change = {change: body for change, body in rows}
    assert set(by_change) == {"increase", "stop", "not_checked"}  # 无变化 is behind its own filter
    family = recipients["family"]
    increase = by_change["increase"]
    assert family.number in increase and mask_name("王大山") in increase and "王大山" not in page
    assert re.search(r"200\.00</td>\s*<td[^>]*>300\.00</td>\s*<td[^>]*>100\.00", increase)
    assert re.search(r"150\.00</td>\s*<td[^>]*>0\.00</td>\s*<td[^>]*>-150\.00", by_change["stop"])
    assert recipients["lapsed"].number in by_change["not_checked"]
    assert recipients["bystander"].number not in page
    result = CheckResult.objects.get(run=run, household=family)
    assert reverse("checks:report", args=[result.pk]) in increase
    # The filters.
    page = client.get(reverse("checks:run", args=[run.pk]), {"change": "stop"}).content.decode()
    assert re.findall(r'<tr data-change="([a-z_]+)">', page) == ["stop"]
    assert run.stats["changes"]["increase"] == 1 and run.stats["recipients"] == 3
    # The report of a batch result says what changed.
    page = client.get(reverse("checks:report", args=[result.pk])).content.decode()
    assert "批量复核比对" in page and "金额增加" in page


def test_progress_partial_polls_while_running_and_reloads_when_done(client, officer, family):
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    client.force_login(officer)
    url = reverse("checks:run_progress", args=[run.pk])
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in partial.content.decode() and "HX-Refresh" not in partial
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'data-testid="differences"' not in page
    CheckRun.objects.filter(pk=run.pk).update(status="complete", progress=100)
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true" and "hx-trigger" not in partial.content.decode()


def test_batch_form_refuses_regions_out_of_scope_and_bad_codes(client, make_user, family):
    reviewer = make_user("township_reviewer")
    client.force_login(reviewer)
    response = client.post(reverse("checks:runs"), {"region": "130722101", "as_of": "2026-12-01"})
    assert response.status_code == 200 and "只能复核本辖区的家庭" in response.content.decode()
    response = client.post(reverse("checks:runs"), {"region": "13x", "as_of": "2026-12-01"})
    assert "格式错误" in response.content.decode()
    response = client.post(reverse("checks:runs"), {"region": "139999", "as_of": "2026-12-01"})
    assert "区划代码 139999 不存在" in response.content.decode()
    assert not CheckRun.objects.exists()
    client.force_login(make_user("leader"))  # may look, may not start
    assert client.get(reverse("checks:runs")).status_code == 200
    assert 'data-testid="run-form"' not in client.get(reverse("checks:runs")).content.decode()
    assert client.post(reverse("checks:runs"), {"region": "1307", "as_of": "2026-12-01"}).status_code == 403
    client.force_login(make_user("clerk"))
    assert client.get(reverse("checks:runs")).status_code == 403


def test_runs_are_scoped(client, officer, make_user, recipients):
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    services.run_batch(run.pk)
    client.force_login(make_user("county_approver", region="130702000000"))
    assert client.get(reverse("checks:run", args=[run.pk])).status_code == 404
    assert client.get(reverse("checks:run_export", args=[run.pk])).status_code == 404
    assert f"第 {run.pk} 次" not in client.get(reverse("checks:runs")).content.decode()


def test_differences_export_is_masked_and_audited(client, officer, recipients):
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    services.run_batch(run.pk)
    client.force_login(officer)
    response = client.get(reverse("checks:run_export", args=[run.pk]), {"change": "all"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("家庭编号", "户主姓名", "户主公民身份号码")
    assert len(rows) == 1 + 3
    family_row = next(r for r in rows[1:] if r[0] == recipients["family"].number)
    head = recipients["family"].head
    assert family_row[1] == mask_name(head.name) and family_row[2] == mask_id_number(head.id_number)
    assert family_row[5] == "金额增加" and family_row[7:10] == (200, 300, 100)
    cells = {str(c) for r in rows for c in r if c is not None}
    for h in recipients.values():
        for m in h.current_memberships():
            assert m.person.id_number not in cells and m.person.name not in cells
    entry = AuditEntry.objects.filter(action="export", object_type="check_run", object_id=str(run.pk)).get()
    assert entry.detail["rows"] == 3 and entry.user == officer
    only_stops = client.get(reverse("checks:run_export", args=[run.pk]), {"change": "stop"})
    rows = list(
        openpyxl.load_workbook(io.BytesIO(only_stops.content), read_only=True).active.iter_rows(values_only=True)
    )
    assert [r[5] for r in rows[1:]] == ["拟停保"]


def test_a_run_that_fails_midway_shows_nothing_and_can_run_again(client, officer, recipients, monkeypatch):
    run = services.start_batch(officer, "130722000000", AS_OF, enqueue=False)
    manager = CheckResult.objects
    original = manager.bulk_create

    def write_then_crash(*args, **kwargs):
        original(*args, **kwargs)  # the results are written ...
        raise RuntimeError("磁盘已满")  # ... and the transaction dies before the run is marked complete

    monkeypatch.setattr(manager, "bulk_create", write_then_crash)
    with pytest.raises(RuntimeError):
        services.run_batch(run.pk)
    monkeypatch.undo()
    run.refresh_from_db()
    assert run.status == "failed" and "磁盘已满" in run.error
    assert not CheckResult.objects.filter(run=run).exists()
    client.force_login(officer)
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'data-testid="run-error"' in page and 'data-testid="differences"' not in page
    assert client.get(reverse("checks:run_export", args=[run.pk])).status_code == 404

    run = services.run_batch(run.pk)
    assert run.status == "complete" and CheckResult.objects.visible().filter(run=run).count() == 3
    page = client.get(reverse("checks:run", args=[run.pk])).content.decode()
    assert 'data-testid="differences"' in page


# ------------------------------------------------------------------------------------------------- case wiring


@pytest.fixture
def investigating(make_user, family, set_params, make_snapshot):
    """A 低保 case of worked example 1's family at the investigation step, checking requested; the wage data are
    there (1,500 a month: 1,300 counted after the employment cost, 433.33 per head, 500.00 a month)."""
    from django.utils import timezone

    today = timezone.localdate()
    set_params(**EXAMPLE_1)
    earner, *_ = member_ids(family)
    make_snapshot("wage", wages(earner, "1500", before=today), period=today)
    return case_awaiting_check(make_user("clerk"), family, today, ["张工作", "李工作"])


def _act(client, case, action, **data):
    case.refresh_from_db()
    return client.post(reverse("cases:act", args=[case.pk, action]), {"version": case.version, **data}, follow=True)


def test_record_check_on_the_case_runs_the_engine_and_feeds_the_first_review(client, make_user, investigating):
    case = investigating
    reviewer = make_user("township_reviewer")
    client.force_login(reviewer)
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    form = re.search(r'data-testid="action-record_check".*?</details>', page, re.S).group(0)
    assert "手工登记核对结果（无法联网核对时）" in form
    assert re.search(r'<div class="manual-only[^"]*">.*?name="per_capita_income"', form, re.S)  # revealed by the box
    response = _act(client, case, "record_check")
    assert any("已办理“登记核对结果”" in m for m in _messages(response))
    result = CheckResult.objects.get(case=case)
    assert result.dibao and result.dibao_amount == Decimal("500.00") and result.per_capita_income == Decimal("433.33")
    event = case.events.get(action="record_check")
    assert event.data["check_result"] == result.pk and event.data["verdict"] == "符合低保条件"
    page = response.content.decode()
    summary = re.search(r'data-testid="check-summary".*?</div>\s*</div>', page, re.S).group(0)
    assert "符合低保条件" in summary and "433.33元/月" in summary and "500.00元/月" in summary
    report_url = reverse("checks:report", args=[result.pk])
    assert report_url in summary
    events = re.search(r'data-testid="events".*?</table>', page, re.S).group(0)
    assert "核对结论：</span>符合低保条件" in events and report_url in events

    # A clerk reads the verdict on the case, but not the report.
    client.force_login(make_user("clerk"))
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert "符合低保条件" in page and report_url not in page

    # At the first review the amount is prefilled from the check.
    client.force_login(reviewer)
    _act(client, case, "complete_investigation", findings="入户核实属实")
    page = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    form = re.search(r'data-testid="action-first_review".*?</details>', page, re.S).group(0)
    assert re.search(r'name="amount"[^>]*value="500(\.00)?"', form)
    assert "核对测算金额 500.00 元/月（" in form and "补差" in form
    assert "初审参考" in page


def test_manual_check_result_when_the_exchange_is_unavailable(client, make_user, investigating):
    case = investigating
    client.force_login(make_user("township_reviewer"))
    response = _act(client, case, "record_check", manual="on", per_capita_income="420")
    assert any("手工登记核对结果时须填写核对结果" in m for m in _messages(response))
    assert not case.events.filter(action="record_check").exists()
    response = _act(
        client,
        case,
        "record_check",
        manual="on",
        summary="县核对中心纸质核对：无车辆、无大额存款",
        per_capita_income="420",
    )
    event = case.events.get(action="record_check")
    assert event.data == {
        "summary": "县核对中心纸质核对：无车辆、无大额存款",
        "manual": True,
        "per_capita_income": "420.00",
    }
    assert not CheckResult.objects.exists()
    events = re.search(r'data-testid="events".*?</table>', response.content.decode(), re.S).group(0)
    assert "手工登记（未联网核对）" in events and "420.00元/月" in events and "查看核对报告" not in events
    # The per-capita income is ignored on the engine path (it is the engine's to compute).
    _act(client, case, "record_check", per_capita_income="1")
    latest = case.events.filter(action="record_check").order_by("-seq").first()
    assert latest.data["per_capita_income"] == "433.33" and "manual" not in latest.data
