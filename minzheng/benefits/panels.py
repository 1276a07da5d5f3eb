"""What benefits contributes to the workbench (core.panels): the payment work waiting for the user — lines the
pre-payment comparison held (暂停，待核实), rolls awaiting approval, failed payments to follow up and recipients due
for review. (The household page shows the household's entitlements and lines through `{% household_money %}`.)"""

import datetime

from django.db.models import Count, Min, Q
from django.urls import reverse

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.panels import WORKBENCH, Panel, register

from . import reviews, settlement
from .models import LineState, PaymentLine, PaymentRoll

WORKBENCH_ROWS = 6


@register(WORKBENCH, order=25)
def payments_to_check(request, today: datetime.date) -> Panel | None:
    user = request.user
    if not has_capability(user, Capability.VIEW_PAYMENTS):
        return None
    held = (
        PaymentLine.objects.for_user(user)
        .filter(state=LineState.HELD, roll__state=PaymentRoll.State.PREPARED)
        .select_related("roll")
        .order_by("roll_id", "id")
    )
    rolls = PaymentRoll.objects.for_user(user).aggregate(
        prepared=Count("pk", filter=Q(state=PaymentRoll.State.PREPARED)),
        approved=Count("pk", filter=Q(state=PaymentRoll.State.APPROVED)),
        # The buttons open the earliest month with a roll in that state (not the default month, often empty).
        prepared_month=Min("month", filter=Q(state=PaymentRoll.State.PREPARED)),
        approved_month=Min("month", filter=Q(state=PaymentRoll.State.APPROVED)),
    )
    rolls["held_month"] = held.aggregate(month=Min("roll__month"))["month"]
    held_rolls = list(held.order_by().values_list("roll_id", flat=True).distinct()[:2])
    counts = {
        "held": held.count(),
        "failed": settlement.follow_up(user).count(),
        "reviews": reviews.queue(user, today).count(),
        **rolls,
    }
    lines = list(held[:WORKBENCH_ROWS])
    # A roll is the county's: a township officer sees its held lines of the township, and opens the household.
    visible = set(
        PaymentRoll.objects.for_user(user).filter(pk__in={line.roll_id for line in lines}).values_list("pk", flat=True)
    )
    rows = [
        {
            "line": line,
            "url": reverse("benefits:roll", args=[line.roll_id])
            if line.roll_id in visible
            else reverse("registry:household", args=[line.household_id]),
        }
        for line in lines
    ]
    # Held lines all on one roll the user may open: the button opens that roll's held lines, not the month.
    held_url = (
        reverse("benefits:roll", args=[held_rolls[0]]) + "?state=held"
        if len(held_rolls) == 1 and PaymentRoll.objects.for_user(user).filter(pk=held_rolls[0]).exists()
        else ""
    )
    # What waits for this user: held and failed lines, and for an approver the rolls to approve or export.
    waiting = counts["prepared"] + counts["approved"] if has_capability(user, Capability.APPROVE_ROLLS) else 0
    return Panel(
        "资金发放",
        "benefits/_panel_workbench.html",
        {"counts": counts, "held": rows, "held_url": held_url},
        key="payments",
        attention=counts["held"] + counts["failed"] + waiting,
    )
