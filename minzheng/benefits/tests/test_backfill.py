"""Cases approved before the benefits app existed get the entitlement the decision would have created, once."""

import datetime
import io

from django.core.management import call_command

from minzheng.benefits import backfill
from minzheng.benefits.models import Entitlement, EntitlementVersion

D = datetime.date


def _forget(case):
    """The database as it was before the benefits app: the decision, no entitlement."""
    EntitlementVersion.objects.filter(entitlement__decision=case).delete()
    Entitlement.objects.filter(decision=case).delete()


def test_backfill_creates_the_missing_entitlement_once(apply, approve_case, standards):
    case = approve_case(apply(), amount="300")
    live = Entitlement.objects.get(decision=case)
    expected = (live.benefit, live.amount_fen, live.start_month, live.breakdown, live.household_id)
    _forget(case)

    result = backfill.derive_missing(today=D(2025, 9, 15))
    assert result == {"created": 1, "skipped": []}
    ent = Entitlement.objects.get(decision=case)
    assert (ent.benefit, ent.amount_fen, ent.start_month, ent.breakdown, ent.household_id) == expected
    # April–August were the old system's to pay: the first roll (September) pays September, no 补发.
    assert ent.settled_through == D(2025, 8, 1)
    assert ent.parameters["backfill"] == {"on": "2025-09-15", "settled_outside_through": "2025-08-01"}
    assert ent.versions.count() == 1

    assert backfill.derive_missing(today=D(2025, 9, 15)) == {"created": 0, "skipped": []}
    out = io.StringIO()
    call_command("derive_entitlements", stdout=out)
    assert "新建救助待遇 0 项" in out.getvalue()
    assert Entitlement.objects.filter(decision=case).count() == 1


def test_backfill_of_a_decision_this_month_leaves_arrears_to_the_roll(apply, approve_case, standards):
    case = approve_case(apply(), amount="300")
    _forget(case)
    backfill.derive_missing(today=D(2025, 4, 2))
    assert Entitlement.objects.get(decision=case).settled_through is None


def test_migrate_runs_the_backfill(apply, approve_case, standards):
    case = approve_case(apply(), amount="300")
    _forget(case)
    backfill.after_migrate(sender=None, using="default")
    assert Entitlement.objects.filter(decision=case).count() == 1
