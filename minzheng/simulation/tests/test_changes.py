"""Changes as a planner writes them: relative, absolute, per county, several at once; and the Chinese errors for what
is unknown or malformed. Nothing is saved on an error."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from minzheng.core.errors import DomainError, PermissionDeniedError
from minzheng.policy.models import Parameter
from minzheng.simulation import changes, services
from minzheng.simulation.models import Scenario

from .conftest import FROM

pytestmark = pytest.mark.django_db


def values(population, *lines):
    from minzheng.regions.models import Region

    return services.validate(Region.objects.by_code("1307"), FROM, changes.parse(list(lines)))


def test_relative_changes_apply_to_each_countys_value_in_force(population):
    v = values(population, "dibao.standard_urban=+8%", "dibao.standard_rural=+15%")
    assert v[130722]["dibao.standard_rural"] == "713.00"  # 620 × 1.15 (张北县's own standard)
    assert v[130702]["dibao.standard_rural"] == "690.00"  # 600 × 1.15 (the city's)
    assert v[130722]["dibao.standard_urban"] == "864.00"
    assert v[130702]["dibao.standard_urban"] == "864.00"


def test_absolute_and_per_county_changes(population):
    v = values(population, "dibao.standard_rural=650", "dibao.standard_rural@130722=-10%", "dibao.edge_multiplier=2")
    assert v[130722]["dibao.standard_rural"] == "558.00"  # the county's own change wins: 620 × 0.9
    assert v[130702]["dibao.standard_rural"] == "650"
    assert v[130722]["dibao.edge_multiplier"] == v[130702]["dibao.edge_multiplier"] == "2"
    v = values(population, "dibao.employment_cost_base=wage", "dibao.financial_assets_months=24")
    assert v[130722]["dibao.employment_cost_base"] == "wage" and v[130702]["dibao.financial_assets_months"] == 24


def test_change_text_round_trips_and_describes_itself():
    parsed = changes.parse("dibao.standard_urban=+8%\ndibao.standard_rural@130722=950\n")
    assert [c.as_text() for c in parsed] == ["dibao.standard_urban=+8%", "dibao.standard_rural@130722=950"]
    assert parsed[0].describe() == "城市低保标准（元/月）：+8%"
    assert parsed[1].describe() == "农村低保标准（元/月）（仅 130722）：调整为 950 元"
    assert changes.parse_one("dibao.standard_rural＝＋5％").amount == "5"  # full-width input


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("dibao.standard_urban", "格式错误"),
        ("dibao.nonexistent=5", "未知的政策参数：dibao.nonexistent"),
        ("dibao.total_wd=20", "政策模拟不能调整“办理总时限”"),
        ("dibao.standard_urban=abc", "城市低保标准（元/月）应为数字"),
        ("dibao.standard_urban=-5", "带正负号的数值有歧义"),
        ("dibao.standard_urban=+80", "带正负号的数值有歧义"),
        ("dibao.standard_urban=+300%", "超出范围"),
        ("dibao.standard_urban=8%", "比例应写成 +8% 或 -5%"),
        ("dibao.employment_cost_base=+5%", "是选项，不能按比例调整"),
        ("dibao.employment_cost_base=daily", "只能取"),
        ("dibao.uplift_minor=1.5", "应在0到1之间"),
        ("dibao.standard_rural@1307=+5%", "县级区划代码应为6位"),
    ],
)
def test_malformed_changes_are_refused_in_chinese(line, message):
    with pytest.raises(DomainError, match=re.escape(message)):
        changes.parse([line])


def test_errors_that_need_the_region_and_nothing_is_saved(population, leader):
    def create(*lines, region="1307"):
        return services.create_scenario(
            leader, name="试算", region_code=region, effective_from=FROM, changes=list(lines)
        )

    with pytest.raises(DomainError, match="130102 不是张家口市所辖的县"):
        create("dibao.standard_rural@130102=+5%")
    with pytest.raises(DomainError, match="尚未配置“分类施保：老年人增发"):
        create("dibao.uplift_elderly=+10%")
    with pytest.raises(DomainError, match="调整了两次"):
        create("dibao.standard_rural=+5%", "dibao.standard_rural=+6%")
    with pytest.raises(DomainError, match="请至少填写一项参数调整"):
        create("  ")
    with pytest.raises(DomainError, match="只能测算本辖区"):
        create("dibao.standard_rural=+5%", region="1301")
    with pytest.raises(DomainError, match="区划应为县级或以上"):
        create("dibao.standard_rural=+5%", region="130722100")
    assert not Scenario.objects.exists()


def test_only_planners_simulate(population, make_user):
    with pytest.raises(PermissionDeniedError):
        services.create_scenario(
            make_user("county_approver"),
            name="x",
            region_code="130722",
            effective_from=FROM,
            changes=["dibao.standard_rural=+5%"],
        )


def test_simulate_command_runs_and_prints_the_cost(population, leader):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "simulate",
        "--region",
        "1307",
        "--set",
        "dibao.standard_urban=+8%",
        "--set",
        "dibao.standard_rural=+15%",
        "--from",
        FROM.isoformat(),
        stdout=out,
        stderr=err,
    )
    text = out.getvalue()
    scenario = Scenario.objects.get()
    assert scenario.created_by is None and scenario.latest_run().status == "complete"
    assert "城市低保标准（元/月）：+8%" in text and "农村低保标准（元/月）：+15%" in text
    assert "测算家庭 7 户，其中有有效核对授权 6 户；未计入未授权家庭 1 户" in text
    assert "低保：现行" in text and "月支出" in text and "年支出差额" in text
    assert "100% 已完成" in err.getvalue()
    assert not Parameter.objects.filter(effective_from=FROM).exists()  # a scenario never sets a parameter
    with pytest.raises(CommandError, match=re.escape("调整“dibao.standard_urban”格式错误")):
        call_command("simulate", "--region", "1307", "--set", "dibao.standard_urban", "--from", FROM.isoformat())
    with pytest.raises(CommandError, match="拟实施日期“2027-13-01”格式错误"):
        call_command("simulate", "--region", "1307", "--set", "dibao.standard_urban=+1%", "--from", "2027-13-01")
    assert Scenario.objects.count() == 1


def test_the_brief_shows_values_in_force_and_in_the_scenario_with_the_same_decimals():
    from minzheng.simulation.brief import alike

    assert alike("850", "918.00") == ["850.00", "918.00"]
    assert alike("1.5", "2") == ["1.5", "2.0"]
    assert alike("", "2") == ["", "2"]  # nothing in force: shown as it is
