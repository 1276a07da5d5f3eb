"""Registry pages: thin — parse the form, call a service or query, render."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import exports, ids, panels
from minzheng.core.errors import DomainError
from minzheng.core.forms import attach_error
from minzheng.core.http import staff_view
from minzheng.core.masking import mask_id_number, mask_name
from minzheng.regions.picker import picked

from . import queries, services
from .forms import (
    ChangeHeadForm,
    ExistingMemberForm,
    HouseholdForm,
    LeaveForm,
    MemberForm,
    MemberFormSet,
    OrganisationForm,
    PersonForm,
    SearchForm,
)
from .identifiers import parse_identity_number
from .models import Household, Organisation, Person

HOUSEHOLD_COLUMNS = [
    exports.Column("户编号", 12),
    exports.Column("户主", 10),
    exports.Column("户主公民身份号码", 22),
    exports.Column("人数", 6, "int"),
    exports.Column("所在村（社区）", 24),
    exports.Column("城乡类别", 8),
]


@staff_view
def search(request):
    """Find people and households; with a region picked and no query, the region's household list — which is what
    the Excel export and the print view write (masked, audited)."""
    form = SearchForm(request.GET or None)
    query = form.data.get("q", "") if form.is_bound else ""
    region = picked(request.GET.get("region"), request.user.region)
    if exports.wants_export(request):
        return _household_export(request, query, region)
    result = queries.search(request.user, query, region)
    found = panels.collect(panels.SEARCH, request, query=query) if query.strip() else []
    query_string = request.GET.copy()
    query_string.pop("export", None)
    return render(
        request,
        "registry/search.html",
        {
            "form": form,
            "result": result,
            "panels": found,
            "region": region,
            "region_value": request.GET.get("region", ""),
            "base_query": query_string.urlencode(),
        },
    )


def _household_export(request, query: str, region) -> HttpResponse:
    user = request.user
    if query.strip():
        households = queries.search(user, query, region).households
    else:
        households = queries.households_in(user, region)
    scope = region or user.region
    rows = (
        (
            h.number,
            mask_name(h.head.name) if h.head_id else "",
            mask_id_number(h.head.id_number) if h.head_id else "",
            h.size,
            h.region.name,
            h.get_area_type_display(),
        )
        for h in households.iterator(chunk_size=2000)
    )
    conditions = [scope.path_name(), f"查询“{query.strip()}”" if query.strip() else ""]
    table = exports.Table("家庭名单", HOUSEHOLD_COLUMNS, rows, " · ".join(c for c in conditions if c), "家庭名单")
    target = exports.AuditTarget(
        "household_list",
        f"家庭名单导出（{scope.name}）",
        scope.code,
        {"filters": {k: v for k, v in request.GET.items() if k != "export" and v}},
    )
    return exports.respond(request, table, target)


@staff_view
def household_create(request):
    require(request.user, Capability.EDIT_PEOPLE)
    if request.method == "POST":
        form = HouseholdForm(request.POST, user=request.user)
        formset = MemberFormSet(request.POST, prefix="m")
        if form.is_valid() and formset.is_valid():
            members = [f.to_member() for f in formset.forms if f.has_changed() or f is formset.forms[0]]
            try:
                household = services.create_household(request.user, form.to_data(members))
            except DomainError as exc:
                index = exc.context.get("member_index")
                target = formset.forms[index] if index is not None and index < len(formset.forms) else form
                attach_error(target, exc)
            else:
                messages.success(request, f"家庭 {household.number} 登记成功")
                return redirect("registry:household", pk=household.pk)
    else:
        form = HouseholdForm(user=request.user)
        formset = MemberFormSet(prefix="m", initial=[{"relationship": "02"}])
    return render(request, "registry/household_form.html", {"form": form, "formset": formset, "creating": True})


@staff_view
def household_detail(request, pk: int):
    household = services.view_household(request.user, pk)
    memberships = list(queries.household_history(household))  # one query: the current members and the history
    current = _current(household, memberships)
    return render(
        request,
        "registry/household_detail.html",
        {
            "household": household,
            "current": current,
            "history": [m for m in memberships if m.left_on],
            "can_edit": _can_edit(request.user),
            "can_change_head": any(m.person_id != household.head_id for m in current),
            # The household's cases, benefit and warnings, contributed by the apps that hold them (core.panels).
            "panels": panels.collect(panels.HOUSEHOLD, request, household=household),
        },
    )


@staff_view
def household_members(request, pk: int):
    """The forms that change who belongs to a household (add, move in, change the head). Kept off the household page,
    which every officer opens and few of them to edit members."""
    require(request.user, Capability.EDIT_PEOPLE)
    return _members_page(request, pk)


def _members_page(request, pk: int, refused: forms.Form | None = None) -> HttpResponse:
    """The members page; `refused`: the form just refused, shown again as typed with its errors."""
    household = services.view_household(request.user, pk)
    current = _current(household, queries.household_history(household).filter(left_on__isnull=True))
    page_forms = {
        "member_form": MemberForm(prefix="add"),
        "existing_form": ExistingMemberForm(prefix="in"),
        "change_head_form": ChangeHeadForm(),
    }
    for name, form in page_forms.items():
        if refused is not None and type(refused) is type(form):
            page_forms[name] = refused
    page_forms["change_head_form"].fields["person_id"].widget.choices = [
        (m.person_id, m.person.name) for m in current if m.person_id != household.head_id
    ]
    return render(
        request, "registry/household_members.html", {"household": household, "current": current, **page_forms}
    )


def _current(household: Household, memberships) -> list:
    """The current members in the household's order: the head's relationship first, then by joining."""
    return sorted((m for m in memberships if not m.left_on), key=lambda m: (m.relationship, m.pk))


def _can_edit(user) -> bool:
    return has_capability(user, Capability.EDIT_PEOPLE)


@staff_view
def household_edit(request, pk: int):
    require(request.user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(request.user, pk=pk)
    if request.method == "POST":
        form = HouseholdForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.update_household(request.user, household, form.to_data(), _version(request))
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, "家庭信息已保存")
                return redirect("registry:household", pk=household.pk)
    else:
        form = HouseholdForm(initial=HouseholdForm.initial_for(household), user=request.user)
    return render(request, "registry/household_form.html", {"form": form, "household": household})


def _version(request) -> int | None:
    return ids.parse(request.POST.get("version", ""), minimum=0, maximum=ids.MAX_VERSION)


def _household_action(request, pk: int, handler):
    """POST-only member actions on the household page; errors come back as a message on that page."""
    household = Household.objects.get_for_user(request.user, pk=pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                text = handler(household)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, text)
    return redirect("registry:household", pk=household.pk)


def _member_change(request, pk: int, form: forms.Form, refusal, act) -> HttpResponse:
    """A POST from the members page: done, back to the household page with what was done; refused (`refusal(form)`
    for an invalid form, or the service's DomainError), the members page again with the form as typed, the reason on
    the field it concerns and at the top."""
    require(request.user, Capability.EDIT_PEOPLE)
    household = Household.objects.get_for_user(request.user, pk=pk)
    if request.method != "POST":
        return redirect("registry:members", pk=household.pk)
    if not form.is_valid():
        messages.error(request, refusal(form))
        return _members_page(request, household.pk, refused=form)
    try:
        with transaction.atomic():
            text = act(household, form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
        attach_error(form, exc)
        return _members_page(request, household.pk, refused=form)
    messages.success(request, text)
    return redirect("registry:household", pk=household.pk)


def _field_errors(form: forms.Form) -> str:
    return "；".join(f"{form.fields[k].label}：{v[0]}" if k in form.fields else v[0] for k, v in form.errors.items())


@staff_view
def member_add(request, pk: int):
    form = MemberForm(request.POST or None, prefix="add")

    def act(household, _data):
        membership = services.add_member(request.user, household, form.to_member())
        return f"已添加成员 {membership.person.name}"

    return _member_change(request, pk, form, _field_errors, act)


@staff_view
def member_move_in(request, pk: int):
    def act(household, data):
        number = parse_identity_number(data["id_number"]).number
        person = Person.objects.for_user(request.user).filter(id_number=number).first()
        if person is None:
            raise DomainError("在您的管辖范围内没有找到该公民身份号码对应的人员", field="id_number")
        services.move_person(request.user, person.pk, household, data["relationship"], data["reason"])
        return f"{person.name} 已迁入本户"

    form = ExistingMemberForm(request.POST or None, prefix="in")
    return _member_change(request, pk, form, lambda f: "请完整填写迁入人员的公民身份号码、关系和原因", act)


@staff_view
def member_leave(request, pk: int):
    def handler(household):
        form = LeaveForm(request.POST)
        if not form.is_valid():
            if "person_id" in form.errors:  # malformed or out of range: the form's Chinese message, never a query
                raise DomainError(form.errors["person_id"][0], "invalid_id")
            raise DomainError("请填写迁出原因")
        services.remove_member(request.user, household, form.cleaned_data["person_id"], form.cleaned_data["reason"])
        return "成员已迁出，记录保留在家庭历史中"

    return _household_action(request, pk, handler)


@staff_view
def head_change(request, pk: int):
    def refusal(form):
        # Malformed or out of range: the form's Chinese message, never a query.
        return form.errors["person_id"][0] if "person_id" in form.errors else "请选择新户主和原户主的关系"

    def act(household, data):
        services.change_head(request.user, household, data["person_id"], data["old_head_relationship"])
        return "户主已变更"

    return _member_change(request, pk, ChangeHeadForm(request.POST or None), refusal, act)


@staff_view
def person_detail(request, pk: int):
    person = services.view_person(request.user, pk)
    return render(
        request,
        "registry/person_detail.html",
        {"person": person, "history": queries.person_history(person), "can_edit": _can_edit(request.user)},
    )


@staff_view
def person_edit(request, pk: int):
    if request.method == "POST":
        person = Person.objects.get_for_user(request.user, pk=pk)
        form = PersonForm(request.POST)
        if form.is_valid():
            try:
                services.update_person(request.user, person, form.to_data(), _version(request))
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, "人员信息已保存")
                return redirect("registry:person", pk=person.pk)
    else:
        person = services.person_for_edit(request.user, pk)
        form = PersonForm(initial=PersonForm.initial_for(person))
    return render(request, "registry/person_form.html", {"form": form, "person": person})


@staff_view
def organisation_list(request):
    query = request.GET.get("q", "")
    return render(
        request,
        "registry/organisation_list.html",
        {
            "organisations": queries.organisations(request.user, query)[:200],
            "q": query,
            "can_edit": _can_edit(request.user),
        },
    )


@staff_view
def organisation_form(request, pk: int | None = None):
    require(request.user, Capability.EDIT_PEOPLE)
    organisation = Organisation.objects.get_for_user(request.user, pk=pk) if pk else None
    if request.method == "POST":
        form = OrganisationForm(request.POST)
        if form.is_valid():
            try:
                if organisation:
                    services.update_organisation(request.user, organisation, form.to_data(), _version(request))
                else:
                    organisation = services.create_organisation(request.user, form.to_data())
            except DomainError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, f"组织机构“{organisation.name}”已保存")
                return redirect("registry:organisations")
    else:
        initial = (
            OrganisationForm.initial_for(organisation) if organisation else {"region_code": request.user.region_id}
        )
        form = OrganisationForm(initial=initial)
    return render(request, "registry/organisation_form.html", {"form": form, "organisation": organisation})
