"""The arithmetic the rules share (integer fen, halves rounded up, exact shares) and which rows of each source are
one income, deduction or asset item (DOMAIN.md §1 income counted and excluded, §14 assets).

`ITEM_ROWS` is read twice by `rules.py`: listed per row for the window's evidence (`items`), and folded per person
for the verdicts (`person_totals`), so the report's rows and the verdict's sums come from one declaration.
"""

from collections.abc import Callable
from dataclasses import dataclass

import ibis


def fen(amount):
    """A DECIMAL(18,2) yuan amount as integer fen: exact on the decimal engines, and rounded so that an engine holding
    money as a double (SQLite, at the window) gets the same fen (0.29 × 100 is 28.999… there)."""
    return (amount.fill_null(0) * 100).round().cast("int64")


def div_half_up(a, b):
    """a / b rounded half up, for a ≥ 0 and b > 0 (integers)."""
    return (a * 2 + b) // (b * 2)


def share(amount, num, den):
    """amount × num / den, rounded half up to the fen. A share that is not configured arrives as 0/1."""
    return div_half_up(amount * num, den)


def round_rule(amount, quantum, mode):
    """The local rounding rule (quantum in fen; half_up / up / down) for a non-negative amount."""
    return ibis.cases(
        (mode == "up", (amount + quantum - 1) // quantum * quantum),
        (mode == "down", amount // quantum * quantum),
        else_=div_half_up(amount, quantum) * quantum,
    )


def age_on(birth, day):
    before_birthday = (day.month() * 100 + day.day()) < (birth.month() * 100 + birth.day())
    return day.year() - birth.year() - before_birthday.cast("int64")


@dataclass(frozen=True)
class ItemRows:
    """Which rows of a source are one item (DOMAIN.md §1): its code (fixed, or read from a column), its role, the
    amount in fen, what turns a period total into a monthly figure, and which rows count. `j` is the source's rows
    joined to their member's keys and dates (`_source_rows`)."""

    source: str
    item: str | Callable
    cents: Callable
    role: str | Callable = "income"
    divisor: int | str = 1  # a whole number of months, or "lookback": the county's income period
    where: Callable | None = None

    def value(self, attribute: str, j):
        value = getattr(self, attribute)
        return value(j) if callable(value) else ibis.literal(value)

    def condition(self, j):
        # Every row of a joined source has a person key: "always" as a column, which aggregate filters take.
        return self.where(j) if self.where is not None else j.person_key.notnull()

    def months(self, j):
        return j.lookback if self.divisor == "lookback" else ibis.literal(self.divisor, "int64")


def in_period(j):
    return (j.month >= j.income_from) & (j.month < j.as_of)


def support_paid_or_income(j):
    # Support paid out is a deduction; every other transfer or declared item is income, counted or not per the item
    # rules.
    return ibis.ifelse(j.item == "support_paid", "deduction", "income")


ITEM_ROWS = (
    ItemRows("wage", "wage", lambda j: fen(j.gross_wage), divisor="lookback", where=in_period),
    ItemRows(
        "wage",
        "tax",
        lambda j: fen(j.tax_paid),
        role="deduction",
        divisor="lookback",
        where=lambda j: in_period(j) & (j.tax_paid.fill_null(0) > 0),
    ),
    ItemRows(
        "wage",
        "social_contribution",
        lambda j: fen(j.social_contribution),
        role="deduction",
        divisor="lookback",
        where=lambda j: in_period(j) & (j.social_contribution.fill_null(0) > 0),
    ),
    ItemRows(
        "pension",
        lambda j: j.item,
        lambda j: fen(j.monthly_amount),
        where=lambda j: j.start_month.isnull() | (j.start_month <= j.as_of),
    ),
    ItemRows("real_estate", "rent", lambda j: fen(j.monthly_rent), where=lambda j: j.monthly_rent.fill_null(0) > 0),
    ItemRows(
        "business",
        "business_income",
        lambda j: fen(j.monthly_net_income),
        where=lambda j: (j.status == "active") & (j.monthly_net_income.fill_null(0) > 0),
    ),
    ItemRows(
        "finance",
        "interest",
        lambda j: fen(j.annual_income),
        divisor=12,
        where=lambda j: j.annual_income.fill_null(0) > 0,
    ),
    ItemRows("transfer", lambda j: j.item, lambda j: fen(j.monthly_amount), role=support_paid_or_income),
    ItemRows("finance", lambda j: j.product, lambda j: fen(j.balance), role="financial_asset"),
    ItemRows("vehicle", lambda j: j.vehicle_type, lambda j: fen(j.value), role="vehicle"),
    ItemRows("real_estate", lambda j: j.usage, lambda j: j.area.round().cast("int64"), role="property"),
    ItemRows("business", lambda j: j.status, lambda j: ibis.literal(0, "int64"), role="business"),
    ItemRows(
        "medical",
        "medical",
        lambda j: fen(j.out_of_pocket),
        role="rigid",
        where=lambda j: (j.settled_on >= j.rigid_from) & (j.settled_on <= j.as_of),
    ),
    ItemRows(
        "medical",
        "medical_cost",
        lambda j: fen(j.out_of_pocket),
        role="medical_deduction",
        divisor="lookback",
        where=lambda j: (j.settled_on >= j.income_from) & (j.settled_on < j.as_of),
    ),
    ItemRows(
        "education",
        lambda j: j.stage,
        lambda j: fen(j.fee),
        role="rigid",
        where=lambda j: (j.paid_on >= j.rigid_from) & (j.paid_on <= j.as_of),
    ),
    ItemRows("housing_fund", lambda j: j.status, lambda j: fen(j.deposit_base), role="housing_fund"),
)
# The investigation's declared income (and support paid out), per person, monthly.
DECLARED = ItemRows(
    "declaration",
    lambda j: j.item,
    lambda j: j.cents,
    role=support_paid_or_income,
)
MONTHLY_ROLES = ("income", "deduction", "medical_deduction")  # summed as monthly figures (period total ÷ divisor)
