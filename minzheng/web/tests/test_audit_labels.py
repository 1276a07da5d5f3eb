"""The audit log in Chinese (issue 15 §3): object types, details and regions named for people, not stored codes."""

import re

import pytest
from django.urls import reverse

from minzheng.conftest import VILLAGE
from minzheng.core import audit
from minzheng.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _cells(html: str, testid: str) -> list[str]:
    return [re.sub(r"<[^>]+>|\s+", "", c) for c in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, re.S)]


def test_audit_log_reads_in_chinese(client, make_user):
    clerk = make_user("clerk", username="wangli", last_name="王", first_name="丽")
    audit.record(
        AuditEntry.Action.UPDATE,
        user=clerk,
        object_type="warning",
        object_id=472,
        label="预警 JC2026000472",
        region_code=VILLAGE,
        detail={"action": "visit", "finding": "confirmed"},
    )
    audit.record(
        AuditEntry.Action.UPDATE,
        user=clerk,
        object_type="case",
        object_id=9,
        label="案件 DB2025000009",
        region_code=VILLAGE,
        detail={"action": "first_review", "state": "notice"},
    )
    client.force_login(make_user("auditor"))
    response = client.get(reverse("web:audit"))
    html = response.content.decode()
    assert (
        "[warning" not in html and "#472" not in html and '{"action"' not in html and "&quot;action&quot;" not in html
    )
    objects = _cells(html, "audit-object")
    assert "预警JC2026000472（监测预警，编号472）" in objects
    details = _cells(html, "audit-detail")
    assert "办理事项：入户核实；核实结论：情况属实" in details
    assert "办理事项：乡镇初审；办理后状态：公示中" in details
    # The region is named; its code stays available on hover only.
    assert "张北镇南壕堑村村民委员会" in html and f">{VILLAGE}<" not in html
    assert "王丽" in html  # the person, with the account name beside it

    # The object-type filter lists Chinese names and filters by them (or by the stored code, as links carry it).
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', html))
    assert options["warning"] == "监测预警" and options["case"] == "案件" and options["household"] == "家庭"
    for value in ("warning", "监测预警"):
        entries = client.get(reverse("web:audit"), {"object_type": value}).context["entries"]
        assert [e.object_id for e in entries if e.object_type != "audit_log"] == ["472"]
    bad = client.get(reverse("web:audit"), {"object_type": "<script>"})
    assert "对象类型不正确" in bad.content.decode() and bad.context["entries"] == []


def test_audit_log_exports_in_chinese_scoped_and_is_itself_audited(client, make_user):
    import io

    import openpyxl

    audit.record(
        AuditEntry.Action.VIEW, object_type="household", object_id=5, label="家庭 H000000005", region_code=VILLAGE
    )
    audit.record(
        AuditEntry.Action.VIEW, object_type="household", object_id=6, label="外省家庭", region_code="110101001001"
    )
    client.force_login(make_user("auditor"))
    response = client.get(reverse("web:audit"), {"object_type": "household", "export": "xlsx"})
    assert response.status_code == 200
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[0][0] == "审计日志" and "对象类型：家庭" in rows[1][0]
    body = rows[3:]
    assert [r[5] for r in body] == ["家庭 H000000005"] and body[0][6] == "家庭" and body[0][4] == "查看"
    assert "南壕堑村" in body[0][8]
    assert "外省家庭" not in str(rows)
    entry = AuditEntry.objects.filter(action="export", object_type="audit_log").get()
    assert entry.detail["rows"] == 1 and entry.detail["filters"] == {"object_type": "household"}
    html = client.get(reverse("web:audit"), {"export": "print", "object_type": "household"}).content.decode()
    assert "家庭 H000000005" in html and "外省家庭" not in html


def test_payment_simulation_and_override_details_read_in_chinese():
    from minzheng.web.audit_labels import detail_text

    roll = detail_text({"action": "approve", "lines_hash": "ab12", "lines": 3, "total_fen": 90000}, {}, limit=None)
    assert "lines_hash" not in roll and "名册明细摘要：ab12" in roll and "笔数：3" in roll
    export = detail_text({"layout": "abc_fixed", "sha256": "ff"}, {}, limit=None)
    assert "abc_fixed" not in export and "中国农业银行" in export
    scenario = detail_text({"changes": ["dibao.edge_multiplier=2", "dibao.standard_rural@130722=+10%"]}, {}, limit=None)
    assert "dibao." not in scenario and "=2" in scenario and "（130722）=+10%" in scenario
    override = detail_text(
        {"action": "approve", "check_override": {"concerns": ["尚未登记信息核对结果"], "reasons": "纸质核对已完成"}},
        {},
        limit=None,
    )
    assert "check_override" not in override and "越过核对结果" in override and "理由 纸质核对已完成" in override


def test_denied_attempts_and_admin_changes_read_in_chinese(client, make_user):
    """What the browser pass found raw on the audit page: the denial's reason code, 「文件」 for the address asked for,
    `target_region` as a code, 「household #21」, and the admin's untranslated change message."""
    clerk = make_user("clerk", username="probe")
    audit.denied(
        clerk, "out_of_scope", message="记录不存在", object_type="household", object_id=21, target_region=VILLAGE
    )
    audit.record(
        AuditEntry.Action.UPDATE,
        user=make_user("admin", username="boss"),
        object_type="user",
        object_id=3,
        label="管理后台：用户 probe",
        region_code=VILLAGE,
        detail={"admin": "[{'changed': {'fields': ['Superuser status']}}]"},
    )
    client.force_login(make_user("auditor"))
    html = client.get(reverse("web:audit")).content.decode()
    details = " ".join(_cells(html, "audit-detail"))
    objects = _cells(html, "audit-object")
    assert "原因：访问其他辖区的记录" in details and "记录所在区划：张北镇南壕堑村村民委员会" in details, details
    assert "out_of_scope" not in html and "target_region" not in html and "household #21" not in html
    assert "访问其他辖区的记录（家庭，编号21）" in objects, objects
    assert "管理后台操作：修改（超级用户状态）" in details, details
    assert "Superuser" not in html
