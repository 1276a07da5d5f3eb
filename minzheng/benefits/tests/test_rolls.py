"""Monthly rolls (issue 17 §2): preparation, pre-payment checks, maker–checker, freezing, bank file and return."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from minzheng.benefits import bankfiles, rolls, settlement
from minzheng.benefits.models import LineState, PaymentLine, PaymentRoll, Recovery, RollRun
from minzheng.conftest import COUNTY
from minzheng.core.errors import DomainError, PermissionDeniedError
from minzheng.core.models import AuditEntry

D = datetime.date


def prepare(user, month, region=COUNTY, **kw) -> RollRun:
    run = rolls.start_preparation(user, region, month, enqueue=False)
    return rolls.prepare(run.pk, **kw)


@pytest.fixture
def paid_household(apply, approve_case, standards, bank):
    return approve_case(apply())


def test_roll_pays_from_start_month_with_arrears(paid_household, county_officers):
    maker, _ = county_officers
    run = prepare(maker, "2025-06")
    roll = PaymentRoll.objects.get(run=run)
    lines = list(roll.lines.order_by("month"))
    # Started April, first roll in June: April and May owed (补发), June regular; 300.00 each.
    assert [(line.month, line.kind) for line in lines] == [
        (D(2025, 4, 1), "arrears"),
        (D(2025, 5, 1), "arrears"),
        (D(2025, 6, 1), "regular"),
    ]
    assert roll.total == Decimal("900.00") and roll.held_count == 0
    assert run.stats["regular_lines"] == 1 and run.stats["arrears_lines"] == 2


def test_preparing_twice_gives_the_same_roll(paid_household, county_officers):
    maker, _ = county_officers
    first = prepare(maker, "2025-06")
    roll = PaymentRoll.objects.get(run=first)
    digest = rolls.content_hash(roll.pk)
    second = prepare(maker, "2025-06")
    again = PaymentRoll.objects.get(run=second)
    assert again.pk == roll.pk and rolls.content_hash(again.pk) == digest
    assert PaymentLine.objects.filter(roll=roll).count() == 3


@pytest.mark.parametrize("step", ["rolls", "regular", "holds"])
def test_preparation_failing_midway_leaves_nothing(paid_household, county_officers, step):
    maker, _ = county_officers
    run = rolls.start_preparation(maker, COUNTY, "2025-06", enqueue=False)
    with pytest.raises(RuntimeError):
        rolls.prepare(run.pk, fail_after=step)
    assert not PaymentRoll.objects.exists() and not PaymentLine.objects.exists()
    assert RollRun.objects.get(pk=run.pk).status == RollRun.Status.FAILED


def test_maker_checker_and_freeze(paid_household, county_officers, make_user):
    maker, checker = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    with pytest.raises(PermissionDeniedError):
        rolls.approve(maker, roll.pk)
    township = make_user("township_reviewer")
    with pytest.raises(PermissionDeniedError):
        rolls.approve(township, roll.pk)
    roll = rolls.approve(checker, roll.pk)
    assert roll.state == PaymentRoll.State.APPROVED and rolls.verify(roll)
    entry = AuditEntry.objects.filter(
        object_type="payment_roll", object_id=str(roll.pk), detail__action="approve"
    ).get()
    assert entry.detail["lines_hash"] == roll.lines_hash and entry.detail["total_fen"] == 90000
    assert set(roll.lines.values_list("state", flat=True)) == {LineState.APPROVED}
    # Frozen: changing a line breaks the hash; preparing the month again skips the approved roll.
    PaymentLine.objects.filter(roll=roll).update(amount_fen=1)
    assert not rolls.verify(roll)
    run = prepare(maker, "2025-06")
    assert run.stats["skipped_rolls"] == [roll.pk]


def test_missing_account_holds_until_released(apply, approve_case, standards, county_officers):
    maker, checker = county_officers
    approve_case(apply())  # no bank account on the household
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-04"))
    line = roll.lines.get()
    assert line.state == LineState.HELD and line.hold_reasons == "no_account"
    assert roll.held_count == 1 and roll.total_fen == 0
    with pytest.raises(DomainError):
        rolls.approve(checker, roll.pk)
    PaymentRoll.objects.filter(pk=roll.pk).update(state="prepared")
    rolls.resolve_line(maker, line.pk, release=True, note="已核实，现金发放")
    roll.refresh_from_db()
    assert roll.total_fen == 30000
    with pytest.raises(PermissionDeniedError):  # who resolved a held line is a maker too
        rolls.approve(maker, roll.pk)
    assert rolls.approve(checker, roll.pk).state == "approved"


def test_prepayment_checks_hold_each_reason(apply, approve_case, standards, bank, county_officers, make_snapshot):
    maker, _ = county_officers
    case = approve_case(apply())
    head = case.household.head
    member = case.household.current_memberships().exclude(person=head).first().person
    make_snapshot(
        "public_payroll",
        [{"id_number": member.id_number, "employer": "某局", "month": "2025-01-01"}],
        period=D(2025, 3, 1),
    )
    bank.account_holder = "别人"
    bank.save()
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-04"))
    line = roll.lines.get()
    assert set(line.hold_reasons.split(",")) == {"public_payroll", "holder_mismatch"}


def test_death_of_recipient_holds_and_recovers(apply, approve_case, standards, bank, county_officers, make_snapshot):
    """payments.death_stop = next_month: died 2025-05-10 → May paid, June onwards held; June already paid → 追回."""
    maker, checker = county_officers
    case = approve_case(
        apply(service="tekun", received=["application", "authorisation", "pledge", "supporters", "self_care"]),
        amount="500",
        tier="self",
    )
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    rolls.approve(checker, roll.pk)
    make_snapshot(
        "civil_status",
        [{"id_number": case.applicant.id_number, "event": "death", "event_on": "2025-05-10"}],
        period=D(2025, 6, 30),
    )
    run = prepare(maker, "2025-07")
    july = PaymentRoll.objects.get(run=run)
    assert july.lines.get().hold_reasons == "deceased"
    recovery = Recovery.objects.get()
    assert recovery.line.month == D(2025, 6, 1) and recovery.amount == Decimal("500.00")
    assert recovery.state == Recovery.State.OPEN


def test_same_person_twice_in_a_month_is_held(apply, approve_case, standards, bank, county_officers):
    from minzheng.benefits.models import Entitlement

    maker, _ = county_officers
    case = approve_case(apply())
    ent = Entitlement.objects.get(decision=case)
    # A second entitlement paying the same person (a duplicate registration elsewhere), as data would show it.
    ent.pk = None
    ent.save()
    for v in Entitlement.objects.get(decision=case, pk__lt=ent.pk).versions.all():
        v.pk, v.entitlement = None, ent
        v._state.adding = True
        v.save()
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-04"))
    assert {line.hold_reasons for line in roll.lines.all()} == {"duplicate"}
    # Two months later: the owed months (compared line by line) and the roll's month (compared through the index).
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    held = sorted((line.month, line.kind, line.hold_reasons) for line in roll.lines.all())
    assert held == [
        (D(2025, m, 1), kind, "duplicate")
        for m, kind in ((4, "arrears"), (4, "arrears"), (5, "arrears"), (5, "arrears"), (6, "regular"), (6, "regular"))
    ]


@pytest.mark.parametrize("own_rule", [False, True])
def test_member_death_and_wrong_check_digit_hold_together(
    apply, approve_case, standards, bank, county_officers, make_snapshot, monkeypatch, own_rule
):
    """A member other than the recipient died (the household is to be reviewed) and the card's last digit is wrong:
    both reasons, in their fixed order. A bank whose own rule has no Luhn lengths keeps the card (per-bank rules)."""
    maker, _ = county_officers
    case = approve_case(apply())
    head = case.household.head
    member = case.household.current_memberships().exclude(person=head).first().person
    make_snapshot(
        "civil_status",
        [{"id_number": member.id_number, "event": "death", "event_on": "2025-03-02"}],
        period=D(2025, 3, 31),
    )
    bank.bank_account = bank.bank_account[:-1] + str((int(bank.bank_account[-1]) + 1) % 10)
    bank.save()
    if own_rule:
        monkeypatch.setattr(bankfiles, "luhn_lengths", lambda: {"*": (16, 19), bank.bank_name: ()})
    line = PaymentRoll.objects.get(run=prepare(maker, "2025-04")).lines.get()
    assert line.hold_reasons == ("member_deceased" if own_rule else "member_deceased,bad_account")


def _return_file(roll, lay, failures):
    rows = list(settlement.export_rows(roll, lay))
    return bankfiles.return_template(lay, rows, failures)


@pytest.mark.parametrize("layout", ["abc_fixed", "psbc_csv", "generic_xlsx", "generic_csv"])
def test_export_and_return_round_trip(paid_household, county_officers, layout):
    maker, checker = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    rolls.approve(checker, roll.pk)
    name, data, _ = settlement.export(checker, roll.pk, layout)
    lay = bankfiles.layout(layout)
    if lay.format != "xlsx":
        text = data.decode(lay.encoding)
        assert "合计" in text and ("900.00" in text or "90000" in text)
        assert paid_household.household.head.name in text
    roll.refresh_from_db()
    first = roll.lines.order_by("id").first()
    result = settlement.import_return(checker, roll.pk, _return_file(roll, lay, {first.pk: "账户已销户"}), name)
    assert (result.lines_paid, result.lines_failed) == (2, 1)
    roll.refresh_from_db()
    assert roll.state == "returned" and roll.paid == Decimal("600.00") and roll.failed_count == 1
    assert list(settlement.follow_up(checker)) == [PaymentLine.objects.get(pk=first.pk)]


def test_stopped_line_is_neither_in_the_bank_file_nor_in_its_control_count(paid_household, county_officers):
    import csv
    import io

    maker, checker = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    stopped = roll.lines.order_by("month").first()
    PaymentLine.objects.filter(pk=stopped.pk).update(state=LineState.HELD, hold_reasons="holder_mismatch")
    rolls.resolve_line(maker, stopped.pk, release=False, note="账户非本人，停发")
    rolls.approve(checker, roll.pk)
    _, data, _ = settlement.export(checker, roll.pk, "psbc_csv")
    lay = bankfiles.layout("psbc_csv")
    rows = list(csv.reader(io.StringIO(data.decode(lay.encoding))))
    control = next(row for row in rows if bankfiles.CONTROL_LABEL in row)
    lines = [row for row in rows if row and row[0].isdigit()]
    assert len(lines) == 2 and "2" in control and "600.00" in control


def test_bad_returns_change_nothing(paid_household, county_officers):
    maker, checker = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    rolls.approve(checker, roll.pk)
    settlement.export(checker, roll.pk, "generic_csv")
    lay = bankfiles.layout("generic_csv")
    good = _return_file(roll, lay, {}).decode()
    cases = {
        "wrong total": good.replace("合计,3,,900.00", "合计,3,,901.00"),
        "wrong count": good.replace("合计,3,", "合计,4,"),
        "negative": good.replace(",300.00,", ",-300.00,", 1),
        "unknown line": good.replace(f"{roll.lines.order_by('id').first().pk},", "999999999,", 1),
        "huge id": good.replace(f"{roll.lines.order_by('id').first().pk},", "99999999999999999999999,", 1),
        "no reason": good.replace("成功", "失败", 1),
        "no control": "\r\n".join(x for x in good.split("\r\n") if not x.startswith("合计")),
        "full-width id": good.replace(f"{roll.lines.order_by('id').first().pk},", "１２,", 1),
    }
    assert "合计,3,,900.00" in good
    for label, text in cases.items():
        assert text != good, label
        with pytest.raises(DomainError) as err:
            settlement.import_return(checker, roll.pk, text.encode(), label)
        assert "未导入任何结果" in err.value.message, label
    with pytest.raises(DomainError) as err:  # a GBK file where UTF-8 is declared
        settlement.import_return(checker, roll.pk, good.replace("成功", "成功").encode("gbk"), "gbk")
    assert "编码" in err.value.message
    roll.refresh_from_db()
    assert roll.state == "exported" and not roll.lines.filter(state__in=["paid", "failed"]).exists()


def test_failed_line_corrected_and_paid_in_supplementary_roll(paid_household, county_officers):
    maker, checker = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    rolls.approve(checker, roll.pk)
    settlement.export(checker, roll.pk, "psbc_csv")
    lay = bankfiles.layout("psbc_csv")
    failed = roll.lines.order_by("id").first()
    settlement.import_return(checker, roll.pk, _return_file(roll, lay, {failed.pk: "户名不符"}))
    with pytest.raises(DomainError):
        rolls.supplementary(maker, roll.county_id, "dibao", [failed.pk])
    from stdnum import luhn

    body = "621799" + "000011112222"
    settlement.correct_account(
        maker,
        failed.pk,
        bank_name="中国邮政储蓄银行",
        bank_account=body + luhn.calc_check_digit(body),
        account_holder=failed.recipient_name,
    )
    extra = rolls.supplementary(maker, roll.county_id, "dibao", [failed.pk], today=D(2025, 7, 2))
    assert extra.kind == "supplementary" and extra.seq == 1 and extra.lines_count == 1
    new = extra.lines.get()
    assert new.bank_account.startswith("621799") and new.month == failed.month and new.state == "pending"
    assert PaymentLine.objects.get(pk=failed.pk).state == LineState.REISSUED
    rolls.approve(checker, extra.pk)
    assert PaymentLine.objects.filter(entitlement=failed.entitlement, month=failed.month, state="approved").count() == 1


def test_household_page_links_a_roll_only_for_those_who_may_open_it(paid_household, county_officers, client, make_user):
    """A township reviewer reads the household's payment lines but not the county's roll: its title is plain text,
    not a link to a page that would answer 「记录不存在」. The county officer gets the link, and it opens."""
    maker, _ = county_officers
    roll = PaymentRoll.objects.get(run=prepare(maker, "2025-06"))
    url = reverse("registry:household", args=[paid_household.household_id])
    link = f'href="{reverse("benefits:roll", args=[roll.pk])}"'
    client.force_login(make_user("township_reviewer"))
    page = client.get(url).content.decode()
    assert roll.title in page and link not in page
    assert client.get(reverse("benefits:roll", args=[roll.pk])).status_code == 404
    client.force_login(maker)
    assert link in client.get(url).content.decode()
    assert client.get(reverse("benefits:roll", args=[roll.pk])).status_code == 200
