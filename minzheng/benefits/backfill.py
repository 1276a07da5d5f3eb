"""Entitlements for decisions taken before the benefits app existed (issue 17 §1): every application case whose
approval (批准, 先行救助, 补办手续) has no entitlement gets the one `entitlements.grant` would have created then —
same start month, amount, breakdown and parameters — in the order the decisions were taken (a later approval of the
same benefit supersedes an earlier one, as it does live).

Months before the backfill are treated as paid outside the platform: the entitlement is marked settled through last
month (and a one-off benefit of an earlier month as settled), so the first roll pays the current month, not years of
补发 nobody owes. The record says so in its parameters (`backfill`).

Idempotent: a case that has an entitlement is skipped. Run by `minzheng derive_entitlements` and after every
`migrate` (post_migrate, when the benefits tables exist), so an upgraded database pays its approved households.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from minzheng.cases.decisions import DECISION_ACTIONS
from minzheng.cases.models import Case, CaseEvent
from minzheng.core.errors import DomainError
from minzheng.core.months import add_months, first_of_month

from . import kinds
from .models import Entitlement

GRANTING = ("approve", "complete_documents", "pay_first")
assert set(GRANTING) <= DECISION_ACTIONS


def missing_events():
    """The granting decision events of application cases without an entitlement, oldest decision first."""
    services = [code for t in kinds.TYPES.values() for code in t.services]
    return (
        CaseEvent.objects.filter(action__in=GRANTING, case__service__code__in=services)
        .exclude(case__service__workflow="review")
        .exclude(case__state__in=("refused", "withdrawn", "not_accepted"))
        .exclude(case_id__in=Entitlement.objects.values("decision_id"))
        .select_related("case", "case__service", "case__household", "case__applicant")
        .order_by("on", "at", "case_id", "seq")
    )


def derive_missing(today: datetime.date | None = None) -> dict:
    """Create the missing entitlements; {"created": n, "skipped": [(case number, reason), …]}."""
    from .entitlements import grant

    today = today or timezone.localdate()
    last = add_months(first_of_month(today), -1)
    created, skipped, done = 0, [], set()
    for event in missing_events().iterator(chunk_size=500):
        case: Case = event.case
        if case.pk in done:  # pay_first then complete_documents: the first decision creates it
            continue
        done.add(case.pk)
        kind = kinds.for_service(case.service.code)
        try:
            with transaction.atomic():
                ent = grant(case, event, event.on, kind)
                # Months up to last month were the old system's to pay (a one-off: its single month).
                ent.settled_through = (ent.start_month if kind.one_off else last) if ent.start_month <= last else None
                ent.parameters = {
                    **ent.parameters,
                    "backfill": {"on": today.isoformat(), "settled_outside_through": _iso(ent.settled_through)},
                }
                Entitlement.objects.filter(pk=ent.pk).update(
                    settled_through=ent.settled_through, parameters=ent.parameters
                )
                created += 1
        except DomainError as exc:
            skipped.append((case.number, exc.message))
    return {"created": created, "skipped": skipped}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def after_migrate(sender, *, using: str = "default", plan=None, **kwargs) -> None:
    """post_migrate receiver: derive what is missing when the database holds approved cases (a fresh database has
    none and pays one query)."""
    if using != "default" or not CaseEvent.objects.using(using).filter(action__in=GRANTING).exists():
        return
    result = derive_missing()
    if result["created"]:
        print(f"已为此前批准的 {result['created']} 个案件建立救助待遇")
