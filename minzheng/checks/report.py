"""家庭经济状况核对报告: everything a stored check result says, arranged for people to read (the page) and to print
(the PDF). One builder feeds both templates, and every name and identity number is masked here, once, so neither
template can forget to.

The report only words what the engine stored (facts, reasons, evidence, the run's snapshots and parameters); it decides
nothing. Amounts in the facts are integer fen.
"""

import datetime
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.template.loader import render_to_string
from django.utils import timezone

from minzheng.core import pdf
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.exchange import selectors
from minzheng.exchange.sources import SOURCES
from minzheng.policy.catalogue import spec
from minzheng.regions.models import Region
from minzheng.registry.models import Membership, Person

from .explain import EXCLUSIONS, fmt
from .items import ITEMS
from .models import CheckResult

MARKS = {True: "✓", False: "✗", None: "!"}
MARK_CLASSES = {True: "ok", False: "fail", None: "warn"}
ROLE_LABELS = {
    "income": "收入",
    "deduction": "扣减项",
    "medical_deduction": "自付医疗费用",
    "financial_asset": "金融资产",
    "vehicle": "车辆",
    "property": "不动产",
    "business": "市场主体登记",
    "rigid": "刚性支出",
    "housing_fund": "住房公积金",
}
# Choice values of the checking parameters, as the parameter page and notices word them.
CHOICE_LABELS = {
    "none": "不扣除/不限制",
    "min_wage": "当地最低工资标准",
    "wage": "本人工资收入",
    "value_cap": "车辆价值不超过上限",
    "no_motor_vehicle": "不得拥有机动车（豁免类型除外）",
    "half_up": "四舍五入",
    "up": "向上取整",
    "down": "向下取整",
    "gap": "补差",
}
# The source fields whose choices name an asset row's item (a deposit, a car, a house ...).
_ITEM_FIELDS = {
    "finance": "product",
    "vehicle": "vehicle_type",
    "real_estate": "usage",
    "business": "status",
    "housing_fund": "status",
    "education": "stage",
    "pension": "item",
    "transfer": "item",
}


