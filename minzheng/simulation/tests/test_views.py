"""The pages: create and run a scenario, read it by county and township, the affected households (masked, scoped,
audited), compare two, the xlsx and the PDF brief read back, and adoption (only by those who set parameters)."""

import io
import re

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from minzheng.checks.tests.test_views import sync_tasks  # noqa: F401  (fixture used by name)
from minzheng.core.models import AuditEntry
from minzheng.policy.models import Parameter
from minzheng.simulation import services
from minzheng.simulation.models import Scenario

from .conftest import FROM

pytestmark = pytest.mark.django_db


def make(user, name="城乡低保标准分别提高8%和15%", changes=("dibao.standard_urban=+8%", "dibao.standard_rural=+15%")):
    scenario = services.create_scenario(user, name=name, region_code="1307", effective_from=FROM, changes=list(changes))
    services.run_scenario(services.start_run(user, scenario, enqueue=False).pk)
    return scenario


def test_create_and_run_from_the_pages(client, leader, population, sync_tasks):  # noqa: F811
    client.force_login(leader)
    page = client.get(reverse("simulation:scenarios")).content.decode()
    assert "政策模拟" in page and "测算不会改变任何参数或待遇" in page
    response = client.post(
        reverse("simulation:scenarios"),
        {
            "name": "提标试算",
            "region": "1307",
            "effective_from": FROM.isoformat(),
            "changes": "dibao.standard_urban=+8%\r\ndibao.standard_rural=+15%",
        },
        follow=True,
    )
    scenario = Scenario.objects.get()
    assert response.redirect_chain[-1][0] == reverse("simulation:scenario", args=[scenario.pk])
    response = client.post(reverse("simulation:run", args=[scenario.pk]), follow=True)
    page = response.content.decode()
    assert scenario.latest_run().status == "complete"
    assert 'data-status="complete"' in page
    # 张北县 and 桥东区 with their own rows; the drill-down link to 张北县's townships.
    assert "张北县" in page and "桥东区" in page and "?county=130722000000" in page
    page = client.get(reverse("simulation:scenario", args=[scenario.pk]), {"county": "130722000000"}).content.decode()
    assert "张北县各乡镇（街道）" in page and "张北镇" in page
    assert 'id="histogram-data"' in page and "现行标准" in page and "方案标准" in page
    assert "style=" not in page and "<script>" not in page  # CSP-clean


def test_bad_input_on_the_page_shows_the_chinese_error(client, leader, population):
    client.force_login(leader)
    page = client.post(
        reverse("simulation:scenarios"),
        {"name": "错", "region": "1307", "effective_from": FROM.isoformat(), "changes": "dibao.standard_urban=8%"},
    ).content.decode()
    assert "比例应写成 +8% 或 -5%" in page
    assert not Scenario.objects.exists()


def test_figures_by_county_and_the_cost(client, leader, population):
    scenario = make(leader)
    client.force_login(leader)
    page = client.get(reverse("simulation:scenario", args=[scenario.pk])).content.decode()
    by_area = re.search(r'data-testid="by-area-dibao">(.*?)</table>', page, re.S).group(1)
    rows = dict(re.findall(r'<tr data-area="(\d+)">(.*?)</tr>', by_area, re.S))
    assert set(rows) == {"130722000000", "130702000000"}
    # 桥东区: 己 (650 per capita) becomes eligible at 690: 40 a month.
    assert "40.00" in rows["130702000000"]


