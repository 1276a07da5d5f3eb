"""Deadlines derived from a case's events and its parameter snapshot, on the working-day calendar."""

import datetime
from dataclasses import dataclass

from minzheng.core.workdays import Deadline, WorkingCalendar

from .workflows import WORKFLOWS, Clock, Workflow

# Read by clock_statuses besides the clocks' own starts and ends: 延长 (the total limit's parameter) and the public
# notice's start and end (the notice days added to the total limit where the notice does not count toward it).
_ALSO_READ = ("extend", "first_review", "end_notice", "reinvestigate")


def clock_actions(workflow: Workflow) -> tuple[str, ...]:
    """The actions whose events `clock_statuses` reads for the workflow; with the events that change the state (the
    `enter:` clocks) they are all it needs: the steps recorded without moving the case (公示异议, 入户调查, …) never
    start or end a limit, so the deadlines need not load them however many a case has."""
    actions = set(_ALSO_READ)
    for clock in workflow.clocks:
        if not clock.start.startswith("enter:"):
            actions.add(clock.start)
        actions.update(clock.met_by)
    return tuple(sorted(actions))


@dataclass(frozen=True)
class ClockStatus:
    code: str
    label: str
    started_on: datetime.date
    days: int
    calendar: bool
    deadline: Deadline
    met_on: datetime.date | None
    informational: bool

    @property
    def open(self) -> bool:
        return self.met_on is None

    def overdue(self, today: datetime.date) -> bool:
        if self.met_on is not None:
            return self.met_on > self.deadline.due
        return today > self.deadline.due

    @property
    def unit(self) -> str:
        return "日" if self.calendar else "个工作日"


def _param(case, clock: Clock, events) -> int:
    params = case.parameters or {}
    name = clock.param
    if clock.code == "total" and name == "total_wd":
        if any(e.action == "extend" for e in events):
            name = "extend_to_wd"
        elif params.get("confirm_level", {}).get("value") == "township":
            name = "total_wd_delegated"
    return int(params[name]["value"])


def _notice_days_outside_total(case, events, calendar: WorkingCalendar) -> int:
    """Where a province does not count the public notice toward the whole-procedure limit (`notice_in_total` false,
    DOMAIN.md §1 [R]), the working days the notice ran are added to that limit."""
    setting = (case.parameters or {}).get("notice_in_total")
    if setting is None or setting["value"] is not False:
        return 0
    extra = 0
    for start in (e for e in events if e.action == "first_review" and e.to_state == "notice"):
        end = next((e.on for e in events if e.seq > start.seq and e.action in ("end_notice", "reinvestigate")), None)
        end = end or start.on + datetime.timedelta(days=int(case.parameters["notice_days"]["value"]))
        extra += calendar.working_days_between(start.on, end)
    return extra


def _starts(clock: Clock, event) -> bool:
    if clock.start.startswith("enter:"):
        return event.to_state == clock.start.removeprefix("enter:") and event.from_state != event.to_state
    return event.action == clock.start


def clock_statuses(case, events, calendar: WorkingCalendar | None = None) -> list[ClockStatus]:
    """Every time limit that has started for the case, in the order they started."""
    workflow = WORKFLOWS.get(case.service.workflow)
    if workflow is None or not case.parameters:
        return []
    calendar = calendar or WorkingCalendar()
    events = list(events)
    result = []
    for clock in workflow.clocks:
        starts = [e for e in events if _starts(clock, e)]
        if not starts:
            continue
        start = starts[-1]  # a re-investigation restarts the notice and the review clocks
        calendar_days = clock.calendar
        if clock.due_key:
            due = (start.data or {}).get(clock.due_key)
            if not due:
                continue
            deadline = Deadline(datetime.date.fromisoformat(due), False, "自然日")
            days, calendar_days = max((deadline.due - start.on).days, 0), True
        else:
            days = _param(case, clock, events)
            if clock.code == "total":
                days += _notice_days_outside_total(case, events, calendar)
            if clock.calendar:
                deadline = Deadline(start.on + datetime.timedelta(days=days), False, "自然日")
            else:
                deadline = calendar.add_working_days(start.on, days)
        met = next((e.on for e in events if e.seq > start.seq and e.action in clock.met_by), None)
        result.append(
            ClockStatus(clock.code, clock.label, start.on, days, calendar_days, deadline, met, clock.informational)
        )
    return sorted(result, key=lambda c: c.started_on)


def current(statuses: list[ClockStatus]) -> ClockStatus | None:
    """The open, non-informational limit that falls first: what the case's queue position is sorted by."""
    open_ = [s for s in statuses if s.open and not s.informational]
    return min(open_, key=lambda s: s.deadline.due, default=None)
