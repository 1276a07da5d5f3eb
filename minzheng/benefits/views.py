"""Payment pages: the county's rolls by month with totals and follow-ups, a roll with its held lines and actions, the
follow-up list of failed payments, the review queue, xlsx exports of every table, and the public roll per village.
Thin: parse, call the services and selectors (which check capability and scope), render."""

import io
from urllib.parse import quote

import xlsxwriter
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from minzheng.accounts.roles import Capability, has_capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError, NotFound
from minzheng.core.http import rerun, run_progress, staff_view
from minzheng.core.masking import mask_account, mask_name
from minzheng.core.runs import fail_stale, refresh_stale

from . import bankfiles, reviews, rolls, selectors, settlement
from .jobs import default_month
from .kinds import label as benefit_label
from .models import LineState, PaymentLine, PaymentRoll, RollRun
from .prepayment import HOLD_LABELS

PAGE_SIZE = 100


def _month(request) -> "datetime.date":  # noqa: F821
    raw = request.GET.get("month") or request.POST.get("month")
    try:
        return rolls.parse_month(raw) if raw else default_month()
    except DomainError:
        return default_month()


@staff_view
def county(request: HttpRequest) -> HttpResponse:
    """Rolls of a month with their status, totals by benefit, township and fund; preparation started from here."""
    require(request.user, Capability.VIEW_PAYMENTS)
    month = _month(request)
    if request.method == "POST":
        try:
            run = rolls.start_preparation(request.user, request.user.region.code, month)
            return redirect("benefits:run", run.pk)
        except DomainError as exc:
            _error(request, exc)
    fail_stale(RollRun.objects.all())  # preparations whose worker is gone show as failed, not 运行中 forever
    context = {
        "month": month,
        "rolls": selectors.rolls_for(request.user, month).order_by("county", "benefit", "kind", "seq"),
        "totals": selectors.totals(request.user, month),
        "runs": RollRun.objects.for_user(request.user).order_by("-id")[:5],
        "failed": settlement.follow_up(request.user).count(),
        "due_reviews": reviews.queue(request.user).count(),
        "can_prepare": has_capability(request.user, Capability.PREPARE_ROLLS),
    }
    return render(request, "benefits/county.html", context)


@staff_view
@require_safe
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.VIEW_PAYMENTS)
    run = refresh_stale(RollRun.objects.get_for_user(request.user, pk=pk))
    can_prepare = has_capability(request.user, Capability.PREPARE_ROLLS) and run.region_id == request.user.region_id
    return render(
        request,
        "benefits/run.html",
        {
            "run": run,
            "rolls": PaymentRoll.objects.for_user(request.user).filter(run=run),
            "hold_labels": HOLD_LABELS,
            **(rerun(reverse("benefits:county"), month=f"{run.month:%Y-%m}") if can_prepare else {}),
        },
    )


@staff_view
@require_safe
def run_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.VIEW_PAYMENTS)
    run = RollRun.objects.get_for_user(request.user, pk=pk)
    return run_progress(request, run, progress_url=reverse("benefits:run_progress", args=[pk]), what="编制发放名册")


@staff_view
@require_safe
def roll_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.VIEW_PAYMENTS)
    roll = PaymentRoll.objects.select_related("county", "prepared_by", "approved_by").get_for_user(request.user, pk=pk)
    audit.record(audit.Action.VIEW, user=request.user, obj=roll)
    lines = PaymentLine.objects.filter(roll=roll).select_related("region").order_by("id")
    state = request.GET.get("state", "")
    if state in LineState.values:
        lines = lines.filter(state=state)
    after = request.GET.get("after", "")
    if after.isascii() and after.isdigit() and len(after) < 19:
        lines = lines.filter(pk__gt=int(after))
    page = list(lines[: PAGE_SIZE + 1])
    context = {
        "roll": roll,
        "held": PaymentLine.objects.filter(roll=roll, state=LineState.HELD).order_by("id")[:200],
        "lines": page[:PAGE_SIZE],
        "next_after": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else "",
        "state": state,
        "states": LineState.choices,
        "layouts": bankfiles.layouts().values(),
        "can_prepare": has_capability(request.user, Capability.PREPARE_ROLLS),
        "can_approve": has_capability(request.user, Capability.APPROVE_ROLLS),
        # The officer who prepared the roll or resolved its lines is told why they cannot approve it, not offered it.
        "is_maker": roll.state == PaymentRoll.State.PREPARED and rolls.is_maker(request.user, roll),
        "verified": rolls.verify(roll) if roll.lines_hash else None,
    }
    return render(request, "benefits/roll.html", context)


