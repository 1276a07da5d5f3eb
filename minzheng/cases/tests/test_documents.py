"""Printed notices as PDF: generated for cases driven through the real procedure, read back with pypdf.

Set PDF_ARTIFACTS=<dir> to keep the generated PDFs (e.g. to render them to PNG and look at them).
"""

import datetime
import io
import os
from pathlib import Path
from urllib.parse import quote

import pypdf
import pytest
from django.urls import reverse

from minzheng.cases import documents, services
from minzheng.cases import workflows as wf
from minzheng.conftest import OTHER_TOWNSHIP
from minzheng.core import workdays
from minzheng.core.errors import NotFound
from minzheng.core.masking import mask_id_number
from minzheng.core.models import AuditEntry

from .conftest import record_paper_check

D = datetime.date
CJK_FONT_NAMES = ("notosanscjk", "notoserifcjk", "wenquanyi", "wqy")  # compared without "-", " " and case


def pdf_text(pdf: bytes) -> str:
    """All pages' text with whitespace removed (extraction breaks lines inside CJK runs)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join("".join((page.extract_text() or "").split()) for page in reader.pages)


def embedded_fonts(pdf: bytes) -> set[str]:
    """BaseFont names of the fonts whose program is embedded (FontFile, FontFile2 or FontFile3)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = set()
    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.values():
            font = ref.get_object()
            descriptors = [font.get("/FontDescriptor")]
            descriptors += [d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts") or []]
            for descriptor in filter(None, descriptors):
                descriptor = descriptor.get_object()
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    found.add(str(font["/BaseFont"]))
    return found


def check_pdf(pdf: bytes, name: str) -> str:
    assert pdf.startswith(b"%PDF-")
    fonts = embedded_fonts(pdf)
    names = [f.lower().replace("-", "").replace(" ", "") for f in fonts]
    assert any(cjk in name for name in names for cjk in CJK_FONT_NAMES), fonts
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)  # A4
    if target := os.environ.get("PDF_ARTIFACTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / f"notice-{name}.pdf").write_bytes(pdf)
    return pdf_text(pdf)


def assert_addressed(text: str, case) -> None:
    applicant = case.applicant
    assert applicant.name + "：" in text  # the notice is served on the applicant by full name
    assert mask_id_number(applicant.id_number) in text
    assert applicant.id_number not in text
    assert case.household.address in text
    assert "（盖章）" in text


def to_county(case, officers):
    o = officers
    services.act(o["clerk"], case.pk, "start_investigation", investigators=["张工作", "李工作"], today=D(2025, 3, 5))
    record_paper_check(o["reviewer"], o["county"], case.pk, D(2025, 3, 7))
    services.act(
        o["assistant"],
        case.pk,
        "complete_investigation",
        findings="入户核实属实",
        per_capita_income="500",
        today=D(2025, 3, 10),
    )
    services.act(o["reviewer"], case.pk, "first_review", opinion="approve", amount="300", today=D(2025, 3, 11))
    return services.act(o["reviewer"], case.pk, "end_notice", today=D(2025, 3, 18))


def test_acceptance_notice(apply):
    case = apply()
    assert documents.available(case) == [("acceptance", "受理通知书")]
    text = check_pdf(documents.render(case, "acceptance"), "acceptance")
    assert "受理通知书" in text and f"{case.number}-受理" in text
    assert_addressed(text, case)
    assert "最低生活保障" in text and case.household.number in text and "家庭人口3人" in text
    assert "张北县张北镇人民政府" in text  # the township issues it
    assert "2025年3月3日" in text
    # DOMAIN.md worked example 3: 30 working days from Monday 2025-03-03 end on 2025-04-15.
    assert "30个工作日" in text and "2025年4月15日" in text and "暂定" not in text


def test_acceptance_notice_marks_a_provisional_due_date(apply, monkeypatch):
    case = apply()
    # As for a year whose holiday calendar is not yet published: weekdays only (清明 not known), flagged provisional.
    monkeypatch.setattr(workdays, "library_knows", lambda year: year != 2025)
    text = check_pdf(documents.render(case, "acceptance"), "acceptance-provisional")
    assert "2025年4月14日（暂定）" in text and "节假日安排尚未公布" in text


def test_tekun_acceptance_states_the_investigation_limit(apply):
    case = apply(service="tekun", received=["application", "authorisation", "pledge", "supporters", "self_care"])
    text = check_pdf(documents.render(case, "acceptance"), "acceptance-tekun")
    assert "特困人员救助供养" in text
    assert "调查及乡镇初审时限为15个工作日" in text and "2025年3月24日前完成" in text
    assert "县级审核确认时限为15个工作日，自报送审核确认之日起计算" in text


def test_one_time_notice_lists_every_missing_material(apply, officers):
    case = apply(received=["application"], signed=False)
    services.act(officers["clerk"], case.pk, "notify_missing", today=D(2025, 3, 3))
    missing = case.events.get(action="notify_missing").data["missing"]
    assert len(missing) >= 3
    assert [kind for kind, _ in documents.available(case)] == ["missing"]
    text = check_pdf(documents.render(case, "missing"), "missing")
    assert "一次性告知书" in text and f"{case.number}-告知" in text
    assert_addressed(text, case)
    for item in missing:  # all of them, in one notice
        assert "".join(item.split()) in text
    assert f"共{len(missing)}项" in text
    # Materials other departments share are named as not required, with the department.
    assert "无需提交的材料" in text
    assert "家庭成员身份证件、户口簿" in text and "公安（人口信息共享）" in text
    assert "残疾人证" in text and "残联（残疾人证信息共享）" in text
    assert "《最低生活保障审核确认办法》第十条、第十一条" in text
    with pytest.raises(NotFound) as err:
        documents.render(case, "acceptance")
    assert "受理通知书" in err.value.message


def test_one_time_notice_of_other_items_cites_their_legal_basis(apply, officers):
    case = apply(service="temp_expense", received=["application"])
    services.act(officers["clerk"], case.pk, "notify_missing", today=D(2025, 3, 3))
    text = check_pdf(documents.render(case, "missing"), "missing-temp")
    assert "刚性支出票据（医疗、教育等）" in text
    assert "关于进一步加强和改进临时救助工作的意见" in text and "第十条、第十一条" not in text


def test_not_accepted_notice(apply, officers):
    case = apply(received=[])
    services.act(officers["clerk"], case.pk, "reject_intake", reasons="申请人户籍不在本乡镇", today=D(2025, 3, 4))
    text = check_pdf(documents.render(case, "not_accepted"), "not_accepted")
    assert "不予受理通知书" in text and f"{case.number}-不予受理" in text
    assert_addressed(text, case)
    assert "申请人户籍不在本乡镇" in text and "2025年3月4日" in text
    assert "60日内" in text and "行政复议" in text and "6个月内" in text and "行政诉讼" in text


def test_dibao_approval_notice(apply, officers):
    case = to_county(apply(), officers)
    assert "approval" not in dict(documents.available(case))
    case = services.act(officers["county"], case.pk, "approve", amount="300", today=D(2025, 3, 25))
    assert case.state == wf.APPROVED
    assert [k for k, _ in documents.available(case)] == ["acceptance", "approval"]
    text = check_pdf(documents.render(case, "approval"), "approval")
    assert "批准通知书" in text and "不予批准" not in text and f"{case.number}-批准" in text
    assert_addressed(text, case)
    assert "300.00元/月" in text and "自2025年4月起发放" in text
    assert "张北县民政局" in text and "2025年3月25日" in text  # the county confirms
    # The parameters in force: the time limit applied and the others that explain the decision.
    assert "办理时限" in text and "30个工作日" in text and "公示期" in text and "7日" in text
    assert "全国默认值" in text


def test_temporary_assistance_decision(apply, officers):
    case = apply(service="temp_emergency", received=["application", "situation"])
    services.act(officers["clerk"], case.pk, "pay_first", amount="2000", situation="住房失火", today=D(2025, 3, 3))
    case = services.act(officers["clerk"], case.pk, "complete_documents", today=D(2025, 3, 5))
    assert case.state == wf.APPROVED
    assert dict(documents.available(case))["approval"] == "临时救助决定书"
    text = check_pdf(documents.render(case, "approval"), "approval-temp")
    assert "临时救助决定书" in text and f"{case.number}-决定" in text
    assert "急难型先行救助后补齐手续时限" in text and "公示期" not in text  # its own parameters only
    assert_addressed(text, case)
    assert "2000.00元" in text and "元/月" not in text
    assert "已于2025年3月3日先行救助发放" in text
    assert "张北县张北镇人民政府" in text  # 急难型: the township decides


def test_refusal_notice_with_reasons_and_remedies(apply, officers):
    case = to_county(apply(), officers)
    case = services.act(
        officers["county"], case.pk, "refuse", reasons="家庭人均收入高于当地低保标准", today=D(2025, 3, 21)
    )
    assert [k for k, _ in documents.available(case)] == ["acceptance", "refusal"]
    text = check_pdf(documents.render(case, "refusal"), "refusal")
    assert "不予批准通知书" in text and f"{case.number}-不予批准" in text
    assert_addressed(text, case)
    assert "家庭人均收入高于当地低保标准" in text
    assert f"{documents.RECONSIDERATION_DAYS}日内向张北县人民政府申请行政复议" in text
    assert f"{documents.LITIGATION_MONTHS}个月内依法向人民法院提起行政诉讼" in text
    assert "张北县民政局" in text and "2025年3月21日" in text


def test_unknown_kind_is_not_found(apply):
    with pytest.raises(NotFound):
        documents.render(apply(), "certificate")


def test_reasons_are_escaped(apply, officers):
    case = apply(received=[])
    services.act(officers["clerk"], case.pk, "reject_intake", reasons='<img src="file:///etc/passwd">材料不全')
    assert "&lt;img" in documents.html(case, "not_accepted")
    assert "<img" in pdf_text(documents.render(case, "not_accepted"))


# ---------------------------------------------------------------- the download view


def exports(case):
    return AuditEntry.objects.filter(action="export", object_type="case", object_id=str(case.pk))


def test_download_is_a_pdf_and_audited(client, apply, officers):
    case = apply()
    client.force_login(officers["clerk"])
    response = client.get(reverse("cases:document", args=[case.pk, "acceptance"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f"inline; filename*=UTF-8''{quote(f'受理通知书-{case.number}.pdf')}"
    assert "no-store" in response["Cache-Control"]
    assert "受理通知书" in pdf_text(response.content)
    entry = exports(case).get()
    assert entry.detail == {"document": "acceptance"} and entry.user == officers["clerk"]


def test_document_not_applying_yet_is_404(client, apply, officers):
    case = apply()
    client.force_login(officers["county"])
    for kind in ("approval", "refusal", "missing", "not_accepted", "nonsense"):
        assert client.get(reverse("cases:document", args=[case.pk, kind])).status_code == 404
    assert not exports(case).exists()


def test_out_of_scope_user_gets_404_and_nothing_is_audited(client, apply, make_user):
    case = apply()
    client.force_login(make_user("clerk", OTHER_TOWNSHIP))
    assert client.get(reverse("cases:document", args=[case.pk, "acceptance"])).status_code == 404
    assert not exports(case).exists()


def test_login_and_capability_required(client, apply, make_user):
    case = apply()
    url = reverse("cases:document", args=[case.pk, "acceptance"])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user("auditor"))  # reads the audit trail, not people's records
    assert client.get(url).status_code == 403
    assert not exports(case).exists()
