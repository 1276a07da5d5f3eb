"""Every warning rule with its worked case and a negative case, the four outcomes, the county's rule parameters,
duplicate suppression, scope and the working-day deadlines of the follow-up tasks (issue 5 §3)."""

import datetime

import pytest
from django.utils import timezone

from minzheng.checks.models import Authorisation, CheckResult, CheckRun
from minzheng.conftest import COUNTY, OTHER_COUNTY, OTHER_COUNTY_VILLAGE, OTHER_TOWNSHIP, OTHER_VILLAGE
from minzheng.core.errors import DomainError, NotFound, PermissionDeniedError
from minzheng.core.workdays import add_working_days
from minzheng.exchange.sources import CATEGORIES
from minzheng.monitoring import rules, services
from minzheng.monitoring.models import Alert, Category, EntrySource, MonitoredEntry, Sweep
from minzheng.registry.models import Person

from .conftest import AS_OF, D, ids

DEATH_ON = D(2026, 10, 20)
CHECKED = D(2026, 10, 1)
SETTLED = D(2026, 9, 15)


def only(alerts, **filters) -> Alert:
    found = alerts(**filters)
    assert len(found) == 1, [(a.rule, a.suggested_outcome, a.summary) for a in found]
    return found[0]


def set_disability(number: str, grade: int, category: str = "physical") -> None:
    Person.objects.filter(id_number=number).update(disability_category=category, disability_grade=grade)


def check_result(household, *, kind=CheckRun.Kind.SINGLE, status=CheckRun.Status.COMPLETE, as_of=CHECKED, **f):
    """A check result of its own run; authorised (as a real check is) unless it is "not checked"."""
    run = CheckRun.objects.create(kind=kind, region_id=COUNTY, as_of=as_of, status=status)
    if f.get("change") != CheckResult.Change.NOT_CHECKED:
        f.setdefault("authorisation", authorisation(household))
    return CheckResult.objects.create(run=run, household=household, region_id=household.region_id, **f)


def authorisation(household) -> Authorisation:
    auth = Authorisation.objects.create(
        household=household, categories=list(CATEGORIES), signed_on=D(2025, 1, 1), valid_until=D(2027, 12, 31)
    )
    auth.persons.set([m.person_id for m in household.current_memberships()])
    return auth


def test_every_rule_has_a_name_and_a_feed():
    feeds = {feed for _name, feed in rules.RULES.values()}
    assert feeds == {*rules.FEED_COLUMNS, "check"}
    assert all(name for name, _feed in rules.RULES.values())


# --- death_member ------------------------------------------------------------------------------------------------


def test_death_in_a_dibao_household_stops_with_a_recheck_due_within_the_parameter_months(
    make_household, monitor, signal, sweep, alerts
):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    s = sweep()
    assert s.status == Sweep.Status.COMPLETE, s.error
    a = only(alerts)
    assert (a.rule, a.suggested_outcome, a.level, a.status) == ("death_member", "stop", "village", "open")
    assert a.household_id == h.pk and a.person.id_number == ids(h)[1] and a.region_id == h.region_id
    assert a.signal_on == DEATH_ON and a.action_due_on == D(2027, 1, 20)  # 3 months (national default)
    assert a.summary.startswith("低保家庭成员死亡") and "成员" in a.summary and "2026-10-20" in a.summary
    assert a.detail["service"] == "dibao_review" and a.detail["category"] == "dibao"
    assert a.evidence == [{"source": "civil_status", "snapshot": a.evidence[0]["snapshot"], "row_no": 1}]
    assert s.stats["by_rule"] == {"death_member": 1}


def test_post_death_review_months_is_the_county_value(make_household, monitor, signal, sweep, alerts, set_params):
    set_params(dibao__post_death_review_months=2)
    h = make_household()
    monitor(h, "tekun")
    signal("civil_status", h, 0, event="death", event_on=D(2026, 10, 31))
    sweep()
    assert only(alerts).action_due_on == D(2026, 12, 31)


def test_death_outside_the_monitored_population_raises_nothing(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    s = sweep()
    assert alerts() == [] and s.stats["matched"] == 1 and s.stats["warnings"] == 0


def test_death_in_an_edge_household_is_a_warning_without_a_recheck_deadline(
    make_household, monitor, signal, sweep, alerts
):
    h = make_household()
    monitor(h, "edge")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    a = only(alerts)
    assert a.rule == "death_member" and a.action_due_on is None and a.summary.startswith("低保边缘家庭成员死亡")


# --- registration_change -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["move_out", "imprisoned", "drug_rehab", "missing"])
def test_registration_change_of_a_recipient_household_member_stops(
    make_household, monitor, signal, sweep, alerts, event
):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 2, event=event, event_on=D(2026, 9, 1))
    sweep()
    a = only(alerts)
    assert (a.rule, a.suggested_outcome) == ("registration_change", "stop")
    assert a.detail["service"] == "dibao_review"


