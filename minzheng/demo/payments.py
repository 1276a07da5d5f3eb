"""Demo payments (issue 17): the demo's approved households paid for the past months, read from what the other
generators left in the database. Rolls in every state — returned (all paid), returned with failures and a
supplementary roll (补发批次) after a corrected account, exported, approved, and this month's prepared roll with held
lines; a recipient's death that turns a payment into a recovery (追回); reviews due and overdue; one 渐退 household.
Everything goes through the services an officer would use (maker "county", checker "county2")."""

import datetime
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from stdnum import luhn

from minzheng.accounts.models import User
from minzheng.accounts.roles import Role
from minzheng.benefits import bankfiles, reviews, rolls, settlement
from minzheng.benefits.kinds import TYPES
from minzheng.benefits.models import Entitlement, LineState, PaymentLine, PaymentRoll, Status
from minzheng.cases import services as cases
from minzheng.core.months import add_months, first_of_month
from minzheng.regions.models import Region
from minzheng.registry.models import Household, Membership, Person

CHECKER = "county2"
BANKS = (("中国农业银行", "622848"), ("中国邮政储蓄银行", "621799"), ("农村信用社", "622858"))


@dataclass
class PaymentDemo:
    rolls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _card(rng: random.Random, bin_: str) -> str:
    body = bin_ + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn.calc_check_digit(body)


