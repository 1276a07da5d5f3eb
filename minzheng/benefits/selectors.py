"""Who receives which benefit, since when and at what amount, as the decisions on cases left it.

Read by the batch re-check (checks) and, with the payments issue, by the monthly rolls: nothing outside this app reads
cases to know who is a recipient.
"""

from decimal import Decimal

from django.db.models import Max

from minzheng.cases import workflows as wf
from minzheng.cases.models import Case
from minzheng.core import batching
from minzheng.regions import codes


def current_recipients(region_code: str) -> dict[int, tuple[str, Decimal]]:
    """household id -> (workflow, monthly amount) of the latest approved 低保/特困 decision per household, as a later
    动态复核 left it: stopped (refused) households are no longer recipients; a continued one has the review's amount."""
    low, high = codes.subtree_range(region_code)
    in_region = Case.objects.filter(region_id__gte=low, region_id__lte=high)
    latest = (
        in_region.filter(state=wf.APPROVED, service__workflow__in=("dibao", "tekun"))
        .values("household_id")
        .annotate(last=Max("id"))
    )
    reviews = (
        in_region.filter(state__in=(wf.APPROVED, wf.REFUSED), service__workflow="review")
        .values("household_id")
        .annotate(last=Max("id"))
    )
    ids = [row["last"] for row in latest] + [row["last"] for row in reviews]
    grants: dict[int, tuple] = {}
    review_of: dict[int, tuple] = {}
    for batch in batching.in_batches(ids):
        for pk, hid, workflow, state, decided, proposed in Case.objects.filter(pk__in=batch).values_list(
            "id", "household_id", "service__workflow", "state", "decided_amount", "proposed_amount"
        ):
            (review_of if workflow == "review" else grants)[hid] = (pk, workflow, state, decided, proposed)
    out = {}
    for hid, (pk, workflow, _state, decided, proposed) in grants.items():
        amount = decided if decided is not None else (proposed or Decimal("0"))
        review = review_of.get(hid)
        if review and review[0] > pk:
            if review[2] == wf.REFUSED:
                continue
            amount = review[3] if review[3] is not None else amount
        out[hid] = (workflow, amount)
    return out
