"""The queue as an office uses it (issue 15 §4): searched by case number or name, exported to Excel and printed —
scoped, masked and audited."""

import io

import openpyxl
import pytest
from django.urls import reverse

from minzheng.cases import workflows as wf
from minzheng.core.models import AuditEntry

from .test_queues import _numbers, _queue, make_case, staff  # noqa: F401  (fixtures used by name)

pytestmark = pytest.mark.django_db


def test_queue_search_by_case_number_and_any_part_of_the_name(client, staff, make_case):  # noqa: F811
    one = make_case("A", wf.ACCEPTED, "欧阳小明")
    two = make_case("A", wf.ACCEPTED, "李大明")
    far = make_case("B", wf.ACCEPTED, "欧阳远方")  # another township: never in this clerk's queue
    clerk = staff["A"]["clerk"]
    assert _numbers(_queue(client, clerk, q=one.number)) == {one.number}
    assert _numbers(_queue(client, clerk, q=one.number.lower()[:8])) >= {one.number, two.number}
    assert _numbers(_queue(client, clerk, q="明")) == {one.number, two.number}  # the last character
    assert _numbers(_queue(client, clerk, q="阳小")) == {one.number}  # the middle
    assert _numbers(_queue(client, clerk, q="欧阳")) == {one.number}
    assert _numbers(_queue(client, clerk, q=far.number)) == set()
    searches = AuditEntry.objects.filter(action="search", object_type="case_queue", username=clerk.username)
    assert searches.count() == 6
    assert all("欧阳小明" not in (e.object_label + str(e.detail)) for e in searches)
    assert searches.filter(detail__q="欧*明").exists() or searches.filter(detail__q="阳*").exists()


def test_queue_exports_to_excel_and_print_masked_scoped_and_audited(client, staff, make_case):  # noqa: F811
    own = make_case("A", wf.ACCEPTED, "张三丰")
    make_case("B", wf.ACCEPTED, "赵远方")  # another township
    clerk = staff["A"]["clerk"]
    client.force_login(clerk)
    response = client.get(reverse("cases:queue"), {"export": "xlsx", "service": "dibao"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment;" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "待办案件" and "最低生活保障" in values[1][0]
    assert values[2][:3] == ["案件编号", "事项", "申请人"]
    body = values[3:]
    assert [r[0] for r in body] == [own.number]
    assert body[0][2] == "张*丰" and "张三丰" not in str(values) and "赵" not in str(values)
    entry = AuditEntry.objects.get(action="export", object_type="case_queue")
    assert entry.detail["rows"] == 1 and entry.detail["format"] == "xlsx" and entry.username == clerk.username
    assert entry.detail["filters"] == {"service": "dibao"}

    printed = client.get(reverse("cases:queue"), {"export": "print"})
    html = printed.content.decode()
    assert printed.status_code == 200 and 'data-testid="print-table"' in html and own.number in html
    assert "张*丰" in html and "张三丰" not in html and "赵" not in html
    assert AuditEntry.objects.filter(action="export", object_type="case_queue", detail__format="print").count() == 1
