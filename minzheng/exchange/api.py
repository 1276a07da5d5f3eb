"""Departmental data API: the sources' declared schemas (the contract), pushing rows, listing snapshots.

The push endpoint reads its JSON body itself rather than through a ninja body parameter: 50,000 rows are larger than
Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which guards every other endpoint, so this one applies its own byte limit
(IMPORT_MAX_PUSH_BYTES) and validates the body with the same pydantic schema the OpenAPI document shows. A push is
held to the same limits as a file (`limits`); a refused one is audited.
"""

import csv
import datetime
import json
from typing import Any

import pydantic
from django.conf import settings
from ninja import Router, Schema, Status

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.errors import DomainError, PermissionDeniedError

from . import files, importer, limits, selectors, sources
from .files import rejects_url
from .models import Snapshot

router = Router(tags=["部门数据"])

REJECTS_SHOWN = 1000


class FieldOut(Schema):
    name: str
    label: str
    kind: str
    type: str
    required: bool
    choices: dict[str, str]


class SourceOut(Schema):
    code: str
    name: str
    department: str
    category: str
    category_name: str
    description: str
    fields: list[FieldOut]


class SnapshotOut(Schema):
    id: int
    source: str
    source_name: str
    region_code: str
    region_name: str
    period: datetime.date
    version: int
    file_format: str
    original_name: str
    rows_total: int
    rows_valid: int
    rows_rejected: int
    rows_unmatched: int
    rejects_url: str
    imported_by: str
    imported_at: datetime.datetime


class RejectOut(Schema):
    row_no: int
    reason: str


class OutcomeOut(Schema):
    duplicate: bool
    message: str
    snapshot: SnapshotOut | None
    rows_total: int
    rows_valid: int
    rows_rejected: int
    rows_unmatched: int
    rejects_url: str
    rejects: list[RejectOut]


class RowsIn(Schema):
    region: str = pydantic.Field(..., description="数据覆盖的区划代码（2、4、6、9或12位），须在本人辖区内")
    period: datetime.date = pydantic.Field(..., description="数据截至日期（YYYY-MM-DD），不能晚于今天")
    rows: list[dict[str, Any]] = pydantic.Field(
        ..., description=f"数据行，键为字段名或中文列名（见 GET /sources），每次最多{settings.IMPORT_MAX_PUSH_ROWS}行"
    )
    confirm_smaller: bool = pydantic.Field(
        False,
        description="确认数据完整：有效行数不足该区划现行数据的"
        f"{settings.IMPORT_MIN_REPLACED_SHARE:.0%}时须为 true，否则整批拒收（422 too_few_rows）",
    )


def _source_out(spec: sources.Source) -> SourceOut:
    return SourceOut(
        code=spec.code,
        name=spec.name,
        department=spec.department,
        category=spec.category,
        category_name=sources.CATEGORIES.get(spec.category, "监测预警信号" if spec.category == sources.SIGNAL else ""),
        description=spec.description,
        fields=[
            FieldOut(name=f.name, label=f.label, kind=f.kind, type=f.sql_type, required=f.required, choices=f.choices)
            for f in spec.fields
        ],
    )


def snapshot_out(s: Snapshot) -> SnapshotOut:
    return SnapshotOut(
        id=s.pk,
        source=s.source,
        source_name=s.get_source_display(),
        region_code=s.region_id,
        region_name=s.region.name,
        period=s.period,
        version=s.version,
        file_format=s.file_format,
        original_name=s.original_name,
        rows_total=s.rows_total,
        rows_valid=s.rows_valid,
        rows_rejected=s.rows_rejected,
        rows_unmatched=s.rows_unmatched,
        rejects_url=rejects_url(s.rejects_path),
        imported_by=s.imported_by.get_username() if s.imported_by_id else "",
        imported_at=s.imported_at,
    )


def _first_rejects(relative: str) -> list[RejectOut]:
    if not relative:
        return []
    found = []
    with files.rejects_file(relative).open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            found.append(RejectOut(row_no=int(row["行号"]), reason=row["拒收原因"]))
            if len(found) >= REJECTS_SHOWN:
                break
    return found