def test_registration_change_outside_recipient_households_raises_nothing(
    make_household, monitor, signal, sweep, alerts
):
    edge, free = make_household(), make_household()
    monitor(edge, "edge")
    signal("civil_status", edge, 1, event="move_out", event_on=D(2026, 9, 1))
    signal("civil_status", free, 1, event="imprisoned", event_on=D(2026, 9, 1))
    sweep()
    assert alerts() == []


# --- employed / unemployed ---------------------------------------------------------------------------------------


def test_employment_of_a_dibao_member_suggests_stop(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    signal("employment", h, 1, status="employed", registered_on=D(2026, 10, 8), employer="某公司")
    sweep()
    a = only(alerts)
    assert (a.rule, a.suggested_outcome) == ("employed", "stop") and "就业登记" in a.summary


@pytest.mark.parametrize("category", ["tekun", "edge", None])
def test_employment_outside_dibao_raises_nothing(make_household, monitor, signal, sweep, alerts, category):
    h = make_household()
    if category:
        monitor(h, category)
    signal("employment", h, 1, status="employed", registered_on=D(2026, 10, 8))
    sweep()
    assert alerts() == []


def test_unemployment_in_a_monitored_household_applies_employment_assistance(
    make_household, monitor, signal, sweep, alerts
):
    h = make_household()
    monitor(h, "rigid")
    signal("employment", h, 0, status="unemployed", registered_on=D(2026, 10, 8))
    sweep()
    a = only(alerts)
    assert (a.rule, a.suggested_outcome) == ("unemployed", "apply")
    assert a.detail["department"] == "employment" and a.summary.startswith("刚性支出困难家庭成员办理失业登记")


def test_unemployment_outside_the_monitored_population_raises_nothing(make_household, signal, sweep, alerts):
    h = make_household()
    signal("employment", h, 0, status="unemployed", registered_on=D(2026, 10, 8))
    signal("employment", h, 1, status="ended", registered_on=D(2026, 10, 9))
    sweep()
    assert alerts() == []


# --- medical_high ------------------------------------------------------------------------------------------------


def medical(signal, h, member, amount, on=SETTLED):
    return signal(
        "medical", h, member, settled_on=on, total_cost=amount * 3, fund_paid=amount * 2, out_of_pocket=amount
    )


def test_medical_costs_over_the_amount(make_household, monitor, make_snapshot, sweep, alerts, set_params):
    set_params(monitoring__medical_amount="5000")
    recipient, free, low = make_household(), make_household(), make_household()
    monitor(recipient, "dibao")
    rows = [
        # Two members of the recipient household: their costs add up (3000 + 2000.50).
        {"id_number": ids(recipient)[0], "settled_on": D(2026, 5, 1), "total_cost": 9000, "fund_paid": 6000,
         "out_of_pocket": "3000.00"},
        {"id_number": ids(recipient)[1], "settled_on": D(2026, 8, 1), "total_cost": 5000, "fund_paid": 2999.5,
         "out_of_pocket": "2000.50"},
        # A household nobody monitors: exactly the amount.
        {"id_number": ids(free)[2], "settled_on": D(2026, 10, 1), "total_cost": 9000, "fund_paid": 4000,
         "out_of_pocket": "5000.00"},
        # Under the amount within the 12 months; the older cost is outside the look-back.
        {"id_number": ids(low)[0], "settled_on": D(2026, 10, 1), "total_cost": 9000, "fund_paid": 5000,
         "out_of_pocket": "4000.00"},
        {"id_number": ids(low)[1], "settled_on": D(2025, 11, 1), "total_cost": 9000, "fund_paid": 5000,
         "out_of_pocket": "4000.00"},
    ]  # fmt: skip
    make_snapshot("medical", rows, period=D(2026, 10, 31))
    sweep()
    a = only(alerts, household=recipient)
    assert (a.rule, a.suggested_outcome) == ("medical_high", "apply")
    assert a.detail["amount"] == "5,000.50" and a.detail["service"] == "temp_expense" and "5,000.50元" in a.summary
    b = only(alerts, household=free)
    assert (b.rule, b.suggested_outcome) == ("medical_high", "enrol")
    assert alerts(household=low) == []


def test_medical_costs_without_any_threshold_configured_raise_nothing(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    medical(signal, h, 0, 500000)
    s = sweep()
    assert alerts() == [] and s.stats["matched"] == 1


def test_medical_costs_over_the_share_of_yearly_income(make_household, monitor, signal, sweep, alerts, set_params):
    """Share test: the household's latest check counted 1000 元/月 → 12000 元/年; half of it is 6000 元."""
    set_params(monitoring__medical_share_of_income="0.5")
    over, under, unchecked, no_income = make_household(), make_household(), make_household(), make_household()
    for h in (over, under):
        check_result(h, counted_income="1000.00")
    check_result(no_income, counted_income="0.00")
    medical(signal, over, 0, 6000)
    medical(signal, under, 0, 5999)
    medical(signal, unchecked, 0, 100000)  # no check, no income: the share test cannot say anything
    medical(signal, no_income, 0, 50)  # no counted income: a small bill is not "half of it"
    sweep()
    a = only(alerts)
    assert a.household_id == over.pk and a.suggested_outcome == "enrol" and "家庭年收入约12,000.00元" in a.summary


def test_medical_share_uses_the_latest_finished_check(make_household, signal, sweep, alerts, set_params):
    set_params(monitoring__medical_share_of_income="1/3")
    h = make_household()
    check_result(h, counted_income="100.00", as_of=D(2025, 1, 1))
    check_result(h, counted_income="1000.00")  # latest: 12000 a year → a third is 4000
    check_result(h, counted_income="1.00", status=CheckRun.Status.FAILED)  # crashed run: not visible
    medical(signal, h, 0, 3999)
    sweep()
    assert alerts() == []
    medical(signal, h, 1, 4000)
    sweep()
    assert only(alerts).rule == "medical_high"


def test_medical_costs_are_summed_over_the_delivery_covering_the_look_back(
    make_household, make_snapshot, sweep, alerts, set_params
):
    """A medical delivery covers the whole look-back (as for the checking engine, which reads the newest snapshot as the
    truth): a second month's delivery repeats the first month's settlements, and the sum over it crosses the line."""
    set_params(monitoring__medical_amount="5000")
    h = make_household()
    number = ids(h)[0]

    def row(on):
        return {"id_number": number, "settled_on": on, "total_cost": 9000, "fund_paid": 6000, "out_of_pocket": 3000}

    make_snapshot("medical", [row(D(2026, 8, 15))], period=D(2026, 8, 31))
    sweep()
    assert alerts() == []
    make_snapshot("medical", [row(D(2026, 8, 15)), row(D(2026, 9, 15))], period=D(2026, 9, 30))
    sweep()
    assert [a.rule for a in alerts()] == ["medical_high"], "3000 + 3000 within 12 months is over 5000"


# --- disability_new ----------------------------------------------------------------------------------------------


def certificate(signal, h, member, grade):
    return signal(
        "disability", h, member, certificate_no=f"C{member}{grade}", category="physical", grade=str(grade),
        issued_on=D(2026, 10, 1),
    )  # fmt: skip


def test_new_severe_certificate_for_anyone_applies(make_household, signal, sweep, alerts):
    h = make_household()
    certificate(signal, h, 1, 2)
    sweep()
    a = only(alerts)
    assert (a.rule, a.suggested_outcome) == ("disability_new", "apply")
    assert a.detail["service"] == "disability_care" and a.detail["department"] == "disabled" and "二级" in a.summary


def test_new_light_certificate_concerns_only_monitored_households(make_household, monitor, signal, sweep, alerts):
    free, watched = make_household(), make_household()
    monitor(watched, "edge")
    certificate(signal, free, 1, 3)
    certificate(signal, watched, 1, 3)
    sweep()
    a = only(alerts)
    assert a.household_id == watched.pk and a.detail["service"] == "disability_living"


def test_certificate_compared_with_the_registry_grade(make_household, monitor, signal, sweep, alerts):
    same, worse, lighter = make_household(), make_household(), make_household()
    for h in (same, worse, lighter):
        monitor(h, "dibao")
    set_disability(ids(same)[0], 2)
    set_disability(ids(worse)[0], 3)
    set_disability(ids(lighter)[0], 2)
    certificate(signal, same, 0, 2)  # renewed, same grade: nothing new
    certificate(signal, worse, 0, 2)  # grade 3 → 2: more severe
    certificate(signal, lighter, 0, 4)  # less severe: nothing to apply
    sweep()
    a = only(alerts)
    assert a.household_id == worse.pk and a.rule == "disability_new" and a.suggested_outcome == "apply"


# --- dropout / student_aid ---------------------------------------------------------------------------------------


def test_dropout_applies_for_monitored_and_enrols_otherwise(make_household, monitor, signal, sweep, alerts):
    watched, free = make_household(), make_household()
    monitor(watched, "dibao")
    for h in (watched, free):
        signal("student", h, 2, status="dropout", stage="junior", event_on=D(2026, 9, 20))
    sweep()
    a, b = only(alerts, household=watched), only(alerts, household=free)
    assert (a.rule, a.suggested_outcome, b.rule, b.suggested_outcome) == ("dropout", "apply", "dropout", "enrol")
    assert "初中" in a.summary and b.detail["service"] == "dibao" and a.detail["department"] == "education"


def test_student_aid_enrols_a_household_receiving_nothing(make_household, monitor, signal, sweep, alerts):
    watched, free = make_household(), make_household()
    monitor(watched, "dibao")
    for h in (watched, free):
        signal("student", h, 2, status="aid", stage="senior", event_on=D(2026, 9, 1))
    sweep()
    a = only(alerts)
    assert (a.household_id, a.rule, a.suggested_outcome) == (free.pk, "student_aid", "enrol")
    assert a.detail["service"] == "dibao" and "高中/中职" in a.summary


# --- disaster ----------------------------------------------------------------------------------------------------


def test_every_disaster_loss_warns_when_no_threshold_is_set(make_household, monitor, signal, sweep, alerts):
    watched, free = make_household(), make_household()
    monitor(watched, "tekun")
    signal("disaster", watched, 0, disaster="hail", occurred_on=D(2026, 7, 1), loss="100.00", house_damage="none")
    signal("disaster", free, 0, disaster="flood", occurred_on=D(2026, 7, 2), loss="1.00")
    sweep()
    a, b = only(alerts, household=watched), only(alerts, household=free)
    assert (a.suggested_outcome, b.suggested_outcome) == ("apply", "enrol")
    assert a.rule == b.rule == "disaster" and "风雹" in a.summary and "100.00元" in a.summary
    assert a.detail["service"] == "temp_emergency"


def test_disaster_threshold_keeps_only_losses_at_or_over_it(make_household, signal, sweep, alerts, set_params):
    set_params(monitoring__disaster_loss_amount="5000")
    at, under = make_household(), make_household()
    signal("disaster", at, 0, disaster="flood", occurred_on=D(2026, 7, 1), loss="5000.00")
    signal("disaster", under, 0, disaster="flood", occurred_on=D(2026, 7, 1), loss="4999.99")
    sweep()
    assert [a.household_id for a in alerts()] == [at.pk]


# --- anti_poverty ------------------------------------------------------------------------------------------------


def test_identified_for_anti_poverty_opens_the_entry_and_enrols(make_household, signal, sweep, alerts):
    h = make_household()
    snap = signal("anti_poverty", h, 0, status="identified", risk="illness", event_on=D(2026, 9, 1))
    s = sweep()
    entry = MonitoredEntry.objects.get(category=Category.ANTI_POVERTY)
    assert (entry.person.id_number, entry.household_id, entry.source) == (ids(h)[0], h.pk, EntrySource.IMPORT)
    assert entry.start_on == D(2026, 9, 1) and entry.end_on is None and str(snap.pk) in entry.reference
    a = only(alerts)
    assert (a.rule, a.suggested_outcome) == ("anti_poverty", "enrol") and "因病" in a.summary
    assert s.stats["anti_poverty_opened"] == 1


def test_eliminated_closes_the_entry_and_keeps_history(make_household, signal, sweep, alerts):
    h = make_household()
    signal("anti_poverty", h, 0, status="identified", risk="illness", event_on=D(2026, 3, 1), period=D(2026, 5, 31))
    sweep(as_of=D(2026, 6, 1))
    signal("anti_poverty", h, 0, status="eliminated", risk="illness", event_on=D(2026, 10, 1))
    s = sweep()
    entry = MonitoredEntry.objects.get(category=Category.ANTI_POVERTY)
    assert entry.end_on == AS_OF and entry.end_reason and s.stats["anti_poverty_closed"] == 1
    assert [a.rule for a in alerts()] == ["anti_poverty"]  # the elimination itself raises nothing


def test_identified_in_a_dibao_household_is_registered_without_a_warning(
    make_household, monitor, signal, sweep, alerts
):
    h = make_household()
    monitor(h, "dibao")
    signal("anti_poverty", h, 1, status="identified", risk="disability", event_on=D(2026, 9, 1))
    sweep()
    assert MonitoredEntry.objects.filter(category=Category.ANTI_POVERTY, end_on__isnull=True).count() == 1
    assert alerts() == []


# --- recheck_change ----------------------------------------------------------------------------------------------


def test_batch_recheck_changes_for_monitored_households(make_household, monitor, sweep, alerts):
    more, stop, edge, untouched = make_household(), make_household(), make_household(), make_household()
    monitor(more, "dibao")
    monitor(stop, "tekun")
    monitor(edge, "edge")
    run = CheckRun.objects.create(
        kind=CheckRun.Kind.BATCH, region_id=COUNTY, as_of=D(2026, 10, 15), status=CheckRun.Status.COMPLETE
    )
    for h, change, dibao in (
        (more, CheckResult.Change.INCREASE, True),
        (stop, CheckResult.Change.STOP, False),
        (edge, CheckResult.Change.INCREASE, True),  # an edge household whose check now says 低保
        (untouched, CheckResult.Change.STOP, False),  # nobody monitors it: nothing to re-check
    ):
        CheckResult.objects.create(
            run=run, household=h, region_id=h.region_id, change=change, dibao=dibao, authorisation=authorisation(h)
        )
    sweep()
    got = {a.household_id: (a.rule, a.suggested_outcome, a.signal_on) for a in alerts()}
    assert got == {
        more.pk: ("recheck_change", "apply", D(2026, 10, 15)),
        stop.pk: ("recheck_change", "stop", D(2026, 10, 15)),
        edge.pk: ("recheck_change", "enrol", D(2026, 10, 15)),
    }
    a = only(alerts, household=more)
    assert a.person_id == more.head_id and "核定金额应增加" in a.summary and a.detail["service"] == "dibao_review"
    assert only(alerts, household=edge).detail["service"] == "dibao"


def test_unfinished_batch_recheck_is_not_read(make_household, monitor, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    check_result(h, kind=CheckRun.Kind.BATCH, status=CheckRun.Status.RUNNING, change=CheckResult.Change.STOP)
    sweep()
    assert alerts() == []


# --- the county's rule settings ----------------------------------------------------------------------------------


def test_a_rule_switched_off_for_the_county_raises_nothing(make_household, monitor, signal, sweep, alerts, set_params):
    set_params(monitoring__rules_enabled="death_member, employed")
    h = make_household()
    monitor(h, "dibao")
    signal("disaster", h, 0, disaster="flood", occurred_on=D(2026, 7, 1), loss="9000")
    signal("employment", h, 1, status="employed", registered_on=D(2026, 10, 8))
    s = sweep()
    assert [a.rule for a in alerts()] == ["employed"]
    assert s.parameters["130722"]["monitoring.rules_enabled"]


def test_a_parameter_dated_after_the_base_date_is_not_used(make_household, monitor, signal, sweep, alerts, set_params):
    set_params(on=AS_OF + datetime.timedelta(days=1), monitoring__rules_enabled="")
    set_params(on=AS_OF + datetime.timedelta(days=1), monitoring__disaster_loss_amount="100000")
    h = make_household()
    monitor(h, "dibao")
    signal("disaster", h, 0, disaster="flood", occurred_on=D(2026, 7, 1), loss="10")
    sweep()
    assert [a.rule for a in alerts()] == ["disaster"]


def test_a_rule_switched_off_in_another_county_still_runs_here(
    make_household, monitor, signal, sweep, alerts, set_params
):
    set_params(region=OTHER_COUNTY, monitoring__rules_enabled="")
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    assert [a.rule for a in alerts()] == ["death_member"]


# --- the four outcomes: complex ----------------------------------------------------------------------------------


def three_signals(signal, h):
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    signal("employment", h, 2, status="employed", registered_on=D(2026, 10, 8))
    signal("disaster", h, 0, disaster="fire", occurred_on=D(2026, 10, 2), loss="30000")


def test_a_household_hit_by_three_rules_goes_to_the_county(make_household, monitor, signal, sweep, alerts):
    h, two = make_household(), make_household()
    monitor(h, "dibao")
    monitor(two, "dibao")
    three_signals(signal, h)
    signal("civil_status", two, 1, event="death", event_on=DEATH_ON)
    signal("employment", two, 2, status="employed", registered_on=D(2026, 10, 8))
    sweep()
    hit = alerts(household=h)
    assert sorted(a.rule for a in hit) == ["death_member", "disaster", "employed"]
    assert {(a.suggested_outcome, a.level) for a in hit} == {("complex", "county")}
    assert {a.detail["suggested"] for a in hit} == {"stop", "apply"} and {a.detail["rule_count"] for a in hit} == {3}
    assert {(a.suggested_outcome, a.level) for a in alerts(household=two)} == {("stop", "village")}


def test_complex_count_is_a_county_parameter(make_household, monitor, signal, sweep, alerts, set_params):
    set_params(monitoring__complex_rule_count=2)
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    signal("employment", h, 2, status="employed", registered_on=D(2026, 10, 8))
    sweep()
    assert {(a.suggested_outcome, a.level) for a in alerts()} == {("complex", "county")}
    assert len(alerts()) == 2


def test_a_new_rule_joining_open_warnings_makes_the_new_one_complex(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON, period=DEATH_ON)
    signal("employment", h, 2, status="employed", registered_on=D(2026, 10, 8), period=DEATH_ON)
    sweep(as_of=DEATH_ON)
    assert {a.suggested_outcome for a in alerts()} == {"stop"}
    signal("disaster", h, 0, disaster="fire", occurred_on=D(2026, 10, 25), loss="30000")
    sweep()
    new = only(alerts, rule="disaster")
    assert (new.suggested_outcome, new.level, new.detail["rule_count"]) == ("complex", "county", 3)
    # The household's open warnings go to the county with it; their suggested outcome stays what it was.
    assert {(a.rule, a.suggested_outcome, a.level) for a in alerts() if a.rule != "disaster"} == {
        ("death_member", "stop", "county"),
        ("employed", "stop", "county"),
    }


# --- duplicate suppression ---------------------------------------------------------------------------------------


def test_the_same_snapshot_swept_twice_raises_nothing_new(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    snap = signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    first = sweep()
    again = sweep()
    assert len(alerts()) == 1 and again.stats["signals"] == 0 and again.stats["warnings"] == 0
    assert list(first.snapshots.all()) == [snap] and list(again.snapshots.all()) == []


def test_a_second_delivery_of_the_same_event_raises_nothing(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    # Close the first warning: the signal key still suppresses a redelivery of the same death.
    Alert.objects.update(status=Alert.Status.CLOSED)
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    s = sweep()
    assert len(alerts()) == 1 and s.stats["candidates"] == 1 and s.stats["suppressed"] == 1


def test_one_open_warning_per_household_and_rule(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    early = D(2026, 8, 31)
    signal("disaster", h, 0, disaster="flood", occurred_on=D(2026, 7, 1), loss="100", period=early)
    signal("disaster", h, 1, disaster="hail", occurred_on=D(2026, 8, 1), loss="200", period=early)  # the earliest
    sweep(as_of=D(2026, 9, 1))
    assert [a.signal_on for a in alerts()] == [D(2026, 7, 1)]
    signal("disaster", h, 2, disaster="fire", occurred_on=D(2026, 10, 1), loss="300")
    sweep()
    assert len(alerts()) == 1  # the flood warning is still open
    Alert.objects.update(status=Alert.Status.CLOSED)
    signal("disaster", h, 2, disaster="snow", occurred_on=D(2026, 10, 10), loss="400")
    sweep()
    assert [(a.signal_on, a.status) for a in alerts()] == [(D(2026, 7, 1), "closed"), (D(2026, 10, 10), "open")]


def test_a_failed_sweep_leaves_nothing_and_a_rerun_succeeds(
    make_household, monitor, signal, sweep, alerts, county_officer, monkeypatch
):
    h = make_household()
    monitor(h, "dibao")
    snap = signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    real = services._store_alerts

    def store_then_crash(*args, **kwargs):
        real(*args, **kwargs)
        assert Alert.objects.count() == 1  # written inside the transaction...
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(services, "_store_alerts", store_then_crash)
    started = services.start_sweep(county_officer, COUNTY, AS_OF, enqueue=False)
    with pytest.raises(RuntimeError):
        services.run_sweep(started.pk)
    failed = Sweep.objects.get(pk=started.pk)
    assert failed.status == Sweep.Status.FAILED and "磁盘已满" in failed.error
    assert alerts() == [] and list(failed.snapshots.all()) == []  # ...and rolled back with it
    from minzheng.monitoring.inputs import pending_snapshots

    assert pending_snapshots(COUNTY, AS_OF) == [snap]
    monkeypatch.undo()
    rerun = services.run_sweep(started.pk)
    assert rerun.status == Sweep.Status.COMPLETE and rerun.error == ""
    assert [a.rule for a in alerts()] == ["death_member"] and list(rerun.snapshots.all()) == [snap]
    assert services.run_sweep(started.pk).stats == rerun.stats  # a finished sweep is not run again


# --- scope -------------------------------------------------------------------------------------------------------


def test_a_county_sweep_leaves_other_counties_households_alone(
    make_household, make_household_in, monitor, make_snapshot, sweep, alerts
):
    here, there = make_household(), make_household_in(OTHER_COUNTY_VILLAGE)
    monitor(here, "dibao")
    monitor(there, "dibao")
    rows = [{"id_number": ids(x)[1], "event": "death", "event_on": DEATH_ON} for x in (here, there)]
    make_snapshot("civil_status", rows, region="130700000000", period=D(2026, 10, 31))  # a city-wide delivery
    s = sweep()
    assert [a.household_id for a in alerts()] == [here.pk]
    assert s.stats["outside_households"] == 1 and s.stats["unmatched_person"] == 0


@pytest.fixture
def other_county_officer(make_user):
    return make_user("county_approver", region=OTHER_COUNTY)


def test_the_other_county_sweeps_its_own_share_of_a_city_delivery(
    make_household, make_household_in, monitor, make_snapshot, sweep, alerts, other_county_officer
):
    here, there = make_household(), make_household_in(OTHER_COUNTY_VILLAGE)
    monitor(here, "dibao")
    monitor(there, "dibao")
    rows = [{"id_number": ids(x)[1], "event": "death", "event_on": DEATH_ON} for x in (here, there)]
    make_snapshot("civil_status", rows, region="130700000000", period=D(2026, 10, 31))
    sweep()
    started = services.start_sweep(other_county_officer, OTHER_COUNTY, AS_OF, enqueue=False)
    services.run_sweep(started.pk)
    assert sorted(a.household_id for a in alerts()) == sorted([here.pk, there.pk])
    assert only(alerts, household=there).region_id == OTHER_COUNTY_VILLAGE


@pytest.mark.parametrize(
    ("role", "region", "as_of", "error", "text"),
    [
        ("county_approver", OTHER_COUNTY, AS_OF, PermissionDeniedError, "只能对本辖区运行监测比对"),
        ("county_approver", "130722999999", AS_OF, DomainError, "区划代码 130722999999 不存在"),
        ("county_approver", COUNTY, None, DomainError, "比对基准日不能晚于今天"),
        ("assistant", "130722100201", AS_OF, PermissionDeniedError, ""),
        ("leader", COUNTY, AS_OF, PermissionDeniedError, ""),
    ],
)
def test_a_sweep_is_refused_outside_scope_in_the_future_or_for_unknown_regions(
    make_user, role, region, as_of, error, text
):
    from minzheng.core.models import AuditEntry

    user = make_user(role)
    as_of = as_of or timezone.localdate() + datetime.timedelta(days=1)
    before = AuditEntry.objects.count()
    with pytest.raises(error) as caught:
        services.start_sweep(user, region, as_of, enqueue=False)
    assert text in caught.value.message
    assert Sweep.objects.count() == 0 and AuditEntry.objects.count() == before


def test_warnings_are_seen_only_within_the_users_region(
    make_household, make_household_in, monitor, signal, sweep, alerts, make_user
):
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    a = only(alerts)
    assert list(services.alerts_for(make_user("assistant"))) == [a]
    assert list(services.alerts_for(make_user("clerk"))) == [a]
    for stranger in (make_user("clerk", region=OTHER_TOWNSHIP), make_user("assistant", region=OTHER_VILLAGE)):
        assert list(services.alerts_for(stranger)) == []
        with pytest.raises(NotFound):
            services.view_alert(stranger, a.pk)
    with pytest.raises(PermissionDeniedError):
        services.alerts_for(make_user("auditor"))


def test_viewing_a_warning_is_audited(make_household, monitor, signal, sweep, alerts, assistant):
    from minzheng.core.models import AuditEntry

    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    a = services.view_alert(assistant, only(alerts).pk)
    entry = AuditEntry.objects.filter(object_type="warning", object_id=str(a.pk), action="view").get()
    assert entry.user == assistant and entry.region_code == h.region_id


# --- deadlines ---------------------------------------------------------------------------------------------------


def test_village_and_county_deadlines_in_working_days_from_the_raise_date(
    make_household, monitor, signal, sweep, alerts
):
    village, county = make_household(), make_household()
    monitor(village, "dibao")
    monitor(county, "dibao")
    signal("civil_status", village, 1, event="death", event_on=DEATH_ON)
    three_signals(signal, county)
    sweep()
    today = timezone.localdate()
    a = only(alerts, household=village)
    assert a.raised_on == today
    expected = add_working_days(today, 10)
    assert (a.due_on, a.due_provisional) == (expected.due, expected.provisional)
    expected = add_working_days(today, 15)
    assert {(b.due_on, b.due_provisional, b.level) for b in alerts(household=county)} == {
        (expected.due, expected.provisional, "county")
    }


def test_task_days_are_the_county_parameter(make_household, monitor, signal, sweep, alerts, set_params):
    set_params(monitoring__task_wd=3)
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    assert only(alerts).due_on == add_working_days(timezone.localdate(), 3).due


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_provisional(
    make_household, monitor, signal, sweep, alerts, monkeypatch
):
    monkeypatch.setattr(services.timezone, "localdate", lambda: D(2026, 12, 20))  # the clock on that day
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    a = only(alerts)
    assert a.raised_on == D(2026, 12, 20) and a.due_provisional
    assert a.due_on == D(2027, 1, 1)  # Mon–Fri only: 10 working days after Sunday 2026-12-20


def test_a_long_task_limit_crossing_into_an_unknown_year_is_provisional(
    make_household, monitor, signal, sweep, alerts, set_params
):
    set_params(monitoring__task_wd=60)
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    sweep()
    a = only(alerts)
    expected = add_working_days(timezone.localdate(), 60)
    assert expected.due.year >= 2027 and expected.provisional  # true on any day of 2026
    assert (a.due_on, a.due_provisional) == (expected.due, True)


# --- further sweep behaviour -------------------------------------------------------------------------------------


def test_a_delivery_dated_after_the_base_date_waits_for_a_later_sweep(make_household, monitor, signal, sweep, alerts):
    h = make_household()
    monitor(h, "dibao")
    snap = signal("civil_status", h, 1, event="death", event_on=D(2026, 9, 1), period=D(2026, 10, 15))
    early = sweep(as_of=D(2026, 10, 1))
    assert early.stats["signals"] == 0 and alerts() == []
    late = sweep()
    assert list(late.snapshots.all()) == [snap] and len(alerts()) == 1


def test_a_signal_dated_after_the_base_date_is_never_dropped(make_household, monitor, signal, sweep, alerts):
    """A delivery up to the base date may carry a later event (the department's data are current): once the delivery
    is read it is not read again, so the event must be raised by this sweep or kept for a later one — never lost."""
    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=D(2026, 10, 25), period=D(2026, 10, 1))
    first = sweep(as_of=D(2026, 10, 20))
    assert first.stats["matched"] == 1
    sweep()
    assert [(a.rule, a.signal_on) for a in alerts()] == [("death_member", D(2026, 10, 25))]


def test_a_township_sweep_then_the_county_sweep_raise_each_warning_once(
    make_household, make_household_in, monitor, make_snapshot, sweep, alerts
):
    here, elsewhere = make_household(), make_household_in(OTHER_VILLAGE)
    monitor(here, "dibao")
    monitor(elsewhere, "dibao")
    rows = [{"id_number": ids(x)[1], "event": "death", "event_on": DEATH_ON} for x in (here, elsewhere)]
    make_snapshot("civil_status", rows, period=D(2026, 10, 31))
    township = sweep(region="130722100000")
    assert [a.household_id for a in alerts()] == [here.pk] and township.stats["outside_households"] == 1
    county = sweep()
    assert county.stats["signals"] == 2 and county.stats["suppressed"] == 1
    assert sorted(a.household_id for a in alerts()) == sorted([here.pk, elsewhere.pk])
    assert sweep().stats["signals"] == 0


def test_the_nightly_sweep_runs_without_a_user(make_household, monitor, signal, alerts):
    from minzheng.core.models import AuditEntry

    h = make_household()
    monitor(h, "dibao")
    signal("civil_status", h, 1, event="death", event_on=DEATH_ON)
    started = services.start_sweep(None, "130722", AS_OF, enqueue=False)
    assert started.region_id == COUNTY and started.started_by is None
    seen: list[tuple[int, str]] = []
    done = services.run_sweep(started.pk, progress=lambda p, m: seen.append((p, m)))
    assert done.status == "complete" and len(alerts()) == 1
    assert seen[0][0] < seen[-1][0] == 100 and seen[-1][1] == "已完成"
    entry = AuditEntry.objects.filter(object_type="sweep", object_id=str(started.pk)).order_by("seq").first()
    assert entry.username == "system" and "系统定时" in entry.object_label


def test_a_check_without_authorisation_says_nothing_about_income(make_household, signal, sweep, alerts, set_params):
    """A result "未核对（无有效授权）" carries counted_income 0 by default: it must not make every cost a share of 0."""
    set_params(monitoring__medical_share_of_income="0.4")
    h = make_household()
    check_result(h, counted_income="2000.00", as_of=D(2026, 1, 1))
    check_result(h, change=CheckResult.Change.NOT_CHECKED)  # latest, but no authorisation: nothing was read
    medical(signal, h, 0, 10)
    sweep()
    assert alerts() == []


def test_a_check_without_authorisation_does_not_take_a_household_off_the_edge(make_household, sweep):
    h = make_household(2)
    check_result(h, kind=CheckRun.Kind.BATCH, edge=True, as_of=D(2026, 3, 1))
    sweep(as_of=D(2026, 4, 1))
    assert MonitoredEntry.objects.filter(household=h, category="edge", end_on__isnull=True).count() == 2
    check_result(h, kind=CheckRun.Kind.BATCH, change=CheckResult.Change.NOT_CHECKED, as_of=D(2026, 9, 1))
    sweep()
    assert MonitoredEntry.objects.filter(household=h, category="edge", end_on__isnull=True).count() == 2
