"""Case pages: the one-window intake (一门受理) and the case page with its action forms. Thin: parse a form, call
`minzheng.cases.services`, render; the services check capability, scope, workflow and version."""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import ids
from minzheng.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError
from minzheng.core.forms import attach_error
from minzheng.core.http import staff_view
from minzheng.core.masking import mask_name
from minzheng.registry import queries
from minzheng.registry import services as registry_services

from . import documents, eventlog, next_step, procedure, services
from . import workflows as wf
from .confirmation import CONFIRMING_ACTIONS
from .deadlines import ClockStatus, current
from .forms import (
    SELF_CARE_ITEMS,
    ActionForm,
    HouseholdSearchForm,
    IntakeForm,
    action_form,
    latest_check,
    member_choices,
)
from .models import Case, CaseEvent, Channel

# ---------------------------------------------------------------- intake


def _int(raw) -> int | None:
    return ids.parse(raw)


@staff_view
def intake(request: HttpRequest) -> HttpResponse:
    """Step 1: find the household in scope; step 2: one form for any service item."""
    require(request.user, Capability.EDIT_PEOPLE)
    if request.method == "GET" and request.GET.get("partial") == "materials":
        form = IntakeForm(initial={"service": request.GET.get("service", "")})
        return render(request, "cases/intake_materials.html", {"form": form})
    source = request.POST if request.method == "POST" else request.GET
    household_id = _int(source.get("household"))
    if household_id is None:
        search = HouseholdSearchForm(request.GET or None)
        query = search.data.get("q", "") if search.is_bound else ""
        result = queries.search(request.user, query)
        return render(request, "cases/intake.html", {"search": search, "result": result})

    household = registry_services.view_household(request.user, household_id)
    members = list(household.current_memberships())
    existing_case_id = None
    if request.method == "POST":
        form = IntakeForm(request.POST, members=member_choices(members))
        if form.is_valid():
            try:
                case = services.open_application(request.user, **form.to_kwargs())
            except (NotFound, PermissionDeniedError):
                raise
            except DomainError as exc:
                if exc.field == "id_number":  # the entrusted person's identity number
                    exc.field = "entrusted_id_number"
                existing_case_id = exc.context.get("existing_id")
                attach_error(form, exc)
            else:
                _intake_message(request, case)
                return redirect("cases:case", pk=case.pk)
    else:
        initial = {
            "household": household.pk,
            "applicant": household.head_id,
            "channel": Channel.WINDOW,
            "service": request.GET.get("service", ""),
        }
        form = IntakeForm(initial=initial, members=member_choices(members))
    return render(
        request,
        "cases/intake.html",
        {"household": household, "members": members, "form": form, "existing_case_id": existing_case_id},
    )


def _intake_message(request: HttpRequest, case: Case) -> None:
    if case.state == wf.TRANSFERRED:
        messages.success(
            request, f"已受理并转交{case.service.get_deciding_level_display()}办理，案件编号 {case.number}"
        )
    elif case.state == wf.PENDING:
        messages.warning(request, f"材料不齐，请出具一次性告知书（案件编号 {case.number}），补齐后受理")
    else:
        due = f"，{case.current_step}截止 {case.current_due:%Y-%m-%d}" if case.current_due else ""
        messages.success(request, f"已受理，案件编号 {case.number}{due}")


# ---------------------------------------------------------------- the case page

ACTION_LABELS: dict[str, str] = {
    "submit": "提交申请",
    "register_conflict": "近亲属单独登记备案",
    "transfer": "受理并转交",
}
for _workflow in wf.WORKFLOWS.values():
    for _action in _workflow.actions.values():
        ACTION_LABELS.setdefault(_action.code, _action.label)