def test_affected_list_is_masked_scoped_and_audited(client, leader, make_user, population):
    scenario = make(leader)
    client.force_login(leader)
    page = client.get(reverse("simulation:affected", args=[scenario.pk])).content.decode()
    assert population["丙"].number in page and population["己"].number in page
    assert "钱二" not in page and "钱*" in page
    assert re.search(r"1307\*{10}\d{3}[\dX]", page)
    assert AuditEntry.objects.filter(action="view", object_type="scenario", object_id=str(scenario.pk)).exists()
    # 桥东区's leader reads the city's scenario for 桥东区 only: its figures and its households.
    other = make_user("leader", region="130702000000")
    client.force_login(other)
    page = client.get(reverse("simulation:scenario", args=[scenario.pk])).content.decode()
    by_area = re.search(r'data-testid="by-area-dibao">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r'<tr data-area="(\d+)">', by_area) == ["130702000000"]
    page = client.get(reverse("simulation:affected", args=[scenario.pk])).content.decode()
    assert population["己"].number in page and population["丙"].number not in page
    # A township reviewer of 张北镇 reads its households, and cannot run or create.
    reviewer = make_user("township_reviewer")
    client.force_login(reviewer)
    page = client.get(reverse("simulation:affected", args=[scenario.pk])).content.decode()
    assert population["丙"].number in page and population["己"].number not in page
    page = client.get(reverse("simulation:scenario", args=[scenario.pk])).content.decode()
    assert 'data-testid="run-scenario"' not in page
    assert client.post(reverse("simulation:run", args=[scenario.pk])).status_code == 403
    # A county scenario is not another county's.
    county = services.create_scenario(
        make_user("leader", region="130722000000"),
        name="张北",
        region_code="130722",
        effective_from=FROM,
        changes=["dibao.standard_rural=+5%"],
    )
    client.force_login(other)
    assert client.get(reverse("simulation:scenario", args=[county.pk])).status_code == 404
    assert AuditEntry.objects.filter(action="denied", user=other).exists()
    # A clerk may not simulate at all.
    client.force_login(make_user("clerk"))
    assert client.get(reverse("simulation:scenarios")).status_code == 403


def test_county_scenario_seen_by_the_city_and_the_county(client, leader, county_leader, population):
    scenario = services.create_scenario(
        county_leader,
        name="张北县农村提标",
        region_code="130722",
        effective_from=FROM,
        changes=["dibao.standard_rural@130722=+10%"],
    )
    services.run_scenario(services.start_run(county_leader, scenario, enqueue=False).pk)
    for user in (leader, county_leader):
        client.force_login(user)
        page = client.get(reverse("simulation:scenario", args=[scenario.pk])).content.decode()
        assert "张北县" in page and "桥东区" not in page


def test_xlsx_and_pdf_brief_are_read_back(client, leader, population):
    scenario = make(leader)
    client.force_login(leader)
    response = client.get(reverse("simulation:export", args=[scenario.pk]))
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    cells = [[c for c in row] for row in book.active.iter_rows(values_only=True)]
    flat = [str(c) for row in cells for c in row if c is not None]
    assert "张北县" in flat and "桥东区" in flat and "张北镇" in flat and "低保" in flat
    response = client.get(reverse("simulation:brief", args=[scenario.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"\s+", "", text)
    for expected in (
        "方案测算说明",
        "城市低保标准",
        "+8%",
        "农村低保标准",
        "+15%",
        "张北县",
        "桥东区",
        "部门数据",
        "未计入没有有效授权的家庭1户",
    ):
        assert expected in text, expected
    assert AuditEntry.objects.filter(action="export", object_type="scenario").count() == 2


def test_compare_two_scenarios(client, leader, population):
    a = make(leader)
    b = make(leader, name="边缘倍数2.0", changes=("dibao.edge_multiplier=2",))
    client.force_login(leader)
    page = client.get(reverse("simulation:compare"), {"a": a.pk, "b": b.pk}).content.decode()
    assert a.name in page and b.name in page
    assert "低保边缘" in page and "张北县" in page


def test_adoption_writes_the_parameters_only_for_parameter_setters(client, leader, setter, population):
    scenario = make(leader)
    client.force_login(leader)
    page = client.get(reverse("simulation:scenario", args=[scenario.pk])).content.decode()
    assert 'data-testid="adopt-form"' not in page
    assert client.post(reverse("simulation:adopt", args=[scenario.pk])).status_code == 403
    assert not Parameter.objects.filter(effective_from=FROM).exists()
    client.force_login(setter)
    response = client.post(reverse("simulation:adopt", args=[scenario.pk]), {"basis": "冀民〔2026〕1号"}, follow=True)
    page = response.content.decode()
    assert "已采纳方案，写入 3 项政策参数" in page, re.findall(r'role="alert">(.*?)</div>', page, re.S)
    written = {(p.key, p.region_id): p.value for p in Parameter.objects.filter(effective_from=FROM)}
    # Where each value was set: the city's standards on the city, 张北县's own rural standard on 张北县.
    assert written == {
        ("dibao.standard_urban", "130700000000"): "864.00",
        ("dibao.standard_rural", "130700000000"): "690.00",
        ("dibao.standard_rural", "130722000000"): "713.00",
    }
    assert all(
        p.basis == "冀民〔2026〕1号" and p.created_by == setter for p in Parameter.objects.filter(effective_from=FROM)
    )
    assert AuditEntry.objects.filter(action="update", object_type="scenario", object_id=str(scenario.pk)).exists()
    # Once only.
    response = client.post(reverse("simulation:adopt", args=[scenario.pk]), follow=True)
    assert "该方案已采纳，不能重复采纳" in response.content.decode()
    assert Parameter.objects.filter(effective_from=FROM).count() == 3


def test_pages_speak_chinese_to_the_planner(client, leader, population):
    """The list named the changes by their keys only and the form asked for keys it never listed; the compare page
    offered the same scenario on both sides; the affected list counted people as 3.0."""
    a = make(leader)
    b = make(leader, name="边缘倍数2.0", changes=("dibao.edge_multiplier=2",))
    client.force_login(leader)
    page = client.get(reverse("simulation:scenarios")).content.decode()
    assert "城市低保标准（元/月）：+8%" in page
    levers = page[page.index('data-testid="levers"') :]
    assert "dibao.uplift_elderly" in levers and "tekun.basic_multiplier_of_dibao" in levers
    page = client.get(reverse("simulation:compare")).content.decode()
    selected = re.findall(r'<option value="(\d+)" selected>', page)
    assert sorted(selected) == sorted([str(a.pk), str(b.pk)])
    rows = client.get(reverse("simulation:affected", args=[a.pk])).context["rows"]
    page = client.get(reverse("simulation:affected", args=[a.pk])).content.decode()
    assert rows and not re.search(r'<td class="text-end">\d+\.0</td>', page)


def test_the_planners_workbench_lists_the_latest_scenarios(client, leader, population, make_user):
    from django.urls import reverse

    client.force_login(leader)
    html = client.get(reverse("web:home")).content.decode()
    assert 'data-testid="panel-simulation"' in html and "尚无政策模拟方案" in html
    scenario = make(leader)
    html = client.get(reverse("web:home")).content.decode()
    row = re.search(r'data-testid="wb-scenario".*?</li>', html, re.S).group(0)
    assert reverse("simulation:scenario", args=[scenario.pk]) in row and "已测算" in row
    client.force_login(make_user("clerk"))
    assert 'data-testid="panel-simulation"' not in client.get(reverse("web:home")).content.decode()
