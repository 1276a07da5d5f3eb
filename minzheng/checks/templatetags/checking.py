"""The checking panel on the registry's household page: authorise, check now, and the latest results."""

from django import template
from django.utils import timezone

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.errors import DomainError

register = template.Library()

LATEST = 5


@register.inclusion_tag("checks/household_check.html", takes_context=True)
def household_checks(context, household):
    from minzheng.checks import services
    from minzheng.checks.models import Authorisation, CheckResult

    request = context.get("request")
    user = getattr(request, "user", None)
    can_run = has_capability(user, Capability.RUN_CHECKS)
    can_view = has_capability(user, Capability.VIEW_CHECKS)
    if not (can_run or can_view):
        return {"show": False}
    results = []
    if can_view:
        results = list(
            CheckResult.objects.visible()
            .for_user(user)
            .filter(household=household)
            .select_related("run", "case")
            .order_by("-id")[:LATEST]
        )
    authorisations = list(
        Authorisation.objects.for_user(user)
        .filter(household=household, revoked_on__isnull=True)
        .prefetch_related("persons")
        .order_by("-id")[:3]
    )
    try:
        valid = services.valid_authorisation(household, timezone.localdate())
        problem = ""
    except DomainError as exc:
        valid, problem = None, exc.message
    return {
        "show": True,
        "household": household,
        "can_run": can_run,
        "can_view": can_view,
        "results": results,
        "authorisations": authorisations,
        "valid": valid,
        "problem": problem,
        "csrf_token": context.get("csrf_token"),
    }