_OPINIONS = {"approve": "拟批准", "refuse": "拟不予批准"}
_METHODS = {"verified": "核实", "democratic_appraisal": "民主评议"}
_TIERS = {"self": "具备生活自理能力", "partial": "部分丧失生活自理能力", "full": "完全丧失生活自理能力"}
_DATA_LABELS = {
    "channel": "申请渠道",
    "received": "收取材料",
    "missing": "尚缺材料",
    "declarations": "备案记录",
    "to": "转交",
    "investigators": "调查人员",
    "signature": "家庭签字",
    "declared": "认定事项",
    "summary": "核对结果",
    "visit_date": "入户日期",
    "findings": "情况",
    "per_capita_income": "家庭人均月收入",
    "opinion": "初审意见",
    "amount": "金额",
    "reasons": "理由",
    "reason": "理由",
    "content": "异议内容",
    "raised_by": "异议人",
    "method": "方式",
    "result": "结果",
    "upheld": "异议",
    "start_month": "起始发放月份",
    "situation": "急难情况",
    "tier": "评估结论",
    "items": "六项活动",
    "authorisation_signed": "核对授权书",
    "pledge_signed": "承诺书",
    "after_notice": "一次性告知后补齐",
    "due_on": "办理期限",
    "computed_amount": "核对测算金额",
    "amount_reason": "金额调整理由",
}


def _readable(key: str, value, material_names: dict[str, str]) -> str:
    if isinstance(value, bool):
        if key == "upheld":
            return "成立" if value else "不成立"
        if key in ("authorisation_signed", "pledge_signed"):
            return "已签署" if value else "未签署"
        return "是" if value else "否"
    if key == "channel":
        return Channel(value).label if value in Channel.values else str(value)
    if key == "received":
        return "、".join(material_names.get(c, c) for c in value) or "无"
    if key == "declarations":
        return f"{len(value)}条"
    if key == "declared":
        return "；".join(value) or "无"
    if key == "per_capita_income":
        return f"{value}元/月"
    if key == "amount":
        return f"{value}元"
    if key == "opinion":
        return _OPINIONS.get(value, value)
    if key == "method":
        return _METHODS.get(value, value)
    if key == "tier":
        return _TIERS.get(value, value)
    if key == "items":
        names = dict(SELF_CARE_ITEMS)
        return "；".join(f"{names.get(k, k)}{'能完成' if ok else '不能完成'}" for k, ok in value.items())
    if key == "start_month":
        return f"{datetime.date.fromisoformat(value):%Y年%m月}"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "无"
    return str(value)


def _describe_check(data: dict) -> list[tuple[str, str]]:
    """信息核对: the engine's verdict, per-capita income and amount; or the officer's manual paper result."""
    rows = []
    if data.get("manual"):
        rows.append(("核对方式", "手工登记（未联网核对）"))
    if data.get("verdict"):
        rows.append(("核对结论", data["verdict"]))
    if data.get("per_capita_income") not in (None, ""):
        rows.append(("家庭人均月收入", f"{data['per_capita_income']}元/月"))
    if data.get("amount") not in (None, "") and data.get("eligible"):
        rows.append(("测算救助金额", f"{data['amount']}元/月"))
        rows += [(f"　{label}", text) for label, text in data.get("breakdown") or []]
    summary = (data.get("summary") or "").strip()
    if summary and summary != data.get("verdict"):
        rows.append(("核对结果", summary))
    if (data.get("remark") or "").strip():
        rows.append(("经办人说明", data["remark"].strip()))
    return rows


def _override_text(override: dict) -> str:
    return f"{'；'.join(override.get('concerns') or [])}。理由：{override.get('reasons', '')}"


