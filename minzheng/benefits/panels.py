"""What benefits contributes to the shared pages (core.panels): on the household page, the benefit the household
receives now (`selectors.current_recipients`). The payments module adds its workbench panel (payment lines held for
checking) here, as a WORKBENCH provider."""

from minzheng.accounts.roles import Capability, has_capability
from minzheng.cases import workflows as wf
from minzheng.core.panels import HOUSEHOLD, Panel, register
from minzheng.policy.models import ServiceItem

from .selectors import current_recipients


@register(HOUSEHOLD, order=20)
def household_benefit(request, household) -> Panel | None:
    if not has_capability(request.user, Capability.VIEW_PEOPLE):
        return None
    # The village's recipients (a few hundred households at most): the household's own line is read from them, so
    # the page and the monthly rolls agree on who receives what.
    current = current_recipients(household.region_id).get(household.pk)
    benefit = None
    if current is not None:
        workflow, amount = current
        name = (
            ServiceItem.objects.filter(workflow=workflow).order_by("order").values_list("name", flat=True).first()
            or workflow
        )
        benefit = {"name": name, "amount": amount, "unit": wf.amount_unit(workflow)}
    return Panel("享受待遇", "benefits/_panel_household.html", {"benefit": benefit}, key="household-benefit")
