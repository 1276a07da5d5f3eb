"""The planner's workbench panel: the latest scenarios of their region with their last run, and a way to start one."""

import datetime

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.panels import WORKBENCH, Panel, register

from . import selectors

WORKBENCH_ROWS = 5


@register(WORKBENCH, order=60)
def scenarios(request, today: datetime.date) -> Panel | None:
    if not has_capability(request.user, Capability.SIMULATE):
        return None  # officers who only read scenarios open them from the checks, not from their day
    rows = [(s, s.latest_run()) for s in selectors.scenarios_for(request.user)[:WORKBENCH_ROWS]]
    return Panel("政策模拟", "simulation/_panel_workbench.html", {"rows": rows}, key="simulation")