def describe_event(event: CaseEvent, material_names: dict[str, str]) -> list[tuple[str, str]]:
    """The event's data as (label, text) pairs for people to read."""
    data = dict(event.data or {})
    if event.action == "record_check":
        return _describe_check(data)
    rows = []
    if "notice_from" in data and "notice_to" in data:
        rows.append(("公示期", f"{data.pop('notice_from')} 至 {data.pop('notice_to')}"))
    if event.action == "submit" and not data.get("received"):
        data.pop("received", None)
    for key, value in data.items():
        if value in (None, "", [], {}) or key == "investigation":
            continue
        if key == "check_override":
            rows.append(("越过核对结果确认", _override_text(value)))
            continue
        if key == "amount" and event.action in ("approve", "complete_documents", "first_review", "pay_first"):
            label = {"approve": "核定金额", "first_review": "拟救助金额", "pay_first": "先行救助金额"}.get(
                event.action, "救助金额"
            )
            rows.append((label, f"{value}元" + ("" if event.action == "pay_first" else "/月")))
            continue
        rows.append((_DATA_LABELS.get(key, key), _readable(key, value, material_names)))
    return rows


# As in eventlog.refresh: a refused case still has the written-refusal limit running.
_NO_CURRENT_DEADLINE = (wf.APPROVED, wf.WITHDRAWN, wf.NOT_ACCEPTED, wf.TRANSFERRED)


def _mask_conflict_note(note: str) -> str:
    """The note lists declared people as "姓名：类别，关系"; their names are masked like the applicant's."""
    parts = []
    for part in (note or "").split("；"):
        name, sep, rest = part.partition("：")
        parts.append(f"{mask_name(name)}{sep}{rest}" if sep else part)
    return "；".join(parts)


@dataclass
class DeadlineRow:
    status: ClockStatus
    overdue: bool
    is_current: bool


@dataclass
class MaterialRow:
    name: str
    status: str  # received / missing / optional / shared
    detail: str


def _materials(materials: list) -> list[MaterialRow]:
    rows = []
    for m in materials:
        material = m.material
        if not material.demandable:
            rows.append(MaterialRow(material.name, "shared", f"由{material.shared_from}共享获取，无需提交"))
        elif m.received:
            when = f"{m.received_on:%Y-%m-%d} " if m.received_on else ""
            upload = f"（电子件：{m.file_name}）" if m.file_name else ""
            rows.append(MaterialRow(material.name, "received", f"{when}已收取{upload}"))
        elif material.required:
            rows.append(MaterialRow(material.name, "missing", "尚缺"))
        else:
            rows.append(MaterialRow(material.name, "optional", "未提交（非必需）"))
    return rows


def _documents(case: Case, events: list[CaseEvent]) -> list[dict]:
    """The notices that can be printed for the case now, with their links."""
    return [
        {"kind": kind, "label": label, "url": reverse("cases:document", args=[case.pk, kind])}
        for kind, label in documents.available(case, events)
    ]


# The events the page reads besides the deadlines' milestones: the notices', the confirmations with their overrides,
# and the checks.
_PAGE_EVENTS = (*documents.NOTICE_EVENTS, *CONFIRMING_ACTIONS, "record_check")


@staff_view
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_page(request, pk)


# The case history (办理记录) a page at a time: `?events_page=1` (the default) is the latest events, each further
# page goes back in time, the last one holds the application and its acceptance. However long a case's history grows
# (objections recorded under public notice), the page reads and renders at most this many events.
HISTORY_PAGE_SIZE = 30


