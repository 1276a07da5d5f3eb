"""The outputs of a scenario run: the figures as an xlsx table (`core.exports`) and the council brief 方案测算说明 as a
PDF (`core.pdf`): the changes, their basis, the figures, and the caveats (which deliveries, who is counted)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from minzheng.core import pdf
from minzheng.core.exports import Column, Table
from minzheng.core.money import fmt
from minzheng.exchange.sources import SOURCES

from . import selectors
from .models import Scenario, ScenarioRun


@dataclass
class Brief:
    scenario: Scenario
    run: ScenarioRun
    totals: list[dict]
    counties: dict[str, list[dict]]
    changes: list[str]
    standards: list[dict]
    caveats: list[str] = field(default_factory=list)
    printed_at: object = None

    @property
    def title(self) -> str:
        return "方案测算说明"


def standards(run: ScenarioRun) -> list[dict]:
    """Per county, every changed parameter: in force and in the scenario."""
    before, after = run.parameters.get("before", {}), run.parameters.get("after", {})
    from minzheng.policy.catalogue import spec
    from minzheng.regions.models import Region

    names = dict(Region.objects.filter(code__in=[f"{int(c):06d}000000" for c in after]).values_list("code", "name"))
    rows = []
    for county, values in sorted(after.items()):
        for key, record in values.items():
            if record.get("scenario"):
                rows.append(
                    {
                        "county": names.get(f"{int(county):06d}000000", county),
                        "label": spec(key).label,
                        **dict(
                            zip(
                                ("before", "after"),
                                alike(before.get(county, {}).get(key, {}).get("value", ""), record["value"]),
                                strict=True,
                            )
                        ),
                    }
                )
    return rows


def alike(*values) -> list[str]:
    """Numbers side by side with the same decimals (850 beside 918.00 reads as 850.00 beside 918.00)."""
    try:
        numbers = [Decimal(str(v)) for v in values]
    except ArithmeticError:
        return [str(v) for v in values]
    places = max(max(0, -n.as_tuple().exponent) for n in numbers)
    return [f"{n:.{places}f}" for n in numbers]


def caveats(run: ScenarioRun) -> list[str]:
    s, scenario = run.stats, run.scenario
    notes = []
    if run.deliveries:
        listed = "；".join(f"{d['name']}（截至 {d['period']}，第 {d['version']} 版）" for d in run.deliveries)
        notes.append(f"部门数据：{listed}。")
    missing = s.get("missing_sources") or {}
    if missing:
        names = "、".join(SOURCES[code].name for code in missing if code in SOURCES)
        notes.append(f"以下部门在测算基准日前没有数据，按无记录处理，收入可能被低估：{names}。")
    if scenario.include_unauthorised:
        notes.append(f"已计入没有有效核对授权的家庭 {s.get('unauthorised', 0)} 户（其收入按已交换的部门数据测算）。")
    else:
        notes.append(
            f"仅统计有有效核对授权的家庭 {s.get('authorised', 0)} 户；未计入没有有效授权的家庭 {s.get('unauthorised', 0)} 户。"
        )
    notes.append(
        "测算用与家庭经济状况核对相同的规则和参数，按登记在册的家庭和部门数据计算；未申请的家庭并不会自动纳入，"
        "实际新增人数取决于申请和审核确认。金额为月度补差测算值，年支出按 12 个月计。"
    )
    notes.append("本测算不改变任何政策参数或救助待遇；方案经批准后，由有权限的工作人员在系统中采纳，按拟实施日期生效。")
    return notes


def build(user, run: ScenarioRun) -> Brief:
    scenario = run.scenario
    return Brief(
        scenario=scenario,
        run=run,
        totals=selectors.totals_by_benefit(run, user),
        counties=selectors.by_area(run, user),
        changes=[c.describe() for c in scenario.change_list],
        standards=standards(run),
        caveats=caveats(run),
        printed_at=timezone.localtime(),
    )


def render_pdf(brief: Brief) -> bytes:
    return pdf.render(render_to_string("simulation/brief_pdf.html", {"b": brief}))


def filename(brief: Brief, ext: str) -> str:
    return f"方案测算说明-{brief.scenario.pk}-{brief.run.pk}.{ext}"


def table(user, run: ScenarioRun) -> Table:
    """Every benefit × county × township, with the county subtotals: what the xlsx export holds."""
    columns = [
        Column("救助类别", 10),
        Column("县（市、区）", 14),
        Column("乡镇（街道）", 16),
        Column("现行户数", 10, "int"),
        Column("现行人数", 10, "int"),
        Column("方案户数", 10, "int"),
        Column("方案人数", 10, "int"),
        Column("新增户数", 10, "int"),
        Column("新增人数", 10, "int"),
        Column("退出户数", 10, "int"),
        Column("退出人数", 10, "int"),
        Column("金额增加户数", 12, "int"),
        Column("金额减少户数", 12, "int"),
        Column("不变户数", 10, "int"),
        Column("现行月支出（元）", 16, "money"),
        Column("方案月支出（元）", 16, "money"),
        Column("月支出差额（元）", 16, "money"),
        Column("年支出差额（元）", 16, "money"),
    ]

    def line(benefit_label, county, township, r):
        return [
            benefit_label,
            county,
            township,
            r["households_before"],
            r["people_before"],
            r["households_after"],
            r["people_after"],
            r["new_households"],
            r["new_people"],
            r["lost_households"],
            r["lost_people"],
            r["up_households"],
            r["down_households"],
            r["same_households"],
            r["cost_before"],
            r["cost_after"],
            r["cost_diff"],
            r["cost_diff_year"],
        ]

    rows = []
    for total in selectors.totals_by_benefit(run, user):
        rows.append(line(total["benefit_label"], "合计", "", total))
        for county in selectors.by_area(run, user).get(total["benefit"], []):
            rows.append(line(total["benefit_label"], county["name"], "小计", county))
            for town in selectors.by_area(run, user, county=county["code"]).get(total["benefit"], []):
                rows.append(line(total["benefit_label"], county["name"], town["name"], town))
    scenario = run.scenario
    return Table(
        title=f"政策模拟测算结果：{scenario.name}",
        columns=columns,
        rows=rows,
        scope=f"{scenario.region.name}，拟实施日期 {scenario.effective_from:%Y-%m-%d}，第 {run.pk} 次测算",
        filename=f"政策模拟测算-{scenario.pk}",
        notes=[c.describe() for c in scenario.change_list] + caveats(run),
    )


def money(value: Decimal) -> str:
    return fmt(value)
