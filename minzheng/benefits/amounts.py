"""An entitlement's monthly amount and its breakdown (DOMAIN.md §1 Amount and 分类施保; §2 Standards), from the
parameters in force on the decision's date. The decided amount is what is paid; the breakdown explains it, and a
difference between the two (an officer's adjustment) is shown as its own item, so the parts always add up."""

import datetime
from decimal import Decimal
from fractions import Fraction

from minzheng.core.money import cents, to_fen
from minzheng.policy.catalogue import as_fraction
from minzheng.policy.parameters import Resolved, resolve_many
from minzheng.registry.models import Household, Membership


def _share(raw) -> Fraction | Decimal | None:
    return None if raw in ("", None) else as_fraction(raw)


def _yuan(base: Decimal, share) -> Decimal:
    """base × share (a Decimal or an exact Fraction such as 1/3), rounded half-up to the fen."""
    if isinstance(share, Fraction):
        return cents(base * share.numerator / share.denominator)
    return cents(base * share)


def item(code: str, label: str, amount: Decimal, **extra) -> dict:
    return {"item": code, "label": label, "fen": to_fen(amount), **extra}


def dibao_breakdown(
    household: Household, on: datetime.date, per_capita_income: Decimal | None
) -> tuple[list[dict], dict[str, Resolved]]:
    """补差 (standard − per-capita income) × members, plus each member's largest 分类施保 uplift (a share of the
    standard). Without a standard or an income figure there is nothing to explain from: the breakdown is empty."""
    keys = [
        "dibao.standard_urban",
        "dibao.standard_rural",
        "dibao.uplift_elderly_age",
        "dibao.uplift_elderly",
        "dibao.uplift_minor",
        "dibao.uplift_severe_disability",
    ]
    params = resolve_many(keys, household.region_id, on)
    standard_raw = params["dibao.standard_urban" if household.area_type == "urban" else "dibao.standard_rural"].value
    if standard_raw in ("", None) or per_capita_income is None:
        return [], params
    standard = Decimal(str(standard_raw))
    members = list(
        Membership.objects.filter(household=household, left_on__isnull=True).select_related("person").order_by("id")
    )
    living = [m.person for m in members if m.person.deceased_on is None or m.person.deceased_on > on]
    n = len(living)
    items = []
    gap = max(Decimal(0), standard - per_capita_income) * n
    items.append(item("gap", f"补差（({standard} − {per_capita_income}) × {n}人）", cents(gap)))
    shares = {
        "elderly": ("老年人", _share(params["dibao.uplift_elderly"].value)),
        "minor": ("未成年人", _share(params["dibao.uplift_minor"].value)),
        "severe_disability": ("重度残疾人", _share(params["dibao.uplift_severe_disability"].value)),
    }
    elderly_age = int(params["dibao.uplift_elderly_age"].value or 60)
    for person in living:
        age = person.age_on(on)
        applies = []
        if age >= elderly_age:
            applies.append("elderly")
        if age < 18:
            applies.append("minor")
        if person.disability_grade in (1, 2):
            applies.append("severe_disability")
        best = max(((code, shares[code][1]) for code in applies if shares[code][1]), key=lambda kv: kv[1], default=None)
        if best:
            items.append(item("uplift", f"分类施保：{shares[best[0]][0]}", _yuan(standard, best[1]), person=person.pk))
    return items, params


def tekun_breakdown(region_code: str, area_type: str, on: datetime.date, tier: str | None):
    """基本生活费 = multiplier × local 低保 standard; 照料护理费 = the self-care tier's share of the minimum wage
    (DOMAIN.md §2, worked example 4: 1.3 × 800 = 1,040.00; 1/3 × 1,930 = 643.33)."""
    keys = [
        "dibao.standard_urban",
        "dibao.standard_rural",
        "tekun.basic_multiplier_of_dibao",
        "tekun.care_share_self",
        "tekun.care_share_partial",
        "tekun.care_share_full",
        "local.min_wage",
    ]
    params = resolve_many(keys, region_code, on)
    standard_raw = params["dibao.standard_urban" if area_type == "urban" else "dibao.standard_rural"].value
    items = []
    if standard_raw not in ("", None):
        multiplier = Decimal(str(params["tekun.basic_multiplier_of_dibao"].value))
        items.append(
            item(
                "basic",
                f"基本生活费（{multiplier} × 低保标准{standard_raw}）",
                cents(multiplier * Decimal(str(standard_raw))),
            )
        )
    wage = params["local.min_wage"].value
    if tier in ("self", "partial", "full") and wage not in ("", None):
        share_raw = params[f"tekun.care_share_{tier}"].value
        tier_label = {"self": "具备自理能力", "partial": "部分丧失自理能力", "full": "完全丧失自理能力"}[tier]
        items.append(
            item(
                "care",
                f"照料护理费（{tier_label}，最低工资{wage} × {share_raw}）",
                _yuan(Decimal(str(wage)), as_fraction(share_raw)),
            )
        )
    return items, params


def reconcile(items: list[dict], decided_fen: int) -> list[dict]:
    """The breakdown adds up to the decided amount: a difference becomes a 核定调整 item."""
    total = sum(i["fen"] for i in items)
    if not items:
        return [{"item": "decided", "label": "核定金额", "fen": decided_fen}]
    if total != decided_fen:
        items = [*items, {"item": "adjustment", "label": "核定调整", "fen": decided_fen - total}]
    return items
