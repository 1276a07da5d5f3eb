"""Every reason a household passes or fails, in Chinese, from the facts the rules computed. The decisions are made in
the set-based rules; this module only words them, identically for window and batch results."""

from decimal import Decimal

from .items import label as item_label

EXCLUSIONS = {
    "death": "已死亡",
    "move_out": "户口已迁出",
    "absent": "服刑、强制隔离戒毒或宣告失踪，不计入共同生活家庭成员（DB §7）",
    "declared": "经入户调查认定不计入共同生活家庭成员（DB §7）",
}


def yuan(fen: int | None) -> Decimal:
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


def fmt(fen: int | None) -> str:
    return f"{yuan(fen):,.2f}"


def _reason(code: str, ok: bool | None, text: str) -> dict:
    return {"code": code, "ok": ok, "text": text}


def reasons(h: dict) -> list[dict]:
    """Reasons for one household's verdicts from its row of rules.households: identical for a window check and a
    batch run (the report adds the per-member detail from the persons rows)."""
    out: list[dict] = []
    if h.get("authorisation_id") is None:
        out.append(_reason("authorisation", False, "未取得覆盖全部家庭成员和全部数据类别的有效核对授权，不得核对"))
    if not h["configured"]:
        out.append(_reason("standard", False, "当地低保标准未配置，无法判断（请在政策参数中设置城市/农村低保标准）"))
        return out
    n, std = h["n"], h["std"]
    if n == 0:
        out.append(_reason("members", False, "无共同生活家庭成员，无法核对"))
        return out
    if h["members"] != n:
        out.append(_reason("members", None, f"户内 {h['members']} 人，共同生活家庭成员 {n} 人（其余成员不计入）"))
    out.append(
        _reason(
            "income",
            h["income_ok"],
            f"家庭月计入收入 {fmt(h['counted'])} 元（收入 {fmt(h['counted_gross'])} 元，扣减 {fmt(h['deductions'])} 元），"
            f"人均 {fmt(h['per_capita'])} 元，{'低于' if h['income_ok'] else '不低于'}低保标准 {fmt(std)} 元",
        )
    )
    if h["excluded_income"]:
        out.append(
            _reason("excluded_income", None, f"不计入家庭收入的款项 {fmt(h['excluded_income'])} 元/月（DB §13）")
        )
    limit = h.get("financial_limit")
    out.append(
        _reason(
            "financial",
            h["financial_ok"],
            f"金融资产合计 {fmt(h['financial'])} 元"
            + (
                "，当地未设上限"
                if limit is None
                else f"，上限 {fmt(limit)} 元（人均 {h.get('fin_months')} 个月低保标准）"
            ),
        )
    )
    out.append(
        _reason(
            "vehicle",
            h["vehicle_ok"],
            f"计入规则的机动车 {h['vehicles']} 辆"
            + (f"，最高评估价值 {fmt(h['vehicle_max'])} 元" if h["vehicles"] else "")
            + ("" if h["vehicle_ok"] else "，不符合当地车辆规定"),
        )
    )
    out.append(
        _reason(
            "property",
            h["property_ok"],
            f"住宅 {h['residential']} 套，非住宅不动产 {h['nonresidential']} 处"
            + ("" if h["property_ok"] else "，超过当地规定"),
        )
    )
    out.append(
        _reason(
            "business",
            h["business_ok"],
            f"存续的市场主体登记 {h['businesses']} 户"
            + ("" if h["business_ok"] else "，当地规定不得有存续的市场主体登记"),
        )
    )
    if h["dibao"]:
        text = f"符合低保条件：补差 {fmt(std)} × {n} − {fmt(h['counted'])} = {fmt(h['gap'])} 元"
        if h["uplift"]:
            text += f"，分类施保增发 {fmt(h['uplift'])} 元"
        out.append(_reason("dibao", True, text + f"，按取整规则核定 {fmt(h['dibao_amount'])} 元/月"))
    else:
        out.append(_reason("dibao", False, "不符合低保条件"))
    if h["edge"]:
        out.append(
            _reason(
                "edge",
                True,
                f"人均收入低于低保标准的 {fmt(h['edge_limit'] // max(n, 1))} 元边缘线，资产符合规定：低保边缘家庭",
            )
        )
    if h["tekun"]:
        out.append(
            _reason("tekun", True, f"有成员符合特困人员三项条件，基本生活与照料护理合计 {fmt(h['tekun_amount'])} 元/月")
        )
    elif h["tekun_pending"]:
        out.append(_reason("tekun", None, "有成员无劳动能力且收入、财产符合特困条件，法定义务人履行能力待入户调查核实"))
    elif h["unable"]:
        out.append(_reason("tekun", False, "有无劳动能力的成员，但收入、财产或法定义务人条件不符合特困人员认定"))
    if h["rigid"]:
        out.append(
            _reason(
                "rigid",
                True,
                f"近12个月刚性支出 {fmt(h['rigid_total'])} 元超过家庭收入的当地规定比例：刚性支出困难家庭",
            )
        )
    elif h["rigid_total"] and not (h["dibao"] or h["edge"] or h["tekun"]):
        out.append(_reason("rigid", False, f"近12个月刚性支出 {fmt(h['rigid_total'])} 元，未达到刚性支出困难认定条件"))
    if h["without_data"]:
        out.append(_reason("missing_data", None, f"{h['without_data']} 名成员在各部门数据中均无记录，请入户核实"))
    if h["housing_fund_base"] and not h["counted_gross"]:
        out.append(_reason("housing_fund", None, "有正常缴存的住房公积金但无工资收入记录，请核实就业情况"))
    return out


def evidence_rows(rows: list[dict], names: dict[int, str]) -> list[dict]:
    """Evidence rows for the report: which source, which record, which amount, counted or not."""
    from minzheng.exchange.sources import SOURCES

    out = []
    for r in rows:
        source = SOURCES.get(r["source"])
        label = item_label(r["item"])
        if source and label == r["item"]:  # an asset row: its code is one of the source's declared choices
            label = next((f.choices[r["item"]] for f in source.fields if r["item"] in f.choices), label)
        out.append(
            {
                "person": names.get(r["person_key"], ""),
                "source": r["source"],
                "source_label": source.name if source else "入户调查认定",
                "snapshot_id": r["snapshot_id"],
                "row_no": r["row_no"],
                "item": r["item"],
                "item_label": label,
                "role": r["role"],
                "amount": str(yuan(r["cents"])),
                "divisor": r["divisor"],
                "counted": bool(r["counted"]),
            }
        )
    return out
