"""One household's verdict, its amount and (for a recipient) its change, from one computation (issue 15 §1).

The engine's row (`rules.households`) carries every test; which verdict an officer reads depends on which benefit is
being judged (a 特困 recipient who qualifies only for 低保 is not "符合低保条件 … 拟停保"). `judge` picks the verdict for
a benefit and gives the amount that verdict stands for; `change` derives the batch's change label from that same
verdict. Nothing else decides a label or an amount, so they cannot disagree.
"""

from dataclasses import dataclass
from decimal import Decimal

from . import explain

LABELS = {
    "not_checked": "未核对（无有效核对授权）",
    "unconfigured": "无法判断（当地低保标准未配置）",
    "no_members": "无法核对（无计入的共同生活成员）",
    "tekun": "符合特困人员条件",
    "dibao": "符合低保条件",
    "tekun_to_dibao": "不符合特困人员条件，符合低保条件",
    "tekun_pending": "可能符合特困条件，待核实法定义务人情况",
    "edge": "低保边缘家庭",
    "rigid": "刚性支出困难家庭",
    "none": "不符合救助条件",
}
# Verdicts that find the household eligible for a benefit (with the amount `judge` gives).
ELIGIBLE = ("tekun", "dibao", "tekun_to_dibao", "tekun_pending")
# Verdicts that decide nothing: no data was read, or the standard is missing.
UNDECIDED = ("not_checked", "unconfigured")


@dataclass(frozen=True)
class Verdict:
    code: str
    benefit: str  # the benefit the amount is for ("dibao", "tekun"), "" when none
    amount: Decimal | None  # monthly, for `benefit`; None when the check cannot say (undecided, 特困 pending)

    @property
    def label(self) -> str:
        return LABELS[self.code]

    @property
    def eligible(self) -> bool | None:
        if self.code in UNDECIDED:
            return None
        return self.code in ELIGIBLE

    def eligible_for(self, benefit: str) -> bool:
        """Eligible for this benefit (a case's own): 特困 pending counts for a 特困 case, 低保 only for a 低保 case."""
        return bool(self.eligible) and self.benefit == benefit


def judge(h: dict, benefit: str | None = None) -> Verdict:
    """The verdict on the engine's row `h` for `benefit` ("dibao", "tekun", or None: the best the household gets)."""
    if h.get("authorisation_id") is None:
        return Verdict("not_checked", "", None)
    if not h.get("configured", True):
        return Verdict("unconfigured", "", None)
    if not h.get("n"):
        return Verdict("no_members", "", Decimal("0.00"))
    dibao = Verdict("dibao", "dibao", explain.yuan(h["dibao_amount"]))
    if h["tekun"] and benefit != "dibao":
        return Verdict("tekun", "tekun", explain.yuan(h["tekun_amount"]))
    if benefit == "tekun":
        if h["tekun_pending"]:
            return Verdict("tekun_pending", "tekun", None)
        if h["dibao"]:
            return Verdict("tekun_to_dibao", "dibao", dibao.amount)
    elif h["dibao"]:
        return dibao
    elif h["tekun_pending"]:
        return Verdict("tekun_pending", "tekun", None)
    if h["edge"]:
        return Verdict("edge", "", Decimal("0.00"))
    if h["rigid"]:
        return Verdict("rigid", "", Decimal("0.00"))
    return Verdict("none", "", Decimal("0.00"))


def change(verdict: Verdict, current: Decimal) -> tuple[str, Decimal, Decimal | None]:
    """A recipient's change under `verdict`: (change code, difference, new amount). The codes are
    `CheckResult.Change`'s values."""
    if verdict.code == "not_checked":
        return "not_checked", Decimal("0.00"), None
    if verdict.code == "unconfigured":
        return "undecided", Decimal("0.00"), None
    if not verdict.eligible:
        return "stop", -current, Decimal("0.00")
    if verdict.amount is None:  # 特困 pending: the supporter finding decides; the amount stands meanwhile
        return "unchanged", Decimal("0.00"), current
    if verdict.amount > current:
        return "increase", verdict.amount - current, verdict.amount
    if verdict.amount < current:
        return "decrease", verdict.amount - current, verdict.amount
    return "unchanged", Decimal("0.00"), current


def breakdown(h: dict, verdict: Verdict) -> tuple[tuple[str, str], ...]:
    """How the verdict's amount is made up, from the same row: the gap, the 分类施保 uplift and the rounding, or
    特困's basic living and care. Empty when the verdict carries no amount."""
    fmt = explain.fmt
    if not verdict.eligible or verdict.amount is None:
        return ()
    if verdict.benefit == "tekun":
        return (("基本生活与照料护理合计", f"{fmt(h['tekun_amount'])} 元/月"),)
    rows = [
        ("低保标准 × 共同生活人数", f"{fmt(h['std'])} × {h['n']} = {fmt(h['need'])} 元"),
        ("家庭计入收入", f"{fmt(h['counted'])} 元/月"),
        ("补差", f"{fmt(h['need'])} − {fmt(h['counted'])} = {fmt(h['gap'])} 元"),
    ]
    if h.get("uplift"):
        rows.append(("分类施保增发", f"{fmt(h['uplift'])} 元"))
    rows.append(("按取整规则核定", f"{fmt(h['dibao_amount'])} 元/月"))
    return tuple(rows)
