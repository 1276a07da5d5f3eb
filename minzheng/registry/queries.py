"""Read-side queries for the registry: search and history, always through the user's scope."""

import re
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_id_number

from .identifiers import fold_input, parse_identity_number
from .models import Household, Membership, Organisation, Person

_HOUSEHOLD_NUMBER = re.compile(r"^H?(\d{1,12})$")


@dataclass
class SearchResult:
    query: str
    kind: str  # "id_number", "household", "name", ""
    persons: QuerySet
    households: QuerySet
    message: str = ""


def _households(user) -> QuerySet:
    return (
        Household.objects.for_user(user)
        .select_related("head", "region")
        .annotate(size=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
        .order_by("-id")
    )


def _persons(user) -> QuerySet:
    current = Membership.objects.filter(left_on__isnull=True)
    return (
        Person.objects.for_user(user)
        .select_related("region")
        .prefetch_related(
            Prefetch("memberships", queryset=current.select_related("household"), to_attr="current_memberships")
        )
        .order_by("name", "id")
    )


def search(user, query: str) -> SearchResult:
    """Search by identity number (exact), household number (H000000123) or name (prefix), within the user's scope."""
    require(user, Capability.VIEW_PEOPLE)
    folded = fold_input(query)
    persons, households = _persons(user), _households(user)
    if not folded:
        return SearchResult("", "", persons.none(), households[:50])
    if len(folded) in (15, 18) and folded[:-1].isdigit():
        try:
            number = parse_identity_number(folded).number
        except DomainError as exc:
            return SearchResult(query, "id_number", persons.none(), households.none(), exc.message)
        audit.record(
            audit.Action.SEARCH,
            user=user,
            object_type="person",
            label=mask_id_number(number),
            detail={"id_number": mask_id_number(number)},
        )
        found = persons.filter(id_number=number)
        household_ids = Membership.objects.filter(person__in=found, left_on__isnull=True).values("household_id")
        return SearchResult(query, "id_number", found, households.filter(pk__in=household_ids))
    match = _HOUSEHOLD_NUMBER.match(folded)
    if match:
        return SearchResult(query, "household", persons.none(), households.filter(pk=int(match.group(1))))
    name = query.strip()
    found = persons.filter(name__startswith=name)
    household_ids = Membership.objects.filter(person__in=found, left_on__isnull=True).values("household_id")
    return SearchResult(query, "name", found[:200], households.filter(pk__in=household_ids)[:200])


def household_history(household: Household) -> QuerySet:
    """Every membership the household ever had, current first, then by date."""
    return household.memberships.select_related("person").order_by("left_on", "-joined_on", "id")


def person_history(person: Person) -> QuerySet:
    return person.memberships.select_related("household", "household__region").order_by("-joined_on", "-id")


def organisations(user, query: str = "") -> QuerySet:
    require(user, Capability.VIEW_PEOPLE)
    qs = Organisation.objects.for_user(user).select_related("region").order_by("name")
    query = (query or "").strip()
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(uscc=fold_input(query)))
    return qs
