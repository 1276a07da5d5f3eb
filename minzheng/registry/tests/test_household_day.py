"""The household page shows the household's cases (open and closed), its benefit, warnings and checks with links;
the search finds any part of a name or address, the tail of an identity number and a case number; the household
list exports masked and audited (issue 15 §4)."""

import datetime
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from minzheng.cases import services as cases
from minzheng.conftest import OTHER_TOWNSHIP, OTHER_VILLAGE, VILLAGE, make_id_number
from minzheng.core.models import AuditEntry
from minzheng.registry import services

pytestmark = pytest.mark.django_db
D = datetime.date
FIRST = datetime.date(2025, 3, 3)
HEAD = make_id_number(birth="19700307", seq=135)  # ends in 135 + check character


@pytest.fixture
def family(make_user, household_data):
    clerk = make_user("clerk")
    household = services.create_household(
        clerk,
        household_data(
            VILLAGE,
            [("02", "欧阳明远", HEAD), ("12", "李秀芝", make_id_number(seq=136))],
            address="张北县张北镇幸福路88号",
        ),
    )
    return clerk, household


def _apply(clerk, household, service="dibao", today: datetime.date = FIRST):
    from minzheng.policy.models import ServiceItem

    received = list(ServiceItem.objects.get(code=service).materials.values_list("code", flat=True))
    return cases.open_application(
        clerk,
        household_id=household.pk,
        service_code=service,
        applicant_id=household.head_id,
        channel="window",
        received=received,
        authorisation_signed=True,
        pledge_signed=True,
        today=today,
    )


def test_household_page_lists_cases_benefit_and_warnings(client, family, make_user):
    clerk, household = family
    reviewer, county = make_user("township_reviewer"), make_user("county_approver")
    old = _apply(clerk, household, today=D(2024, 3, 4))
    cases.act(clerk, old.pk, "start_investigation", investigators=["甲", "乙"], today=D(2024, 3, 5))
    cases.act(reviewer, old.pk, "request_check", today=D(2024, 3, 5))
    cases.act(
        reviewer, old.pk, "record_check", manual=True, summary="未见异常", per_capita_income="200", today=D(2024, 3, 5)
    )
    cases.act(clerk, old.pk, "complete_investigation", findings="属实", today=D(2024, 3, 6))
    cases.act(reviewer, old.pk, "first_review", opinion="approve", amount="456.78", today=D(2024, 3, 7))
    cases.act(reviewer, old.pk, "end_notice", today=D(2024, 3, 15))
    cases.act(county, old.pk, "approve", today=D(2024, 3, 18))
    current = _apply(clerk, household, service="temp_expense", today=D(2025, 3, 3))
    client.force_login(clerk)
    html = client.get(reverse("registry:household", args=[household.pk])).content.decode()
    rows = re.findall(r'<tr[^>]*data-testid="household-case" data-state="([a-z_]+)"', html)
    assert rows == ["accepted", "approved"]  # open first, then closed
    for case in (old, current):
        assert reverse("cases:case", args=[case.pk]) in html
    # The entitlement the approval created, with its amount (the payments module's section of the page).
    entitlements = re.search(r'data-testid="entitlements".*?</table>', html, re.S).group(0)
    assert "最低生活保障" in entitlements and "456.78" in entitlements
    assert 'data-testid="panel-household-warnings"' in html and reverse("monitoring:chain", args=[household.pk]) in html
    assert "未纳入低收入人口监测" in html


def test_search_finds_parts_tails_addresses_and_case_numbers(client, family, make_user, household_data):
    clerk, household = family
    case = _apply(clerk, household)
    far_clerk = make_user("clerk", OTHER_TOWNSHIP)
    far = services.create_household(
        far_clerk,
        household_data(OTHER_VILLAGE, [("02", "欧阳远方", make_id_number(seq=735))], address="公会镇幸福路1号"),
    )
    client.force_login(clerk)
    link = reverse("registry:household", args=[household.pk])
    for query in ("明远", "阳明", "欧阳", HEAD[-4:], HEAD[-6:], HEAD[-6:].lower(), "幸福路88", "幸福路"):
        html = client.get(reverse("registry:search"), {"q": query}).content.decode()
        assert link in html, query
        assert reverse("registry:household", args=[far.pk]) not in html, query  # another township: never
    html = client.get(reverse("registry:search"), {"q": case.number.lower()}).content.decode()
    assert 'data-testid="panel-search-cases"' in html and reverse("cases:case", args=[case.pk]) in html
    assert HEAD not in html.replace(f'value="{HEAD}"', "")
    searches = AuditEntry.objects.filter(action="search", username=clerk.username)
    kinds = sorted(e.detail.get("kind") for e in searches)
    assert kinds == ["case", "id_tail", "id_tail", "id_tail"]
    assert all(HEAD not in e.object_label for e in searches)


def test_household_list_exports_masked_scoped_and_audited(client, family, make_user, household_data):
    clerk, household = family
    services.create_household(
        make_user("clerk", OTHER_TOWNSHIP),
        household_data(OTHER_VILLAGE, [("02", "外镇户主", make_id_number(seq=737))]),
    )
    client.force_login(clerk)
    response = client.get(reverse("registry:search"), {"region": VILLAGE, "export": "xlsx"})
    assert response.status_code == 200
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[0][0] == "家庭名单" and "南壕堑村" in rows[1][0]
    assert rows[3][:4] == [household.number, "欧**远", HEAD[:4] + "*" * 10 + HEAD[-4:], 2]
    assert (
        "欧阳明远" not in str(rows)
        and HEAD not in str(rows)
        and "外镇户主" not in str(rows)
        and "幸福路" not in str(rows)
    )
    entry = AuditEntry.objects.get(action="export", object_type="household_list")
    assert entry.detail["rows"] == 1 and entry.detail["format"] == "xlsx" and entry.region_code == VILLAGE
    html = client.get(reverse("registry:search"), {"region": VILLAGE, "export": "print"}).content.decode()
    assert household.number in html and "欧**远" in html and "欧阳明远" not in html
    # A region outside the clerk's township is ignored: the export stays inside the scope.
    outside = client.get(reverse("registry:search"), {"region": OTHER_VILLAGE, "export": "xlsx"})
    assert "外镇户主" not in str(
        list(openpyxl.load_workbook(io.BytesIO(outside.content)).active.iter_rows(values_only=True))
    )
