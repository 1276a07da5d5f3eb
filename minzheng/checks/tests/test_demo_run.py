"""A batch re-check over a demo-like township: the verdict, the amount and the change label of every row come from
one computation (`verdicts`), so no row says 符合 and 拟停保 (or 0.00) at once, nor the reverse (issue 15 §1).

Before: a 特困 recipient whose household qualifies for 低保 only read "符合低保条件", 拟停保, 核对测算金额 0.00, while its
own report said 补差 2,545.29: the label was the household's best verdict, the change and amount the 特困 test's."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from minzheng.checks import services, verdicts
from minzheng.checks.models import CheckResult
from minzheng.demo import checks as check_demo
from minzheng.demo.cases import generate_cases
from minzheng.demo.population import generate_population

pytestmark = pytest.mark.django_db

PREFIX = "130722100"
AS_OF = datetime.date(2026, 11, 1)
ELIGIBLE_LABELS = {verdicts.LABELS[c] for c in verdicts.ELIGIBLE}


def test_no_batch_row_contradicts_itself(tmp_path):
    generate_population(PREFIX, 400, seed=7, as_of=datetime.date(2026, 1, 1))
    call_command("create_demo_users", prefix="1307", stdout=StringIO())
    generate_cases(40, seed=3, today=AS_OF)
    check_demo.generate_check_data(PREFIX, as_of=AS_OF, seed=3, out_dir=tmp_path / "checks")
    run = services.start_batch(None, PREFIX, datetime.date(2027, 1, 1), enqueue=False)
    services.run_batch(run.pk)
    rows = list(CheckResult.objects.filter(run=run).order_by("id"))
    assert len(rows) >= 5
    seen = set()
    for r in rows:
        label, new = r.verdict_label, r.new_amount
        seen.add(r.verdict)
        if label in ELIGIBLE_LABELS:
            assert r.change != CheckResult.Change.STOP, (r.household.number, label)
            assert new is not None and new > 0, (r.household.number, label, new)
            # The amount shown is the amount the verdict stands for (the report's 补差).
            if r.amount is not None:
                assert new == r.amount
                assert r.amount == (r.tekun_amount if r.benefit == "tekun" else r.dibao_amount)
        elif r.change in (CheckResult.Change.NOT_CHECKED, CheckResult.Change.UNDECIDED):
            assert new is None and not r.eligible
        else:
            assert r.change == CheckResult.Change.STOP, (r.household.number, label, r.change)
            assert new == Decimal("0.00")
    # The demo's township has 特困 recipients who now qualify for 低保 only: the case that contradicted itself.
    assert seen & {"tekun_to_dibao", "dibao"}


@pytest.mark.parametrize(
    ("flags", "benefit", "code", "amount"),
    [
        ({"dibao": True}, "tekun", "tekun_to_dibao", Decimal("214.81")),
        ({"dibao": True}, "dibao", "dibao", Decimal("214.81")),
        ({"dibao": True, "tekun": True}, "dibao", "dibao", Decimal("214.81")),
        ({"dibao": True, "tekun": True}, "tekun", "tekun", Decimal("900.00")),
        ({"dibao": True, "tekun_pending": True}, "tekun", "tekun_pending", None),
        ({"edge": True}, "dibao", "edge", Decimal("0.00")),
        ({"configured": False}, "dibao", "unconfigured", None),
        ({"authorisation_id": None}, "dibao", "not_checked", None),
    ],
)
def test_the_verdict_and_its_amount_are_one(flags, benefit, code, amount):
    h = {
        "authorisation_id": 1,
        "configured": True,
        "n": 2,
        "dibao": False,
        "tekun": False,
        "tekun_pending": False,
        "edge": False,
        "rigid": False,
        "dibao_amount": 21481,
        "tekun_amount": 90000,
        **flags,
    }
    verdict = verdicts.judge(h, benefit)
    assert (verdict.code, verdict.amount) == (code, amount)
    change, _diff, new = verdicts.change(verdict, Decimal("300.00"))
    if verdict.eligible:
        assert change != "stop" and new is not None and new > 0
    elif verdict.eligible is False:
        assert (change, new) == ("stop", Decimal("0.00"))
    else:
        assert new is None and change in ("not_checked", "undecided")
