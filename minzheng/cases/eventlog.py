"""The case as an event log (ARCHITECTURE.md principle 3): events appended, the state and the current deadline
derived from them and cached on the case in the same transaction."""

import datetime
import hashlib
from decimal import Decimal

from django.db.models import F, Q

from minzheng.core.workdays import WorkingCalendar
from minzheng.regions import codes as region_codes

from . import workflows as wf
from .deadlines import clock_actions, clock_statuses, current
from .models import Case, CaseEvent


def _clocked(case: Case) -> tuple[str, ...] | None:
    """The actions the case's time limits read besides its state changes, or None for a case without clocks (no
    workflow, no parameters yet)."""
    workflow = wf.WORKFLOWS.get(case.service.workflow)
    if workflow is None or not case.parameters or not workflow.clocks:
        return None
    return clock_actions(workflow)


def key_events(case: Case, also: tuple[str, ...]) -> list[CaseEvent]:
    """The milestones and the events of the actions `also`, in order: what the case page reads in one query instead
    of one per section. Bounded like the milestones when `also` names steps of the procedure (not the objections or
    visits a case may gather by the hundred)."""
    wanted = Q(action__in=also)
    actions = _clocked(case)
    if actions is not None:
        wanted |= Q(action__in=actions) | ~Q(from_state=F("to_state"))
    return list(case.events.filter(wanted).order_by("seq"))


def milestones(case: Case, events: list[CaseEvent] | None = None) -> list[CaseEvent]:
    """The events the case's time limits are derived from, in order: those that change its state and those of the
    actions a clock starts or ends with (`deadlines.clock_actions`). Their number grows with the procedure's rounds,
    not with the steps recorded in between (objections under notice, visits): the deadlines of a case with a long
    history cost what they cost for a short one. Empty for a case without clocks (no workflow, no parameters yet)."""
    actions = _clocked(case)
    if actions is None:
        return []
    if events is not None:  # key_events, already read
        return [e for e in events if e.action in actions or e.from_state != e.to_state]
    return list(
        case.events.filter(Q(action__in=actions) | ~Q(from_state=F("to_state")))
        .only("case", "seq", "action", "from_state", "to_state", "on", "data")
        .order_by("seq")
    )


def has(case: Case, action: str, after_seq: int = 0) -> bool:
    return case.events.filter(action=action, seq__gt=after_seq).exists()


def append(case: Case, user, action: str, to_state: str, on: datetime.date, data, note) -> CaseEvent | None:
    if data is None:  # the handler appended its own events
        return None
    last = case.events.order_by("-seq").values_list("seq", flat=True).first() or 0
    event = CaseEvent.objects.create(
        case=case,
        seq=last + 1,
        action=action,
        from_state=case.state,
        to_state=to_state,
        on=on,
        actor=user,
        data=data,
        note=note or "",
    )
    if to_state != case.state:
        case.state = to_state
        if to_state == wf.COUNTY_REVIEW and wf.WORKFLOWS[case.service.workflow].spot_check:
            case.spot_check_selected = select_for_spot_check(case, on)
        Case.objects.filter(pk=case.pk).update(state=to_state, spot_check_selected=case.spot_check_selected)
    return event


def select_for_spot_check(case: Case, on: datetime.date) -> bool:
    """County spot check of 特困 cases (TK: ≥ spot_check_min): always select while the county's share this year is
    below the minimum, otherwise a draw with that probability, reproducible from the case number."""
    share = Decimal(str(case.parameters["spot_check_min"]["value"]))
    low, high = region_codes.subtree_range(case.region_id[:6].ljust(12, "0"))
    reviewed = (
        Case.objects.filter(
            service=case.service,
            region_id__gte=low,
            region_id__lte=high,
            events__to_state=wf.COUNTY_REVIEW,
            events__on__year=on.year,
        )
        .exclude(pk=case.pk)
        .distinct()
    )
    total = reviewed.count() + 1
    selected = reviewed.filter(spot_check_selected=True).count()
    if Decimal(selected) / total < share:
        return True
    draw = int(hashlib.sha256(case.number.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return Decimal(str(draw)) < share


def refresh(case: Case) -> None:
    statuses = clock_statuses(case, milestones(case))
    step = current(statuses) if case.state not in (wf.APPROVED, wf.WITHDRAWN, wf.NOT_ACCEPTED) else None
    case.current_step = step.label if step else ""
    case.current_due = step.deadline.due if step else None
    case.due_provisional = step.deadline.provisional if step else False
    Case.objects.filter(pk=case.pk).update(
        current_step=case.current_step,
        current_due=case.current_due,
        due_provisional=case.due_provisional,
        parameters=case.parameters,
        accepted_on=case.accepted_on,
    )


def deadlines(case: Case, calendar: WorkingCalendar | None = None, events: list[CaseEvent] | None = None):
    return clock_statuses(case, milestones(case, events), calendar)