def _checker(maker: User) -> User:
    from minzheng.demo.management.commands.create_demo_users import DEMO_PASSWORD

    user, created = User.objects.get_or_create(
        username=CHECKER,
        defaults={"role": Role.COUNTY_APPROVER, "region": maker.region, "last_name": "县级", "first_name": "复核员"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _accounts(rng: random.Random, households: list[Household], leave_without: int) -> None:
    """一卡通 accounts for the recipients that have none (the population demo gives one to a tenth of households);
    a few are left without, so the roll holds them."""
    missing = [h for h in households if not h.bank_account]
    for h in missing[leave_without:]:
        name, bin_ = BANKS[rng.randrange(len(BANKS))]
        h.bank_name, h.bank_account = name, _card(rng, bin_)
        h.account_holder = h.head.name if h.head_id else ""
        h.save(update_fields=["bank_name", "bank_account", "account_holder"])


def _return(checker, roll: PaymentRoll, failures: dict[int, str]) -> None:
    lay = bankfiles.layout(roll.layout)
    rows = list(settlement.export_rows(roll, lay))
    settlement.import_return(checker, roll.pk, bankfiles.return_template(lay, rows, failures), "回盘.csv")


def _resolve_all(maker, roll_ids: list[int]) -> None:
    for line in PaymentLine.objects.filter(roll_id__in=roll_ids, state=LineState.HELD):
        release = "deceased" not in line.hold_reasons
        rolls.resolve_line(
            maker, line.pk, release=release, note="演示：已入户核实" if release else "演示：领取人已死亡，停发"
        )


def _recipient_living_alone(roll_ids: list[int]) -> int | None:
    """A person paid a monthly benefit in these rolls who lives alone (a one-off benefit has no month after)."""
    monthly = [code for code, t in TYPES.items() if not t.one_off]
    for person, household in (
        PaymentLine.objects.filter(roll_id__in=roll_ids, benefit__in=monthly, state=LineState.PENDING)
        .order_by("id")
        .values_list("person_id", "household_id")
    ):
        if Membership.objects.filter(household_id=household, left_on__isnull=True).count() == 1:
            return person
    return None


def _prepare(maker, county: str, month: datetime.date) -> list[int]:
    run = rolls.start_preparation(maker, county, month, enqueue=False)
    rolls.prepare(run.pk)
    return list(PaymentRoll.objects.filter(run=run).values_list("pk", flat=True))


def generate_payment_data(prefix: str, seed: int = 1, today: datetime.date | None = None) -> PaymentDemo:
    rng = random.Random(seed)
    today = today or timezone.localdate()
    result = PaymentDemo()
    maker = User.objects.filter(username="county", role=Role.COUNTY_APPROVER).select_related("region").first()
    if maker is None:
        result.notes.append("没有演示县级账户 county：请先运行 create_demo_users")
        return result
    checker = _checker(maker)
    county = maker.region.code
    low, high = Region.objects.by_code(county).subtree_range()
    ents = Entitlement.objects.filter(region_id__gte=low, region_id__lte=high).exclude(status=Status.STOPPED)
    if not ents.exists():
        result.notes.append("辖区内没有在享待遇的家庭：请先运行 generate_cases")
        return result
    households = list(Household.objects.filter(pk__in=ents.values("household_id")).select_related("head"))
    _accounts(rng, households, leave_without=2)
    this_month = first_of_month(today)
    months = [add_months(this_month, k) for k in (-4, -3, -2, -1)]
    # A recipient living alone, paid in the second month, turns out to have died the month before: the next roll
    # holds their line (stopped) and turns the month paid after the death into a recovery (追回).
    for i, month in enumerate(months):
        with transaction.atomic():
            ids = _prepare(maker, county, month)
            if i == 1:
                dead = _recipient_living_alone(ids)
                if dead is not None:
                    Person.objects.filter(pk=dead).update(deceased_on=add_months(month, -1).replace(day=12))
            _resolve_all(maker, ids)
            for roll_id in ids:
                rolls.approve(checker, roll_id)
            if i <= 2:
                for roll_id in ids:
                    settlement.export(checker, roll_id, "psbc_csv" if i % 2 else "abc_fixed")
            if i <= 1:
                # Two lines of the second month's largest roll come back failed (whatever benefit it pays).
                largest = max(ids, key=lambda pk: PaymentRoll.objects.get(pk=pk).lines_count, default=None)
                for roll_id in ids:
                    roll = PaymentRoll.objects.get(pk=roll_id)
                    failures = {}
                    if i == 1 and roll_id == largest:
                        lines = list(roll.lines.filter(state=LineState.APPROVED).order_by("id")[:2])
                        failures = dict(
                            zip((line.pk for line in lines), ("账户已销户", "户名与账号不符"), strict=False)
                        )
                    _return(checker, roll, failures)
        result.rolls[f"{month:%Y-%m}"] = len(ids)
    failed = list(PaymentLine.objects.filter(state=LineState.FAILED, roll__county_id=county).order_by("id"))
    if failed:
        line = failed[0]
        name, bin_ = BANKS[0]
        settlement.correct_account(
            maker, line.pk, bank_name=name, bank_account=_card(rng, bin_), account_holder=line.recipient_name
        )
        extra = rolls.supplementary(maker, line.roll.county_id, line.benefit, [line.pk], today=today)
        _resolve_all(maker, [extra.pk])
        rolls.approve(checker, extra.pk)
        settlement.export(checker, extra.pk, "generic_csv")
        _return(checker, PaymentRoll.objects.get(pk=extra.pk), {})
        result.notes.append(f"补发批次：{extra.title}；另有 {len(failed) - 1} 笔发放失败待处理")
    # This month's roll: prepared, held lines waiting for an officer.
    _prepare(maker, county, this_month)
    result.rolls[f"{this_month:%Y-%m}"] = PaymentRoll.objects.filter(month=this_month, county_id=county).count()
    _reviews(rng, maker, county, today, result)
    return result


def _reviews(rng, maker, county: str, today: datetime.date, result: PaymentDemo) -> None:
    """Reviews due and overdue (the schedule's dates moved to show both), and one household in 渐退期."""
    ents = list(
        Entitlement.objects.filter(
            region_id__gte=county[:6] + "000000",
            region_id__lte=county[:6] + "999999",
            benefit="dibao",
            status=Status.ACTIVE,
        ).order_by("id")[:8]
    )
    for k, ent in enumerate(ents[:6]):
        due = today + datetime.timedelta(days=(-20 - 10 * k) if k < 3 else (5 + 5 * k))
        Entitlement.objects.filter(pk=ent.pk).update(next_review=due)
    if len(ents) < 7:
        return
    ent = ents[6]
    township = ent.region_id[:9] + "000"
    clerk = (
        User.objects.filter(role=Role.CLERK, region_id=township).first() or User.objects.filter(role=Role.CLERK).first()
    )
    reviewer = (
        User.objects.filter(role=Role.TOWNSHIP_REVIEWER, region_id=township).first()
        or User.objects.filter(role=Role.TOWNSHIP_REVIEWER).first()
    )
    if clerk is None or reviewer is None or not clerk.region.contains(ent.region_id):
        result.notes.append("演示乡镇账户不在该家庭所在乡镇，未生成渐退家庭")
        return
    case = reviews.open_review(maker, ent.household_id, due_on=None, note="演示：成员就业后复核", today=today)
    cases.act(clerk, case.pk, "start_investigation", investigators=["张工作", "李工作"], today=today)
    # The review's proposal stands on a 信息核对 (issue 15 §1): requested and recorded (a paper result) before it.
    cases.act(reviewer, case.pk, "request_check", today=today)
    cases.act(
        reviewer,
        case.pk,
        "record_check",
        manual=True,
        summary="核对：长子在县城就业，有工资收入，未见其他异常",
        today=today,
    )
    cases.act(
        clerk,
        case.pk,
        "complete_investigation",
        findings="长子已在县城就业，家庭收入超过标准",
        today=today,
        visit_date=today.isoformat(),
    )
    cases.act(reviewer, case.pk, "first_review", opinion="approve", amount=str(ent.amount), today=today)
    amount = max(ent.amount / 2, 1)
    cases.act(
        maker,
        case.pk,
        "taper",
        amount=f"{amount:.2f}",
        months=3,
        reasons="家庭成员就业，收入超过低保标准，给予渐退期",
        today=today,
    )
    result.notes.append(f"渐退家庭：{case.household.number}（复核案件 {case.number}）")
