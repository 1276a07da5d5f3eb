"""What the registry contributes to the workbench (core.panels): the search box, the scope's size and the first
steps of a front-line day (register a household, accept an application)."""

import datetime

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.panels import WORKBENCH, Panel, register

from .models import Household, Person


@register(WORKBENCH, order=15)
def find_people(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_PEOPLE):
        return None
    return Panel(
        "查询人员与家庭",
        "registry/_panel_search.html",
        {
            "households": Household.objects.for_user(user).count(),
            "persons": Person.objects.for_user(user).count(),
            "can_edit": has_capability(user, Capability.EDIT_PEOPLE),
        },
        key="search",
    )
