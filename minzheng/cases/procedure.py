"""Who may take which step of a case, and what the applicant still owes: read from the workflow (procedures as data),
the case's parameters and its materials."""

from minzheng.core.errors import DomainError
from minzheng.regions import codes as region_codes
from minzheng.registry.models import Household, Membership

from . import workflows as wf
from .models import Case, InterestDeclaration


def confirm_role(case: Case) -> str:
    level = (case.parameters or {}).get("confirm_level", {}).get("value", "county")
    return "township_reviewer" if level == "township" else "county_approver"


def can_act(user, case: Case, action: wf.Action) -> bool:
    actors = {confirm_role(case)} if action.actors == wf.CONFIRM else action.actors
    return user.role in actors


def workflow_of(case: Case) -> wf.Workflow:
    workflow = wf.WORKFLOWS.get(case.service.workflow)
    if workflow is None:
        raise DomainError(f"“{case.service.name}”暂未在平台内全流程办理，请转办", "no_workflow")
    return workflow


# Catalogue material codes that stand for the applicant's signatures (DB §9): ticking one sets the case's flag.
SIGNATURES = {"authorisation": "authorisation_signed", "pledge": "pledge_signed"}


def missing_materials(case: Case) -> list[str]:
    """What the applicant must still provide: the item's required materials that no department can supply (the
    signed authorisation and pledge among them, where the item asks for them)."""
    return [
        m.material.name
        for m in case.materials.select_related("material").order_by("material__order")
        if m.material.required and m.material.demandable and not m.received
    ]


def with_signatures(codes: set[str], authorisation: bool, pledge: bool) -> set[str]:
    return codes | {code for code, signed in (("authorisation", authorisation), ("pledge", pledge)) if signed}


def conflicts(household: Household) -> list[InterestDeclaration]:
    numbers = Membership.objects.filter(household=household, left_on__isnull=True).values("person__id_number")
    low, high = region_codes.subtree_range(household.region_id[:6].ljust(12, "0"))  # declarations of the county
    declared = InterestDeclaration.objects.filter(id_number__in=numbers, active=True)
    return list(declared.filter(region_id__gte=low, region_id__lte=high))


def actor_names(case: Case, step: wf.Action) -> str:
    from minzheng.accounts.roles import Role

    actors = {confirm_role(case)} if step.actors == wf.CONFIRM else step.actors
    return "、".join(Role(r).label for r in sorted(actors))
