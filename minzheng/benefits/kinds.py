"""The benefit types (救助待遇类别) as data: who receives one (a household or a person), which service items' decisions
create it, the parameter group its start month and review period come from, and its fund. Adding a type is a row
here; the allowances and children's benefits are defined now and get their eligibility rules from later issues.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class BenefitType:
    code: str
    name: str
    unit: str  # "household" or "person"
    services: tuple[str, ...]  # catalogue service items whose approval creates it
    parameter_group: str  # holds pay_start (DOMAIN.md §11)
    fund: str  # 资金来源 for the county's totals (民政统计)
    one_off: bool = False  # paid once, in the month of the decision (临时救助)
    review_param: str = ""  # the review period parameter, "" = no scheduled review

    @property
    def per_person(self) -> bool:
        return self.unit == "person"


TYPES: dict[str, BenefitType] = {
    t.code: t
    for t in (
        BenefitType("dibao", "最低生活保障金", "household", ("dibao",), "dibao", "困难群众救助补助资金（低保）"),
        BenefitType(
            "tekun",
            "特困人员救助供养金",
            "person",
            ("tekun",),
            "tekun",
            "困难群众救助补助资金（特困供养）",
            review_param="tekun.review_months",
        ),
        BenefitType(
            "temp_aid",
            "临时救助金",
            "household",
            ("temp_emergency", "temp_expense"),
            "temp_aid",
            "困难群众救助补助资金（临时救助）",
            one_off=True,
        ),
        BenefitType(
            "disability_living",
            "困难残疾人生活补贴",
            "person",
            ("disability_living",),
            "disability_subsidy",
            "残疾人两项补贴资金",
        ),
        BenefitType(
            "disability_care",
            "重度残疾人护理补贴",
            "person",
            ("disability_care",),
            "disability_subsidy",
            "残疾人两项补贴资金",
        ),
        BenefitType("orphan", "孤儿基本生活费", "person", ("orphan",), "child", "孤儿基本生活费资金"),
        BenefitType(
            "de_facto_child", "事实无人抚养儿童基本生活费", "person", ("de_facto_child",), "child", "孤儿基本生活费资金"
        ),
    )
}
CHOICES = [(t.code, t.name) for t in TYPES.values()]


def for_service(service_code: str) -> BenefitType | None:
    return next((t for t in TYPES.values() if service_code in t.services), None)


def label(code: str) -> str:
    return TYPES[code].name if code in TYPES else code
