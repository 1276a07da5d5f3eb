"""Writing and verifying the hash-chained audit log, and recording denied attempts."""

import contextvars
import datetime
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from .middleware import current_request_context
from .models import AuditChainHead, AuditEntry

GENESIS = "0" * 64
Action = AuditEntry.Action


def _fields(entry: AuditEntry) -> list:
    """What the hash covers, in order (after `seq`, the first item)."""
    return [
        entry.at.isoformat(),
        entry.user_id,
        entry.username,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_label,
        entry.region_code,
        entry.detail,
        entry.ip,
        entry.user_agent,
    ]


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _content(entry: AuditEntry) -> str:
    return _dumps([entry.seq, *_fields(entry)])


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + _content(entry)).encode()).hexdigest()


def record(
    action: str,
    *,
    user=None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    label: str = "",
    region_code: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry. `obj` may provide `audit_type`, `audit_label()` and `audit_region_code()` (else its
    `region_id`, where it has one)."""
    if obj is not None:
        object_type = object_type or getattr(obj, "audit_type", obj._meta.model_name)
        object_id = object_id or obj.pk
        label = label or (obj.audit_label() if hasattr(obj, "audit_label") else str(obj))
        region_code = region_code or (
            obj.audit_region_code() if hasattr(obj, "audit_region_code") else getattr(obj, "region_id", "") or ""
        )
    ctx = current_request_context()
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    entry = AuditEntry(
        # Microsecond-free timestamps survive every database's round trip unchanged, so hashes recompute exactly.
        at=timezone.now().replace(microsecond=0),
        user=user if authenticated else None,
        username=(user.get_username() if authenticated else (detail or {}).get("username", ""))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=label[:200],
        region_code=region_code,
        detail=json.loads(_dumps(detail or {})),
        ip=ctx.ip if ctx else "",
        user_agent=ctx.user_agent if ctx else "",
    )
    if connection.vendor == "postgresql" and _append_in_one_statement(entry):
        return entry
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        entry.seq, entry.prev_hash = head.last_seq + 1, head.last_hash
        entry.hash = entry_hash(head.last_hash, entry)
        entry.save()
        head.last_seq, head.last_hash, head.prev_hash = entry.seq, entry.hash, head.last_hash
        head.save(update_fields=["last_seq", "last_hash", "prev_hash"])
    return entry


# PostgreSQL: the head moves on and the entry is written in one statement, its hash computed by the database
# (sha256 over the previous hash and the same JSON content `entry_hash` hashes, the sequence number spliced in
# first). The head's row lock is then held for one statement, not across round trips and the Python between them:
# every page view is audited, and under load requests queued on that lock. Outside a transaction it commits alone.
_APPEND = """
WITH head AS (
    UPDATE core_auditchainhead
    SET last_seq = last_seq + 1,
        prev_hash = last_hash,
        last_hash = encode(sha256(convert_to(last_hash || '[' || (last_seq + 1)::text || ',' || %s, 'UTF8')), 'hex')
    WHERE id = 1
    RETURNING last_seq, prev_hash, last_hash
)
INSERT INTO core_auditentry
    (seq, at, user_id, username, action, object_type, object_id, object_label, region_code, detail, ip, user_agent,
     prev_hash, hash)
SELECT last_seq, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, prev_hash, last_hash FROM head
RETURNING id, seq, prev_hash, hash
"""


def _append_in_one_statement(entry: AuditEntry) -> bool:
    """Append `entry` (seq, hashes and id filled in); False when the chain has no head row yet (a new database)."""
    tail = _dumps(_fields(entry))[1:]  # the content after "[": the database writes "[" + seq + "," before it
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND,
            [
                tail,
                entry.at,
                entry.user_id,
                entry.username,
                entry.action,
                entry.object_type,
                entry.object_id,
                entry.object_label,
                entry.region_code,
                _dumps(entry.detail),
                entry.ip,
                entry.user_agent,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk, entry.seq, entry.prev_hash, entry.hash = row
    entry._state.adding, entry._state.db = False, "default"
    return True


# A repeat of the same export by the same user within this many seconds is one export: a double click on a
# download link sends two requests, and the audit trail should show what the officer did, not how they clicked.
REPEAT_SECONDS = 5


def record_once(action: str, *, user, obj, detail: dict) -> AuditEntry:
    """`record`, unless `user` already has an entry of `action` on `obj` with the same `detail` from the last
    REPEAT_SECONDS seconds: then that entry, and nothing is written."""
    object_type = getattr(obj, "audit_type", obj._meta.model_name)
    normalised = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    with transaction.atomic():
        # The chain head's row lock orders this look-up with every audit write, so the two requests of a double
        # click cannot both find nothing and both write.
        AuditChainHead.objects.select_for_update().get_or_create(id=1)
        since = timezone.now().replace(microsecond=0) - datetime.timedelta(seconds=REPEAT_SECONDS)
        recent = AuditEntry.objects.filter(
            action=action, user=user, object_type=object_type, object_id=str(obj.pk), at__gte=since
        ).order_by("-seq")
        for entry in recent[:20]:
            if entry.detail == normalised:
                return entry
        return record(action, user=user, obj=obj, detail=detail)


# ------------------------------------------------------------------------------------------------- denied attempts

# Why an attempt was refused (the audit entry's label; an auditor filters them by the action "越权访问被拒").
DENIAL_REASONS = {
    "out_of_scope": "访问其他辖区的记录",
    "forbidden": "无权执行的操作",
    "registered_elsewhere": "登记已在其他地区登记的公民身份号码",
}

_denials: contextvars.ContextVar[list[dict] | None] = contextvars.ContextVar("minzheng_denials", default=None)


def denied(
    user,
    reason: str,
    *,
    message: str = "",
    object_type: str = "",
    object_id: str | int = "",
    target_region: str = "",
) -> None:
    """Note an attempt refused for scope or role: another region's record, an action the role may not take. Within a
    request it is recorded when the request is over (`deferred_denials`): the transaction that refused it may still
    roll back, and would take the entry with it. Outside a request (commands, the worker) it is recorded at once.
    The entry is filed under the user's region, for the auditor who answers for the user; the record's region is in
    the detail."""
    denial = {
        "user": user,
        "reason": reason,
        "message": message[:200],
        "object_type": object_type,
        "object_id": str(object_id),
        "target_region": target_region or "",
    }
    pending = _denials.get()
    if pending is None:
        _record_denial(denial)
    elif denial not in pending:
        pending.append(denial)


def denials_noted() -> bool:
    return bool(_denials.get())


@contextmanager
def deferred_denials() -> Iterator[None]:
    """Collect the request's denied attempts and record them once the response is made (RequestContextMiddleware)."""
    token = _denials.set([])
    try:
        yield
    finally:
        pending = _denials.get() or []
        _denials.reset(token)
        for denial in pending:
            _record_denial(denial)


def _record_denial(denial: dict) -> None:
    user = denial["user"]
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    ctx = current_request_context()
    what = denial["object_type"] + (f" #{denial['object_id']}" if denial["object_id"] else "")
    record(
        Action.DENIED,
        user=user if authenticated else None,
        object_type=denial["object_type"],
        object_id=denial["object_id"],
        label=f"{DENIAL_REASONS.get(denial['reason'], denial['reason'])}{'：' + what if what else ''}",
        region_code=(getattr(user, "region_id", "") or "") if authenticated else "",
        detail={
            "reason": denial["reason"],
            "message": denial["message"],
            "target_region": denial["target_region"],
            "path": ctx.path if ctx else "",
        },
    )


@dataclass
class ChainProblem:
    seq: int
    message: str


def verify_chain(batch: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Recompute every hash in sequence order (paged by key range). Returns (entries checked, problems)."""
    problems: list[ChainProblem] = []
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in _entries(batch):
        if entry.seq != expected_seq:
            problems.append(ChainProblem(expected_seq, f"第 {expected_seq}–{entry.seq - 1} 条记录缺失（已被删除）"))
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, f"第 {entry.seq} 条记录的前序哈希与上一条不符（链被改动）"))
        if entry_hash(entry.prev_hash, entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, f"第 {entry.seq} 条记录内容与哈希不符（已被篡改）"))
        prev_hash, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        problems.append(
            ChainProblem(
                expected_seq,
                f"链尾不符：应有 {head.last_seq} 条记录，实有 {expected_seq - 1} 条（末尾记录被删除或改动）",
            )
        )
    return checked, problems


def _entries(batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        page = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not page:
            return
        yield from page
        last = page[-1].seq
