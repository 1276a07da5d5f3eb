"""Departmental data API: the sources' declared schemas (the contract), pushing rows, listing snapshots.

The push endpoint reads its JSON body itself rather than through a ninja body parameter: 50,000 rows are larger than
Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which guards every other endpoint, so this one applies its own byte limit
(PUSH_MAX_BYTES) and validates the body with the same pydantic schema the OpenAPI document shows.
"""

import csv
import datetime
import json
from typing import Any

import pydantic
from django.urls import reverse
from ninja import Router, Schema, Status

from minzheng.accounts.roles import Capability, has_capability
from minzheng.core.errors import DomainError, PermissionDeniedError

from . import files, importer, selectors, sources
from .models import Snapshot

router = Router(tags=["部门数据"])

PUSH_MAX_BYTES = 64 * 1024 * 1024
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
        ..., description=f"数据行，键为字段名或中文列名（见 GET /sources），每次最多{importer.MAX_API_ROWS}行"
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


def rejects_url(relative: str) -> str:
    return reverse("exchange:rejects", args=[relative.removeprefix("rejects/")]) if relative else ""


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


def _read_push(request) -> RowsIn:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > PUSH_MAX_BYTES:
        raise importer.PayloadTooLarge(
            f"请求体过大（超过{PUSH_MAX_BYTES // 1024 // 1024}MB）；请分批推送，每次最多{importer.MAX_API_ROWS}行"
        )
    body = request.read(PUSH_MAX_BYTES + 1)
    if len(body) > PUSH_MAX_BYTES:
        raise importer.PayloadTooLarge(f"请求体过大（超过{PUSH_MAX_BYTES // 1024 // 1024}MB）")
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise DomainError("请求体不是有效的JSON", "invalid_request") from None
    if isinstance(data, dict) and isinstance(data.get("rows"), list) and len(data["rows"]) > importer.MAX_API_ROWS:
        raise importer.PayloadTooLarge(
            f"单次推送最多{importer.MAX_API_ROWS}行，本次{len(data['rows'])}行；请分批推送或改用文件导入"
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
    payload = _read_push(request)
    outcome = importer.import_rows(
        source, payload.rows, region_code=payload.region, period=payload.period, user=request.user
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
