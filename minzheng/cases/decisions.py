"""Decisions on cases, announced to the apps above (issue 17): benefits keeps the entitlements they create, change and
stop, so cases never imports benefits. `services.act` sends `decided` inside the transaction that records the
decision, so a receiver that refuses (raises) leaves neither the decision nor the entitlement behind.
"""

from django.dispatch import Signal

# Actions whose event is a decision on what the household receives.
DECISION_ACTIONS = frozenset(
    {"approve", "refuse", "change_amount", "taper", "suspend", "complete_documents", "pay_first"}
)

# Sent with: case (Case, refreshed), event (the CaseEvent just appended), user, on (the decision's date).
decided = Signal()
