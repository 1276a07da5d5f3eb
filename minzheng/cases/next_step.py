"""The case page's actions in the order the procedure expects them (workflows.MAIN_LINE): the next step first and
highlighted, the other steps of the main line after it, then the occasional ones, and the irreversible ones last —
each of those asking for confirmation."""

from dataclasses import dataclass

from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce

from . import steps
from . import workflows as wf
from .models import Case


@dataclass(frozen=True)
class Step:
    action: wf.Action
    is_next: bool
    irreversible: bool


def _taken_in_state(case: Case) -> set[str]:
    """Actions recorded since the case last entered its current state: the distinct actions after that event, which
    the database finds in one query (a set of at most the workflow's actions, however long the history)."""
    entered = case.events.filter(to_state=case.state).exclude(from_state=case.state).order_by("-seq").values("seq")[:1]
    since = case.events.filter(seq__gt=Coalesce(Subquery(entered), Value(0)))
    return set(since.order_by().values_list("action", flat=True).distinct())


def ordered(case: Case, actions: list[wf.Action]) -> list[Step]:
    """The actions the user may take on the case, in the procedure's order, the next one marked."""
    taken = _taken_in_state(case)
    rank = {code: i for i, code in enumerate(wf.MAIN_LINE)}
    # An objection under notice is dealt with (or upheld) before the notice can end; with none open, neither step
    # is offered — the service would refuse them (没有待处理的异议).
    if case.state == wf.NOTICE and steps.open_objections(case) <= 0:
        actions = [a for a in actions if a.code not in wf.OBJECTION_STEPS]
    main = sorted((a for a in actions if a.code in rank), key=lambda a: rank[a.code])
    following = [a for a in main if a.code not in taken or a.target is not None]
    nxt = following[0] if following else (main[0] if main else None)
    rest = [a for a in actions if a.code not in rank and a.code not in wf.IRREVERSIBLE]
    last = [a for a in actions if a.code in wf.IRREVERSIBLE]
    result = []
    for a in ([nxt] if nxt else []) + [a for a in main if a is not nxt] + rest + last:
        result.append(Step(a, a is nxt, a.code in wf.IRREVERSIBLE))
    return result