def _cent(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _money(value) -> str:
    return f"{_cent(value):,.2f}"


def _item_label(row: dict) -> str:
    label = row.get("item_label") or row["item"]
    if label == row["item"] and row["source"] in _ITEM_FIELDS:
        try:
            choices = SOURCES[row["source"]].field(_ITEM_FIELDS[row["source"]]).choices
        except StopIteration:
            choices = {}
        label = choices.get(row["item"], label)
    if row["item"] == "medical":
        label = "医疗费用个人自付"
    return label


def _mask_names(text: str, names: list[str]) -> str:
    """Reasons are worded with members' names; the report shows them masked like everywhere else."""
    for name in sorted({n for n in names if n and len(n) > 1}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return text


@dataclass
class Report:
    result: CheckResult
    title: str = "家庭经济状况核对报告"
    issuer: str = ""
    number: str = ""
    facts: dict = field(default_factory=dict)
    header: list = field(default_factory=list)
    authorisation: dict | None = None
    members: list = field(default_factory=list)
    members_note: str = ""
    sources: list = field(default_factory=list)
    evidence_note: str = ""
    income: list = field(default_factory=list)
    deductions: list = field(default_factory=list)
    totals: list = field(default_factory=list)
    assets: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)
    reasons: list = field(default_factory=list)
    parameters: list = field(default_factory=list)
    parameters_region: str = ""
    configured: bool = True
    batch: dict | None = None

    @property
    def header_rows(self) -> list[list]:
        return _pairs(self.header)

    @property
    def totals_rows(self) -> list[list]:
        return _pairs(self.totals)


def _pairs(items: list) -> list[list]:
    """Two label/value pairs per row of a printed facts table."""
    return [items[i : i + 2] for i in range(0, len(items), 2)]


def build(result: CheckResult) -> Report:
    """The report of one stored result (the caller has already checked scope and written the audit entry)."""
    run = result.run
    facts = dict(result.facts or {})
    persons = facts.pop("persons", None)
    county = facts.get("county")
    county_region = Region.objects.filter(pk=f"{int(county):06d}000000").first() if county else None
    report = Report(
        result=result,
        issuer=f"{county_region.name}民政局" if county_region else "民政部门",
        number=f"HC{result.pk:08d}",
        facts=facts,
        configured=bool(facts.get("configured", True)),
    )
    names = _names(result, persons)
    report.header = _header(result, run)
    report.authorisation = _authorisation(result)
    report.members, report.members_note = _members(result, persons)
    report.sources, report.evidence_note = _sources(result, run, persons is not None)
    report.income, report.deductions, report.totals = _income(result, facts, persons)
    report.assets = _assets(facts, _values((run.parameters or {}).get(str(county), {}) if county else {}))
    report.verdicts = _verdicts(result, facts)
    report.reasons = [
        {"mark": MARKS.get(r.get("ok")), "cls": MARK_CLASSES.get(r.get("ok")), "text": _mask_names(r["text"], names)}
        for r in result.reasons or []
    ]
    report.parameters, report.parameters_region = _parameters(run.parameters or {}, county, county_region)
    if result.change and run.kind == run.Kind.BATCH:
        new = result.new_amount
        report.batch = {
            "change": result.get_change_display(),
            "previous": _money(result.previous_amount) if result.previous_amount is not None else "—",
            "new": _money(new) if new is not None else "—",
            "difference": _money(result.change_amount),
        }
    return report


def _names(result: CheckResult, persons) -> list[str]:
    names = [p.get("name", "") for p in persons or []]
    names += list(Membership.objects.filter(household_id=result.household_id).values_list("person__name", flat=True))
    return names


def _header(result: CheckResult, run) -> list[tuple[str, str]]:
    household = result.household
    finished = run.finished_at or run.created_at
    rows = [
        ("家庭编号", household.number),
        ("户主", mask_name(household.head.name) if household.head_id else "—"),
        ("所在地", f"{result.region.path_name()}（{result.region.official_code}）"),
        ("核对基准日", f"{run.as_of:%Y-%m-%d}"),
        ("核对方式", f"{run.get_kind_display()}（第 {run.pk} 次运行）"),
        ("核对时间", f"{timezone.localtime(finished):%Y-%m-%d %H:%M}" if finished else "—"),
    ]
    if result.case_id:
        rows.append(("关联案件", f"{result.case.number}（{result.case.service.name}）"))
    return rows


def _authorisation(result: CheckResult) -> dict | None:
    auth = result.authorisation
    if auth is None:
        return None
    return {
        "id": auth.pk,
        "signed_on": f"{auth.signed_on:%Y-%m-%d}",
        "valid_until": f"{auth.valid_until:%Y-%m-%d}",
        "persons": "、".join(mask_name(p.name) for p in auth.persons.all()),
        "categories": len(auth.categories or []),
    }


def _members(result: CheckResult, persons) -> tuple[list[dict], str]:
    relationships = {
        m.person_id: m.get_relationship_display()
        for m in Membership.objects.filter(household_id=result.household_id).order_by("joined_on", "pk")
    }
    if persons is None:
        # Batch results keep the household's facts only; the members are today's, for orientation.
        rows = [
            {
                "name": mask_name(m.person.name),
                "id_number": mask_id_number(m.person.id_number),
                "relationship": m.get_relationship_display(),
                "age": m.person.age,
                "status": "—",
                "included": None,
            }
            for m in result.household.current_memberships()
        ]
        return rows, "批量复核只保存家庭层面的核对事实；下表为当前登记的成员，逐人明细请发起单户核对。"
    people = Person.objects.in_bulk([p.get("person_key") for p in persons])
    rows = []
    for p in persons:
        excluded = p.get("exclusion") or ""
        person = people.get(p.get("person_key"))
        rows.append(
            {
                "name": mask_name(p.get("name") or (person.name if person else "")),
                "id_number": mask_id_number(person.id_number if person else ""),
                "relationship": relationships.get(p.get("person_key"), ""),
                "age": p.get("age"),
                "included": bool(p.get("included")),
                "status": "计入共同生活家庭成员"
                if p.get("included")
                else f"不计入：{EXCLUSIONS.get(excluded, excluded)}",
                "unable": ("是（全日制在校就读）" if p.get("student") else "是") if p.get("unable_to_work") else "否",
                "counted": fmt(p.get("counted")),
                "excluded_income": fmt(p.get("excluded_income")),
                "deductions": fmt(p.get("deductions")),
                "uplift": fmt(p.get("uplift")) if p.get("uplift") else "—",
            }
        )
    return rows, ""


def _visible_evidence(rows: list[dict]) -> list[dict]:
    """Rows that bear on the verdict: a deduction column left empty by the department (0.00) is noise."""
    return [r for r in rows if not (r["role"] in ("deduction", "medical_deduction") and _cent(r["amount"]) == 0)]


def _evidence_row(r: dict) -> dict:
    amount = _cent(r["amount"])
    if r["role"] == "property":  # the engine carries the floor area (m²) in the amount column
        shown = f"{int(amount * 100)} ㎡"
    elif r["role"] == "business":
        shown = "—"
    else:
        shown = f"{amount:,.2f}"
    if r["role"] in ("income",):
        treatment = "计入" if r["counted"] else "不计入"
    else:
        treatment = ROLE_LABELS.get(r["role"], r["role"])
    return {
        "person": mask_name(r.get("person", "")),
        "row_no": r.get("row_no") or "—",
        "item": _item_label(r),
        "amount": shown,
        "divisor": r.get("divisor") or 1,
        "treatment": treatment,
        "counted": r.get("counted"),
        "role": r["role"],
    }


def snapshot_text(snap) -> str:
    return (
        f"第 {snap.pk} 号快照，数据截至 {snap.period:%Y-%m-%d}，第 {snap.version} 版，"
        f"{timezone.localtime(snap.imported_at):%Y-%m-%d} 导入"
    )


def missing_text(as_of: datetime.date, later: datetime.date | None) -> str:
    """Why a source was read as "no records": nothing delivered on or before the run's date."""
    text = f"核对基准日 {as_of:%Y-%m-%d} 前没有该来源的数据快照，按无记录核对"
    if later:
        text += f"（最早的快照数据截至 {later:%Y-%m-%d}，晚于基准日）"
    return text


def sources_read(run) -> list[dict]:
    """Per source, what the run read: its snapshot, or why there was none."""
    chosen = dict.fromkeys(SOURCES) | {s.source: s for s in run.snapshots.all()}
    missing = selectors.sources_without_data(run.region_id, run.as_of, chosen)
    return [
        {
            "code": code,
            "name": source.name,
            "department": source.department,
            "snapshot": snapshot_text(chosen[code]) if chosen[code] else "",
            "missing": missing_text(run.as_of, missing[code]) if code in missing else "",
        }
        for code, source in SOURCES.items()
    ]


def _sources(result: CheckResult, run, window: bool) -> tuple[list[dict], str]:
    evidence = _visible_evidence(result.evidence or [])
    out = [
        {**source, "rows": [_evidence_row(r) for r in evidence if r["source"] == source["code"]]}
        for source in sources_read(run)
    ]
    declared = [_evidence_row(r) for r in evidence if r["source"] == "declaration"]
    out.append(
        {
            "code": "declaration",
            "name": "入户调查认定事项",
            "department": "乡镇（街道）入户调查",
            "snapshot": "案件调查登记",
            "missing": "",
            "rows": declared,
        }
    )
    note = "" if window else "批量复核不保存逐条证据；如需查看每条记录，请对该户发起单户核对。"
    return out, note


def _half_up(total: int, divisor: int) -> int:
    return int((Decimal(total) / Decimal(divisor or 1)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _income(result: CheckResult, facts: dict, persons) -> tuple[list, list, list]:
    """Monthly amounts per member and item, aggregated exactly as the rules do (per item, period total ÷ months,
    rounded half up to the fen)."""
    if persons is None:
        income, deductions = [], []
    else:
        included = {mask_name(p.get("name", "")): bool(p.get("included")) for p in persons}
        groups: OrderedDict = OrderedDict()
        for r in result.evidence or []:
            if r["role"] not in ("income", "deduction", "medical_deduction"):
                continue
            key = (r.get("person", ""), r["item"], r["role"], r.get("divisor") or 1, bool(r.get("counted")))
            g = groups.setdefault(key, {"cents": 0, "sources": [], "row": r})
            g["cents"] += int(_cent(r["amount"]) * 100)
            if r["source_label"] not in g["sources"]:
                g["sources"].append(r["source_label"])
        income, deductions = [], []
        for (person, _item, role, divisor, counted), g in groups.items():
            monthly = _half_up(g["cents"], divisor)
            if monthly == 0:
                continue
            masked = mask_name(person)
            row = {
                "person": masked,
                "item": _item_label(g["row"]),
                "sources": "、".join(g["sources"]),
                "monthly": fmt(monthly),
                "basis": f"{fmt(g['cents'])} ÷ {divisor} 个月" if divisor > 1 else "月均",
                "included": included.get(masked, True),
            }
            if role == "income":
                row["treatment"] = "计入" if counted else "不计入"
                income.append(row)
            else:
                if role == "medical_deduction":
                    row["treatment"] = "扣减" if facts.get("deduct_medical") else "不扣减（当地未规定扣减）"
                else:
                    row["treatment"] = "扣减"
                deductions.append(row)
        for p in persons:
            if p.get("employment_cost"):
                deductions.append(
                    {
                        "person": mask_name(p.get("name", "")),
                        "item": "必要就业成本",
                        "sources": "按当地参数计算",
                        "monthly": fmt(p["employment_cost"]),
                        "basis": "就业成本扣除基数 × 扣除比例（不超过工资收入）",
                        "treatment": "扣减",
                        "included": bool(p.get("included")),
                    }
                )
    n = facts.get("n") or 0
    totals = [
        ("共同生活家庭成员", f"{n} 人" + (f"（户内 {facts.get('members')} 人）" if facts.get("members") != n else "")),
        ("计入收入合计", f"{fmt(facts.get('counted_gross'))} 元/月"),
        ("扣减合计", f"{fmt(facts.get('deductions'))} 元/月"),
        ("家庭月计入收入", f"{fmt(facts.get('counted'))} 元/月"),
        ("不计入收入的款项", f"{fmt(facts.get('excluded_income'))} 元/月"),
        ("家庭人均月收入", f"{fmt(facts.get('per_capita'))} 元"),
        ("低保标准", f"{fmt(facts.get('std'))} 元/人·月" if facts.get("std") is not None else "未配置"),
        ("低保边缘线（家庭）", f"{fmt(facts.get('edge_limit'))} 元/月" if facts.get("std") is not None else "未配置"),
    ]
    return income, deductions, totals


def _values(record: dict) -> dict:
    """The run's parameter record for the county as key -> value: what the parameter table shows."""
    return {key: v.get("value") for key, v in record.items()}


def _unset(value) -> bool:
    return value in ("", None)


def _assets(facts: dict, values: dict) -> list[dict]:
    """The asset tests with the local rule of each, rendered from the parameters the run used (`values`, the same
    record as the report's parameter table), never from defaults: a rule the record lacks says so."""
    limit = facts.get("financial_limit")
    rule = values.get("dibao.vehicle_rule")
    cap = values.get("dibao.vehicle_value_cap")
    if rule == "value_cap":
        vehicle_limit = f"单辆评估价值不超过 {_yuan_text(cap)} 元" if not _unset(cap) else "车辆价值上限未配置"
    elif rule == "no_motor_vehicle":
        vehicle_limit = "不得拥有机动车（摩托车、农用车、残疾人专用车等豁免类型除外）"
    elif _unset(rule):
        vehicle_limit = "本次核对未记录车辆规定"
    else:
        vehicle_limit = "当地未设车辆限制"
    max_res = values.get("dibao.max_residential_properties")
    nonres = values.get("dibao.nonresidential_property_allowed")
    business = values.get("dibao.business_registration_allowed")
    months = values.get("dibao.financial_assets_months")
    return [
        {
            "label": "金融资产（存款、理财、证券等）",
            "value": f"{fmt(facts.get('financial'))} 元",
            "limit": "当地未设上限"
            if limit is None or _unset(months)
            else f"{fmt(limit)} 元（{months} 个月 × 低保标准 × {facts.get('n')} 人）",
            "ok": facts.get("financial_ok"),
        },
        {
            "label": "机动车",
            "value": f"{facts.get('vehicles', 0)} 辆"
            + (f"，最高评估价值 {fmt(facts.get('vehicle_max'))} 元" if facts.get("vehicles") else ""),
            "limit": vehicle_limit,
            "ok": facts.get("vehicle_ok"),
        },
        {
            "label": "住宅",
            "value": f"{facts.get('residential', 0)} 套",
            "limit": "当地未设上限" if _unset(max_res) else f"不超过 {max_res} 套",
            "ok": _unset(max_res) or (facts.get("residential") or 0) <= int(max_res),
        },
        {
            "label": "非住宅不动产（商业、工业等）",
            "value": f"{facts.get('nonresidential', 0)} 处",
            "limit": _allowed(nonres, "不得拥有"),
            "ok": nonres is not False or not facts.get("nonresidential"),
        },
        {
            "label": "存续的市场主体登记",
            "value": f"{facts.get('businesses', 0)} 户",
            "limit": _allowed(business, "不得有存续的市场主体登记"),
            "ok": facts.get("business_ok"),
        },
    ]


def _allowed(value, refused: str) -> str:
    if _unset(value):
        return "本次核对未记录该项规定"
    return refused if value is False else "允许"


def _yuan_text(value) -> str:
    return f"{Decimal(str(value)):,.2f}"


def _formula(result: CheckResult, code: str) -> str:
    reason = next((r for r in result.reasons or [] if r.get("code") == code and r.get("ok")), None)
    return reason["text"] if reason else ""


def _verdicts(result: CheckResult, facts: dict) -> list[dict]:
    rows = [
        {
            "label": "最低生活保障（低保）",
            "ok": result.dibao,
            "text": f"符合，月补差金额 {result.dibao_amount:,.2f} 元" if result.dibao else "不符合",
            "formula": _formula(result, "dibao"),
        },
        {
            "label": "低保边缘家庭",
            "ok": result.edge,
            "text": "是" if result.edge else "否",
            "formula": _formula(result, "edge"),
        },
        {
            "label": "特困人员",
            "ok": True if result.tekun else (None if result.tekun_pending else False),
            "text": (
                f"符合，月供养金额 {result.tekun_amount:,.2f} 元"
                if result.tekun
                else ("待核实法定义务人履行能力" if result.tekun_pending else "不符合")
            ),
            "formula": _formula(result, "tekun"),
        },
        {
            "label": "刚性支出困难家庭",
            "ok": result.rigid,
            "text": "是" if result.rigid else "否",
            "formula": _formula(result, "rigid"),
        },
    ]
    for row in rows:  # a verdict that does not apply is not a failure: a dash, not a cross
        row["mark"] = "—" if row["ok"] is False else MARKS[row["ok"]]
        row["cls"] = "no" if row["ok"] is False else MARK_CLASSES[row["ok"]]
    return rows


def _code_list(value: str, labels: dict[str, str]) -> str:
    found = [c.strip() for c in str(value).split(",") if c.strip()]
    return "、".join(labels.get(c, c) for c in found) or "无"


def _parameter_value(value, unit: str, key: str = "") -> str:
    if key == "dibao.vehicle_exempt_types":
        return _code_list(value, SOURCES["vehicle"].field("vehicle_type").choices)
    if key == "dibao.extra_excluded_items":
        return _code_list(value, {code: item.label for code, item in ITEMS.items()})
    if value in ("", None):
        return "未设定"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and value in CHOICE_LABELS:
        return CHOICE_LABELS[value]
    if unit in ("", "比例"):
        return str(value)
    return f"{value} {unit}"


def _parameters(record: dict, county, county_region) -> tuple[list[dict], str]:
    values = record.get(str(county), {}) if county is not None else {}
    regions = Region.objects.in_bulk([v.get("region_code") for v in values.values() if v.get("region_code")])
    rows = []
    for key, v in values.items():
        try:
            param = spec(key)
            label, unit = param.label, param.unit
        except DomainError:
            label, unit = key, ""
        region = regions.get(v.get("region_code") or "")
        since = v.get("effective_from")
        rows.append(
            {
                "key": key,
                "label": label,
                "value": _parameter_value(v.get("value"), unit, key),
                "region": region.name if region else "全国",
                "effective_from": datetime.date.fromisoformat(since).strftime("%Y-%m-%d") if since else "—",
            }
        )
    return rows, county_region.name if county_region else ""


# ---------------------------------------------------------------------------------------------------------- PDF


def html(report: Report) -> str:
    return render_to_string("checks/report_pdf.html", {"r": report})


def render_pdf(report: Report) -> bytes:
    """The report as an A4 PDF, through the notices' renderer: their print stylesheet and CJK font, and the same
    fetcher that lets the document load nothing but that stylesheet."""
    return pdf.render(html(report))


def filename(report: Report) -> str:
    return f"家庭经济状况核对报告-{report.result.household.number}-{report.result.pk}.pdf"
