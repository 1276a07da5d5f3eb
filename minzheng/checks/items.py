"""Income items and how DOMAIN.md §1 (DB §13) and §2 (TK) treat them. A city may exclude more items through the
`dibao.extra_excluded_items` parameter; nothing here is a regional value."""

from dataclasses import dataclass

from minzheng.cases.investigations import DECLARABLE_ITEMS


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    role: str  # income / deduction
    counted: bool  # counted as household income (when role == income)
    basis: str


ITEMS: dict[str, Item] = {
    i.code: i
    for i in (
        Item("wage", "工资性收入", "income", True, "DB §13 工资性收入"),
        Item("business_income", "经营净收入", "income", True, "DB §13 经营净收入"),
        Item("rent", "出租财产收入", "income", True, "DB §13 财产净收入"),
        Item("interest", "利息、股息、红利收入", "income", True, "DB §13 财产净收入"),
        Item("employee_pension", "城镇职工基本养老金", "income", True, "DB §13 转移净收入（养老金）"),
        Item("resident_personal", "城乡居民养老保险个人账户养老金", "income", True, "DB §13 转移净收入"),
        Item("unemployment", "失业保险金", "income", True, "DB §13 转移净收入"),
        Item("work_injury", "工伤保险定期待遇", "income", True, "DB §13 转移净收入"),
        Item("survivor", "遗属待遇", "income", True, "DB §13 转移净收入"),
        Item("support_received", "赡养、抚养、扶养费", "income", True, "DB §13 转移净收入"),
        Item("compensation", "赔偿收入", "income", True, "DB §13 转移净收入"),
        Item("gift", "赠送收入", "income", True, "DB §13 转移净收入"),
        Item("resident_basic", "城乡居民基础养老金（中央确定的基础部分）", "income", False, "“十四五”规划；DB §13"),
        Item("youfu", "优待抚恤金", "income", False, "DB §13 不计入"),
        Item("family_planning", "计划生育奖励与扶助金", "income", False, "DB §13 不计入"),
        Item("scholarship", "奖学金、助学金", "income", False, "DB §13 不计入"),
        Item("heroism", "见义勇为奖励", "income", False, "DB §13 不计入"),
        Item("assistance", "政府发放的各类救助金", "income", False, "DB §13 不计入"),
        Item("elderly_allowance", "高龄津贴", "income", False, "DB §13 不计入；TK"),
        Item("tax", "个人所得税", "deduction", False, "DB §13 转移净收入扣除"),
        Item("social_contribution", "个人缴纳的社会保险费", "deduction", False, "DB §13 扣除"),
        Item("support_paid", "支付的赡养、抚养、扶养费", "deduction", False, "DB §13 扣除"),
        Item("employment_cost", "必要就业成本", "deduction", False, "DB §13 扣减必要就业成本"),
        Item("medical_cost", "重病患者自付医疗费用", "deduction", False, "DB §13 刚性支出扣减（地方规定）"),
    )
}

# Items an investigation may declare (what no department delivers): the case's investigation form offers them.
DECLARABLE = tuple(DECLARABLE_ITEMS)


def label(code: str) -> str:
    item = ITEMS.get(code)
    return item.label if item else code