def _error(request, exc: DomainError) -> None:
    """Out-of-scope objects stay 404 (no existence leak); refusals are shown on the page."""
    if isinstance(exc, NotFound):
        raise exc
    messages.error(request, exc.message)


def _done(request, target: str, message: str, *args):
    messages.success(request, message)
    return redirect(target, *args)


@staff_view
@require_POST
def roll_approve(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        roll = rolls.approve(request.user, pk)
        messages.success(request, f"名册已审核并冻结（摘要 {roll.lines_hash[:12]}…）")
    except DomainError as exc:
        _error(request, exc)
    return redirect("benefits:roll", pk)


@staff_view
@require_POST
def line_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    line = PaymentLine.objects.get_for_user(request.user, pk=pk)
    try:
        rolls.resolve_line(
            request.user, pk, release=request.POST.get("decision") == "release", note=request.POST.get("note", "")
        )
        messages.success(request, "已处理暂停明细")
    except DomainError as exc:
        _error(request, exc)
    return redirect("benefits:roll", line.roll_id)


@staff_view
@require_POST
def roll_export(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        name, data, content_type = settlement.export(request.user, pk, request.POST.get("layout", ""))
    except DomainError as exc:
        _error(request, exc)
        return redirect("benefits:roll", pk)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
@require_POST
def roll_return(request: HttpRequest, pk: int) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "请选择银行回盘文件")
        return redirect("benefits:roll", pk)
    if upload.size > bankfiles.MAX_RETURN_BYTES:
        messages.error(request, "回盘文件过大，未导入任何结果")
        return redirect("benefits:roll", pk)
    try:
        result = settlement.import_return(request.user, pk, upload.read(), upload.name)
        messages.success(request, f"回盘已导入：成功 {result.lines_paid} 笔，失败 {result.lines_failed} 笔")
    except DomainError as exc:
        _error(request, exc)
    return redirect("benefits:roll", pk)


@staff_view
def followup(request: HttpRequest) -> HttpResponse:
    lines = settlement.follow_up(request.user)
    if request.method == "POST":
        ids = [int(x) for x in request.POST.getlist("line") if x.isascii() and x.isdigit() and len(x) < 19]
        chosen = list(lines.filter(pk__in=ids))
        if not chosen:
            messages.error(request, "请选择要补发的明细")
            return redirect("benefits:followup")
        first = chosen[0]
        try:
            roll = rolls.supplementary(request.user, first.roll.county_id, first.benefit, [x.pk for x in chosen])
            return _done(request, "benefits:roll", f"已生成{roll.title}", roll.pk)
        except DomainError as exc:
            _error(request, exc)
    return render(
        request,
        "benefits/followup.html",
        {"lines": lines[:500], "can_prepare": has_capability(request.user, Capability.PREPARE_ROLLS)},
    )


@staff_view
@require_POST
def correct_account(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        settlement.correct_account(
            request.user,
            pk,
            bank_name=request.POST.get("bank_name", ""),
            bank_account=request.POST.get("bank_account", ""),
            account_holder=request.POST.get("account_holder", ""),
        )
        messages.success(request, "账号已更正，可将该明细纳入补发批次")
    except DomainError as exc:
        _error(request, exc)
    return redirect("benefits:followup")


@staff_view
def review_queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    if request.method == "POST":
        household = request.POST.get("household", "")
        try:
            if not (household.isascii() and household.isdigit() and len(household) < 19):
                raise NotFound("家庭不存在")
            ent = reviews.queue(request.user).filter(household_id=int(household)).first()
            if ent is None:
                raise NotFound("该家庭不在待复核名单中")
            case = reviews.open_review(
                request.user, ent.household_id, due_on=ent.next_review, note="定期复核（动态管理）"
            )
            return _done(request, "cases:case", f"已发起复核案件 {case.number}", case.pk)
        except DomainError as exc:
            _error(request, exc)
    rows = list(reviews.queue(request.user, today)[:500])
    return render(request, "benefits/reviews.html", {"rows": rows, "today": today})


# ---------------------------------------------------------------- xlsx exports of the tables

_TABLES = {
    "rolls": "发放名册",
    "benefit": "按待遇汇总",
    "township": "按乡镇汇总",
    "fund": "按资金来源汇总",
    "failed": "发放失败待处理",
    "reviews": "待复核家庭",
}


def _table(user, table: str, month):
    if table == "rolls":
        return ["县（市、区）", "名册", "状态", "笔数", "暂停", "应发金额", "成功金额", "失败笔数"], [
            [
                r.county.name,
                r.title,
                r.get_state_display(),
                r.lines_count,
                r.held_count,
                r.total,
                r.paid,
                r.failed_count,
            ]
            for r in selectors.rolls_for(user, month)
        ]
    if table in ("benefit", "township", "fund"):
        rows = selectors.totals(user, month)[table]
        head = {"benefit": "待遇类别", "township": "乡镇（街道）", "fund": "资金来源"}[table]
        return [head, "笔数", "金额（元）"], [[r.get("name") or r.get("fund"), r["n"], r["amount"]] for r in rows]
    if table == "failed":
        return ["名册", "所属月份", "领取人", "银行", "账号", "金额", "失败原因"], [
            [
                x.roll.title,
                f"{x.month:%Y-%m}",
                mask_name(x.recipient_name),
                x.bank_name,
                mask_account(x.bank_account),
                x.amount,
                x.bank_reason,
            ]
            for x in settlement.follow_up(user)
        ]
    if table == "reviews":
        return ["家庭", "待遇", "户主", "下次复核日期", "已发起复核"], [
            [
                e.household.number,
                benefit_label(e.benefit),
                mask_name(e.household.head.name if e.household.head else ""),
                e.next_review,
                "是" if e.review_open else "否",
            ]
            for e in reviews.queue(user)
        ]
    raise NotFound("没有这张表")


@staff_view
@require_safe
def table_xlsx(request: HttpRequest, table: str) -> HttpResponse:
    require(request.user, Capability.VIEW_PAYMENTS)
    if table not in _TABLES:
        raise NotFound("没有这张表")
    month = _month(request)
    head, rows = _table(request.user, table, month)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(_TABLES[table][:31])
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, head)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if hasattr(value, "as_tuple"):
                sheet.write_number(r, c, float(value), money)
            elif hasattr(value, "isoformat"):
                sheet.write_string(r, c, value.isoformat())
            else:
                sheet.write(r, c, value)
    book.close()
    audit.record(
        audit.Action.EXPORT,
        user=request.user,
        object_type="payments_table",
        object_id=table,
        label=f"{_TABLES[table]} {month:%Y-%m}",
        region_code=request.user.region_id,
        detail={"rows": len(rows)},
    )
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"{_TABLES[table]}-{month:%Y%m}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name, safe='')}"
    return response


# ---------------------------------------------------------------- review decision notices


@staff_view
@require_safe
def review_notice(request: HttpRequest, pk: int) -> HttpResponse:
    from minzheng.cases.models import Case

    from . import notices

    require(request.user, Capability.VIEW_PEOPLE)
    case = Case.objects.select_related("service", "household", "applicant", "region__parent__parent").get_for_user(
        request.user, pk=pk
    )
    data = notices.render(case)
    audit.record_once(audit.Action.EXPORT, user=request.user, obj=case, detail={"document": "review_decision"})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(notices.filename(case), safe='')}"
    response["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- public roll (no login)


@require_safe
def public_roll(request: HttpRequest, region_code: str, month: str) -> HttpResponse:
    from . import disclosure

    try:
        result = disclosure.village_roll(region_code, month)
    except NotFound as exc:
        return render(request, "regions/not_found.html", {"message": exc.message}, status=404)
    except DomainError as exc:
        return render(request, "regions/not_found.html", {"message": exc.message}, status=400)
    return render(request, "benefits/public_roll.html", {"result": result})