def _case_page(request: HttpRequest, pk: int, refused: ActionForm | None = None) -> HttpResponse:
    """The case page; `refused`: an action form the service or its own validation refused, shown again as typed."""
    case = services.view_case(request.user, pk)
    today = timezone.localdate()
    key = eventlog.key_events(case, _PAGE_EVENTS)  # the deadlines', overrides', check's and notices' in one query
    statuses = eventlog.deadlines(case, events=key)
    now = current(statuses) if case.state not in _NO_CURRENT_DEADLINE else None
    deadline_rows = [
        DeadlineRow(s, not s.informational and s.overdue(today), now is not None and s is now) for s in statuses
    ]
    history = Paginator(case.events.select_related("actor").order_by("-seq"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("events_page")
    )
    events = list(history.object_list)
    events.reverse()  # a page reads oldest first, like the whole log
    materials = list(case.materials.select_related("material").order_by("material__order", "material__id"))
    material_names = {m.material.code: m.material.name for m in materials}
    can_view_checks = has_capability(request.user, Capability.VIEW_CHECKS)
    event_rows = [
        {
            "event": e,
            "label": ACTION_LABELS.get(e.action, e.action),
            "from_label": wf.STATE_LABELS.get(e.from_state, e.from_state),
            "to_label": wf.STATE_LABELS.get(e.to_state, e.to_state),
            "details": describe_event(e, material_names),
            "report_url": _report_url(e.data, can_view_checks) if e.action == "record_check" else "",
        }
        for e in events
    ]
    # Every override of the case, whichever page of the history shows it: only confirming steps carry one.
    overrides = [
        {"label": ACTION_LABELS.get(e.action, e.action), "event": e, "text": _override_text(e.data["check_override"])}
        for e in key
        if e.action in CONFIRMING_ACTIONS and (e.data or {}).get("check_override")
    ]
    prefetch_related_objects([o["event"] for o in overrides], "actor")  # the officers named, for the few there are
    check = latest_check(case, key)
    if check is not None:
        check = {
            **check,
            "details": _describe_check(check),
            "report_url": _report_url(check, can_view_checks),
            "first_review": case.state == wf.FIRST_REVIEW,
        }
    action_forms = [
        (
            step.action,
            refused
            if refused is not None and refused.action == step.action.code
            else action_form(step.action.code, case),
            step,
        )
        for step in next_step.ordered(case, services.available_actions(request.user, case))
    ]
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "state_label": wf.STATE_LABELS.get(case.state, case.state),
            "final": case.state in wf.FINAL_STATES,
            "deadlines": deadline_rows,
            "today": today,
            "materials": _materials(materials),
            "missing": procedure.missing_materials(case) if case.state == wf.PENDING else [],
            "events": event_rows,
            "history": history,
            "action_forms": action_forms,
            "documents": _documents(case, key),
            "household_size": services.household_size(case),
            "conflict_note": _mask_conflict_note(case.conflict_note),
            "check": check,
            "overrides": overrides,
        },
    )


def _report_url(data: dict | None, allowed: bool) -> str:
    """The 核对报告 of an engine check, for users who may read check results."""
    result_id = (data or {}).get("check_result")
    return reverse("checks:report", args=[result_id]) if allowed and result_id else ""


@staff_view
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Take one action from the case page; any refusal comes back as a message on the case page, nothing changed."""
    require(request.user, Capability.EDIT_PEOPLE)
    case = Case.objects.select_related("service").get_for_user(request.user, pk=pk)
    label = ACTION_LABELS.get(action, action)
    form = action_form(action, case, data=request.POST)
    if not form.is_valid():
        if "version" in form.errors:
            messages.error(request, "页面已过期，请刷新后重试")
        else:
            problems = "；".join(
                f"{form.fields[name].label}：{errors[0]}" if name in form.fields else errors[0]
                for name, errors in form.errors.items()
            )
            messages.error(request, f"“{label}”未办理：{problems}")
            return _case_page(request, case.pk, refused=form)  # what was typed stays, with the errors on it
        return redirect("cases:case", pk=case.pk)
    try:
        case = services.act(
            request.user,
            case.pk,
            action,
            expected_version=form.cleaned_data["version"],
            today=form.action_date(),
            **form.to_data(),
        )
    except NotFound:
        raise
    except Conflict as exc:  # the page is stale: show the case as it is now
        messages.error(request, f"“{label}”未办理：{exc.message}")
    except DomainError as exc:  # includes PermissionDeniedError (wrong role)
        messages.error(request, f"“{label}”未办理：{exc.message}")
        attach_error(form, exc)
        return _case_page(request, case.pk, refused=form)
    else:
        messages.success(request, f"已办理“{label}”，案件状态：{wf.STATE_LABELS.get(case.state, case.state)}")
    return redirect("cases:case", pk=case.pk)
