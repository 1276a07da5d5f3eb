"""A line can never be paid twice: two rolls holding the same entitlement-month approved at the same moment by two
officers on real threads — the database's unique constraint lets exactly one through (SQLite and PostgreSQL)."""

import datetime
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from minzheng.benefits import rolls
from minzheng.benefits.models import LineState, PaymentLine, PaymentRoll
from minzheng.conftest import COUNTY

D = datetime.date


def test_database_refuses_a_second_committed_line(apply, approve_case, standards, bank, county_officers):
    maker, checker = county_officers
    approve_case(apply())
    run = rolls.start_preparation(maker, COUNTY, "2025-04", enqueue=False)
    rolls.prepare(run.pk)
    roll = rolls.approve(checker, PaymentRoll.objects.get(run=run).pk)
    line = roll.lines.get()
    line.pk, line.state = None, LineState.APPROVED
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


def test_two_concurrent_approvals_pay_once(regions, make_user, household_data, set_params):
    from minzheng.benefits.models import Entitlement, EntitlementVersion
    from minzheng.cases.models import Case
    from minzheng.policy.models import ServiceItem
    from minzheng.registry import services as registry

    clerk = make_user("clerk")
    a, b, c = (make_user("county_approver", username=n) for n in ("prep", "appr1", "appr2"))
    household = registry.create_household(clerk, household_data())
    case = Case.objects.create(
        number="MZT1",
        service=ServiceItem.objects.get(code="dibao"),
        household=household,
        applicant=household.head,
        region=household.region,
        channel="window",
        submitted_on=D(2025, 3, 1),
        state="approved",
        created_by=clerk,
        decided_amount=300,
    )
    ent = Entitlement.objects.create(
        benefit="dibao",
        household=household,
        region=household.region,
        amount_fen=30000,
        start_month=D(2025, 4, 1),
        decision=case,
        last_decision=case,
    )
    EntitlementVersion.objects.create(
        entitlement=ent,
        effective_from=D(2025, 4, 1),
        status="active",
        amount_fen=30000,
        decision=case,
        action="approve",
    )
    made = []
    for seq in (1, 2):  # two prepared rolls both holding April (e.g. two supplementary batches made at once)
        roll = PaymentRoll.objects.create(
            county_id=COUNTY, benefit="dibao", month=D(2025, 7, 1), kind="supplementary", seq=seq, prepared_by=a
        )
        PaymentLine.objects.create(
            roll=roll,
            entitlement=ent,
            household=household,
            person=household.head,
            region=household.region,
            benefit="dibao",
            month=D(2025, 4, 1),
            amount_fen=30000,
            recipient_name=household.head.name,
            recipient_id_number=household.head.id_number,
        )
        rolls.refresh_totals([roll.pk])
        made.append(roll)
    results, barrier = [], threading.Barrier(2)

    def approve(user, roll_id):
        try:
            barrier.wait()
            rolls.approve(user, roll_id)
            results.append("ok")
        except Exception as exc:  # the loser: Conflict (paid_twice) or a lock timeout turned Conflict
            results.append(getattr(exc, "code", type(exc).__name__))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u, r.pk)) for u, r in ((b, made[0]), (c, made[1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "paid_twice"]
    assert PaymentLine.objects.filter(entitlement=ent, month=D(2025, 4, 1), state="approved").count() == 1
    assert sorted(PaymentRoll.objects.values_list("state", flat=True)) == ["approved", "prepared"]
