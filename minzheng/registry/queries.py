"""Read-side queries for the registry: search and history, always through the user's scope."""

import re
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError
from minzheng.core.masking import mask_id_number

from .identifiers import fold_input, parse_identity_number
from .models import Household, Membership, Organisation, Person

_HOUSEHOLD_NUMBER = re.compile(r"^H(\d{1,12})$")
_DIGITS = re.compile(r"^\d{1,12}$")
# The last 4–6 characters of an identity number (the check character may be X), as staff read them off a card.
_ID_TAIL = re.compile(r"^\d{3,5}[\dX]$")
RESULT_LIMIT = 200


@dataclass
class SearchResult:
    query: str
    kind: str  # "id_number", "id_tail", "household", "text" (name or address), ""
    persons: QuerySet
    households: QuerySet
    message: str = ""


def current_size(household: str = "pk") -> Coalesce:
    """The current members of the household named by the outer query's field `household`, as a correlated subquery:
    no join fan-out and no GROUP BY over the outer rows (which made the planner read every household of a search)."""
    members = (
        Membership.objects.filter(household_id=OuterRef(household), left_on__isnull=True)
        .order_by()
        .values("household_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(members, output_field=IntegerField()), Value(0))


def _households(user) -> QuerySet:
    return (
        Household.objects.for_user(user).select_related("head", "region").annotate(size=current_size()).order_by("-id")
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


def _their_households(persons: QuerySet) -> QuerySet:
    return Membership.objects.filter(person__in=persons.values("pk"), left_on__isnull=True).values("household_id")


def _audit_number_search(user, kind: str, label: str) -> None:
    """Looking people up by identity number (whole or its tail) is recorded; the number only masked."""
    audit.record(audit.Action.SEARCH, user=user, object_type="person", label=label, detail={"kind": kind})


def households_in(user, region=None) -> QuerySet:
    """The user's households (with their current size), under `region` when given (a Region inside the scope)."""
    households = _households(user)
    if region is not None:
        low, high = region.subtree_range()
        households = households.filter(region_id__gte=low, region_id__lte=high)
    return households


def search(user, query: str, region=None) -> SearchResult:
    """Search within the user's scope (and under `region`, when given) by: identity number (15/18 characters, exact);
    its last 4–6 characters; household number (H000000123, or its digits); or any part of a name or an address. A
    number of 4–6 digits is both an identity-number tail and a household number: both are searched."""
    require(user, Capability.VIEW_PEOPLE)
    folded = fold_input(query)
    persons, households = _persons(user), households_in(user, region)
    if region is not None:
        low, high = region.subtree_range()
        persons = persons.filter(region_id__gte=low, region_id__lte=high)
    if not folded:
        return SearchResult("", "", persons.none(), households[: RESULT_LIMIT if region is not None else 50])
    if len(folded) in (15, 18) and folded[:-1].isdigit():
        try:
            number = parse_identity_number(folded).number
        except DomainError as exc:
            return SearchResult(query, "id_number", persons.none(), households.none(), exc.message)
        _audit_number_search(user, "id_number", mask_id_number(number))
        found = persons.filter(id_number=number)
        return SearchResult(query, "id_number", found, households.filter(pk__in=_their_households(found)))
    match = _HOUSEHOLD_NUMBER.match(folded)
    if match:
        return SearchResult(query, "household", persons.none(), households.filter(pk=int(match.group(1))))
    if _ID_TAIL.match(folded):
        _audit_number_search(user, "id_tail", "身份号码尾号 " + "*" * (18 - len(folded)) + folded)
        found = persons.filter(id_number__endswith=folded)
        by_number = Q(pk=int(folded)) if folded.isdigit() else Q(pk__in=[])
        matched = households.filter(by_number | Q(pk__in=_their_households(found)))
        return SearchResult(query, "id_tail", found[:RESULT_LIMIT], matched[:RESULT_LIMIT])
    if _DIGITS.match(folded):
        return SearchResult(query, "household", persons.none(), households.filter(pk=int(folded)))
    text = " ".join(query.split())
    if len(text) > 60:
        return SearchResult(query, "text", persons.none(), households.none(), "查询内容过长，请输入姓名或住址的一部分")
    found = persons.filter(name__contains=text)
    # The newest RESULT_LIMIT of (households by address ∪ households of the people by name), each side read on its
    # own: as one OR, the planner walked every household newest first looking for them.
    by_address = households.filter(address__contains=text).order_by("-pk").values_list("pk", flat=True)
    by_member = _their_households(found).order_by("-household_id").values_list("household_id", flat=True)
    ids = {*by_address[:RESULT_LIMIT], *by_member[:RESULT_LIMIT]}
    return SearchResult(query, "text", found[:RESULT_LIMIT], households.filter(pk__in=ids)[:RESULT_LIMIT])


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
