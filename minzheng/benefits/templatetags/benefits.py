"""`{% household_money household %}`: a household's entitlements, payment lines, arrears and recoveries, for the
household page and the 救助链 (scoped to the viewing user)."""

from django import template

from minzheng.benefits import selectors

register = template.Library()


@register.inclusion_tag("benefits/_household.html", takes_context=True)
def household_money(context, household) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "money": selectors.household_money(user, household.pk) if user is not None else None,
        "perms_view_payments": context.get("perms_view_payments"),
    }