def _read_push(request, source: str) -> RowsIn:
    """The body, within the push limits (a refusal is audited before the body is even parsed)."""
    bounds = limits.current()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = f"请求体过大（超过{limits.size_text(bounds.push_bytes)}）；请分批推送，每次最多{bounds.push_rows}行"
    with importer.refusals_audited(request.user, source, "", None, size=length or None):
        if length > bounds.push_bytes:
            raise importer.PayloadTooLarge(too_large, "payload_too_large")
        body = request.read(bounds.push_bytes + 1)
        if len(body) > bounds.push_bytes:
            raise importer.PayloadTooLarge(too_large, "payload_too_large")
        try:
            data = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise DomainError("请求体不是有效的JSON", "invalid_request") from None
        rows = data.get("rows") if isinstance(data, dict) else None
        if isinstance(rows, list) and len(rows) > bounds.push_rows:
            raise importer.PayloadTooLarge(
                f"单次推送最多{bounds.push_rows}行，本次{len(rows)}行；请分批推送或改用文件导入", "too_many_rows"
            )
    try:
        return RowsIn.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "；".join(
            f"{'.'.join(str(p) for p in err['loc']) or '请求'}：{err['msg']}" for err in exc.errors()[:5]
        )
        raise DomainError(
            f"请求数据格式不正确（应为 {{region, period, rows}}）：{problems}", "invalid_request"
        ) from None


@router.get("/sources", response=list[SourceOut], summary="各部门数据来源及其字段约定")
def list_sources(request):
    return [_source_out(spec) for spec in sources.ALL_SOURCES.values()]


@router.get("/sources/{source}", response=SourceOut, summary="一个数据来源的字段约定")
def get_source(request, source: str):
    return _source_out(sources.get(source))


@router.post(
    "/sources/{source}/rows",
    response={200: OutcomeOut, 201: OutcomeOut},
    summary="推送一批数据行（校验后生成数据快照）",
    description=(
        "与文件导入相同的逐行校验：有效行生成新版本的数据快照，拒收行附原因（返回前1000条，完整报告见 rejects_url）。"
        "同一批数据重复推送不会重复导入（duplicate=true）。有新快照时返回201。"
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": RowsIn.model_json_schema()}}}
    },
)
def push_rows(request, source: str):
    if not has_capability(request.user, Capability.IMPORT_DATA):
        raise PermissionDeniedError(f"您的角色无权执行此操作：{Capability.IMPORT_DATA.label}", "forbidden")
    sources.get(source)
    payload = _read_push(request, source)
    outcome = importer.import_rows(
        source,
        payload.rows,
        region_code=payload.region,
        period=payload.period,
        user=request.user,
        confirm_smaller=payload.confirm_smaller,
    )
    body = OutcomeOut(
        duplicate=outcome.duplicate,
        message=outcome.message,
        snapshot=snapshot_out(outcome.snapshot) if outcome.snapshot else None,
        rows_total=outcome.rows_total,
        rows_valid=outcome.rows_valid,
        rows_rejected=outcome.rows_rejected,
        rows_unmatched=outcome.rows_unmatched,
        rejects_url=rejects_url(outcome.rejects_path),
        rejects=_first_rejects(outcome.rejects_path),
    )
    return Status(201 if outcome.snapshot is not None and not outcome.duplicate else 200, body)


@router.get("/snapshots", response=list[SnapshotOut], summary="数据快照（覆盖本人辖区、上级或下辖区划的）")
def list_snapshots(request, source: str = "", limit: int = 200):
    user = request.user
    if not (has_capability(user, Capability.IMPORT_DATA) or has_capability(user, Capability.VIEW_CHECKS)):
        raise PermissionDeniedError("您的角色无权查看部门数据快照", "forbidden")
    if source:
        sources.get(source)
    limit = max(1, min(limit, 1000))
    return [snapshot_out(s) for s in selectors.snapshots_for(user, source).order_by("-imported_at", "-id")[:limit]]
