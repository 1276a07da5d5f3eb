"""`{% household_money household %}`: a household's entitlements, payment lines, arrears and recoveries, for the
household page and the 救助链 (scoped to the viewing user)."""

from django import template

from minzheng.benefits import selectors
from minzheng.core.money import fmt_fen

register = template.Library()


@register.filter
def fen(value) -> str:
    """Integer fen -> '1,234.50' (a breakdown item's amount)."""
    return fmt_fen(None if value in (None, "") else int(value))


@register.inclusion_tag("benefits/_household.html", takes_context=True)
def household_money(context, household) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "money": selectors.household_money(user, household.pk) if user is not None else None,
        "perms_view_payments": context.get("perms_view_payments"),
    }
