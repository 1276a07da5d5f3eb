"""Uploaded materials: the metadata of a file the applicant provided for one material of a case.

Only the metadata (name, size, SHA-256 digest, type) is recorded here; the case's material row is marked received.
Materials other departments supply through data sharing may not be demanded, so they cannot be uploaded either.
Uploading the signed authorisation or pledge also sets the case's signature flag, as ticking it does in the services.
"""

import datetime
import re
import unicodedata

from django.db import transaction
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import DomainError

from . import workflows as wf
from .models import Case, CaseMaterial
from .procedure import SIGNATURES

MAX_FILE_SIZE = 50 * 1024 * 1024  # 50 MB
# Accepted types and the file-name extensions that go with each.
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _file_name(raw: str) -> str:
    name = (raw or "").strip()
    if not name:
        raise DomainError("请填写文件名", "invalid_file_name", field="file_name")
    if len(name) > 200:
        raise DomainError("文件名过长（不超过200个字符）", "invalid_file_name", field="file_name")
    if "/" in name or "\\" in name or name in (".", "..") or any(unicodedata.category(c) == "Cc" for c in name):
        raise DomainError("文件名不能包含路径或控制字符", "invalid_file_name", field="file_name")
    return name


def _file_size(raw: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise DomainError("文件大小应为整数（字节）", "invalid_file_size", field="file_size")
    if raw <= 0:
        raise DomainError("文件大小应大于0", "invalid_file_size", field="file_size")
    if raw > MAX_FILE_SIZE:
        raise DomainError("文件大小不能超过50 MB", "invalid_file_size", field="file_size")
    return raw


def _sha256(raw: str) -> str:
    digest = (raw or "").strip().lower()
    if not _SHA256.fullmatch(digest):
        raise DomainError("文件摘要应为64位十六进制的SHA-256值", "invalid_sha256", field="sha256")
    return digest


def _content_type(raw: str, file_name: str) -> str:
    content_type = (raw or "").split(";", 1)[0].strip().lower()
    extensions = CONTENT_TYPES.get(content_type)
    if extensions is None:
        raise DomainError("仅支持上传PDF、JPEG或PNG格式的文件", "invalid_content_type", field="content_type")
    if not file_name.lower().endswith(extensions):
        raise DomainError(
            f"文件扩展名与文件类型不符（应为{'、'.join(extensions)}）", "invalid_content_type", field="file_name"
        )
    return content_type


def record_material_upload(
    user,
    case_id: int,
    material_code: str,
    *,
    file_name: str,
    file_size: int,
    sha256: str,
    content_type: str,
    today: datetime.date | None = None,
) -> CaseMaterial:
    """Record an uploaded file's metadata for one material of a case and mark the material received.

    Raises DomainError (nothing changed) for a case out of scope (NotFound), a closed case, a material the service
    does not have or the applicant need not provide, or invalid metadata. A new upload replaces the previous one.
    """
    require(user, Capability.EDIT_PEOPLE)
    today = today or timezone.localdate()
    with transaction.atomic():
        # Locked for the upload, so a workflow action cannot close the case in between (services.act updates the row).
        cases = Case.objects.select_related("service", "applicant").select_for_update(of=("self",))
        case = cases.get_for_user(user, pk=case_id)
        if case.state in wf.FINAL_STATES:
            raise DomainError(
                f"案件已办结（{wf.STATE_LABELS[case.state]}），不能再上传材料", "case_closed", field="material"
            )
        row = case.materials.select_related("material").filter(material__code=material_code).first()
        if row is None:
            raise DomainError(f"材料编码不正确：{material_code}", "unknown_material", field="material")
        if not row.material.demandable:
            raise DomainError(f"该材料由{row.material.shared_from}获取，无需提交", "material_shared", field="material")
        name = _file_name(file_name)
        size = _file_size(file_size)
        digest = _sha256(sha256)
        kind = _content_type(content_type, name)
        row.received = True
        row.received_on = row.received_on or today
        row.file_name, row.file_size, row.file_sha256, row.content_type = name, size, digest, kind
        row.save(update_fields=["received", "received_on", "file_name", "file_size", "file_sha256", "content_type"])
        flag = SIGNATURES.get(material_code)
        if flag and not getattr(case, flag):  # the signed authorisation or pledge itself (services.SIGNATURES)
            setattr(case, flag, True)
            Case.objects.filter(pk=case.pk).update(**{flag: True})
        audit.record(
            audit.Action.UPDATE,
            user=user,
            obj=case,
            detail={
                "upload": material_code,
                "file_name": name,
                "file_size": size,
                "sha256": digest,
                "content_type": kind,
            },
        )
    return row
