"""Paying an approved roll through the bank: the bank file in the agent bank's layout, the bank's return (回盘) with
each line paid or failed, the follow-up list of failed lines, and the corrected account they are paid again to."""

import hashlib

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from minzheng.accounts.roles import Capability, require
from minzheng.core import audit
from minzheng.core.errors import Conflict, DomainError
from minzheng.core.masking import mask_id_number
from minzheng.registry import services as registry
from minzheng.registry.models import Household

from . import bankfiles, wide
from .kinds import label as benefit_label
from .models import BankReturn, LineState, PaymentLine, PaymentRoll
from .rolls import refresh_totals

EXPORTABLE = (PaymentRoll.State.APPROVED, PaymentRoll.State.EXPORTED)


_EXPORTED = (LineState.APPROVED, LineState.PAID, LineState.FAILED)


def _export_cursor(roll: PaymentRoll):
    """The roll's committed lines in line order as raw rows, read in chunks (one statement, no model instances)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, recipient_name, recipient_id_number, bank_account, amount_fen, month, region_id"
            " FROM benefits_paymentline WHERE roll_id = %s AND state IN (%s, %s, %s) ORDER BY id",
            [roll.pk, *_EXPORTED],
        )
        while chunk := cursor.fetchmany(20000):
            yield from chunk


def _month_text(value) -> str:
    return value[:7] if isinstance(value, str) else f"{value:%Y-%m}"


def export_rows(roll: PaymentRoll, lay: bankfiles.Layout):
    """The roll's committed lines as the layout's fields, in line order (read in chunks, never all at once)."""
    benefit = benefit_label(roll.benefit)
    for pk, name, id_number, account, fen, month, region in _export_cursor(roll):
        yield {
            "seq": pk,
            "name": name,
            "id_number": id_number if lay.full_id else mask_id_number(id_number),
            "account": account,
            "amount": fen,
            "benefit": benefit,
            "month": _month_text(month),
            "region": region,
        }


# Each field of a layout as a text expression (the same SQL on SQLite and PostgreSQL): the database formats the
# cells, so the rows it returns are the bank file's lines as they are written (no per-cell Python).
_FIELD_SQL = {
    "seq": "CAST(id AS TEXT)",
    "name": "recipient_name",
    "id_number": "recipient_id_number",
    "account": "bank_account",
    "month": "substr(CAST(month AS TEXT), 1, 7)",
    "region": "region_id",
}
_AMOUNT_SQL = {
    "fen": "CAST(amount_fen AS TEXT)",
    # amount_fen > 0 (a check constraint): whole yuan, a point, the fen as two digits
    # (% doubled: the statement always has parameters)
    "yuan": "CAST(amount_fen / 100 AS TEXT) || '.' || substr(CAST(100 + amount_fen %% 100 AS TEXT), 2)",
}


def export_values(roll: PaymentRoll, lay: bankfiles.Layout):
    """`export_rows` as each line's cells in the layout's column order (what the bank file writer takes), formatted
    by the database and read in chunks; identity numbers masked here unless the layout carries them in full."""
    benefit = benefit_label(roll.benefit)
    select, params = [], []
    for f in lay.fields:
        if f == "amount":
            select.append(_AMOUNT_SQL[lay.amount])
        elif f == "benefit":
            select.append("%s")
            params.append(benefit)
        else:
            select.append(_FIELD_SQL.get(f, "''"))
    mask_at = lay.fields.index("id_number") if "id_number" in lay.fields and not lay.full_id else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(select)} FROM benefits_paymentline WHERE roll_id = %s AND state IN (%s, %s, %s)"
            " ORDER BY id",
            [*params, roll.pk, *_EXPORTED],
        )
        while chunk := cursor.fetchmany(20000):
            if mask_at is None:
                yield from chunk
            else:
                for row in chunk:
                    cells = list(row)
                    cells[mask_at] = mask_id_number(cells[mask_at])
                    yield cells


def export(user, roll_id: int, layout_code: str) -> tuple[str, bytes, str]:
    """The bank file of an approved roll: (file name, bytes, content type). Audited as an export."""
    require(user, Capability.APPROVE_ROLLS)
    lay = bankfiles.layout(layout_code)
    roll = PaymentRoll.objects.select_related("county").get_for_user(user, pk=roll_id)
    if roll.state not in EXPORTABLE:
        raise DomainError("只有已审核的名册可以导出银行文件", "not_approved")
    # The control line counts the lines the file holds: a stopped line is on the roll, not in the bank's file.
    count = PaymentLine.objects.filter(roll=roll, state__in=_EXPORTED).count()
    data = bankfiles.write_values(lay, export_values(roll, lay), count, roll.total_fen)
    with transaction.atomic():
        PaymentRoll.objects.filter(pk=roll.pk, state__in=EXPORTABLE).update(
            state=PaymentRoll.State.EXPORTED, exported_at=timezone.now(), layout=lay.code
        )
        audit.record(
            audit.Action.EXPORT,
            user=user,
            obj=roll,
            detail={"layout": lay.code, "sha256": hashlib.sha256(data).hexdigest(), "lines_hash": roll.lines_hash},
        )
    name = f"{roll.county.name}{roll.month:%Y%m}{roll.benefit_name}{'补发' + str(roll.seq) if roll.seq else ''}.{lay.extension}"
    return name, data, lay.content_type


def import_return(user, roll_id: int, data: bytes, file_name: str = "") -> BankReturn:
    """Reconcile the bank's return with the exported roll, all or nothing: every exported line exactly once, with
    its amount and account; the control line's count and total; then lines paid, failed ones to the follow-up list."""
    require(user, Capability.APPROVE_ROLLS)
    roll = PaymentRoll.objects.get_for_user(user, pk=roll_id)
    if roll.state != PaymentRoll.State.EXPORTED:
        raise DomainError("只有已导出银行文件的名册可以导入回盘", "not_exported")
    digest = hashlib.sha256(data or b"").hexdigest()
    existing = BankReturn.objects.filter(roll=roll, file_sha256=digest).first()
    if existing:
        return existing
    lay = bankfiles.layout(roll.layout or "generic_csv")
    parsed = bankfiles.read_return(lay, data)
    reconcile(roll, parsed)
    failed_ids = parsed.seq[~parsed.paid]
    reasons = [r for r, ok in zip(parsed.reason, parsed.paid, strict=True) if not ok]
    paid_fen = int(parsed.amount_fen[parsed.paid].sum())
    with transaction.atomic():
        claimed = PaymentRoll.objects.filter(pk=roll.pk, state=PaymentRoll.State.EXPORTED).update(
            state=PaymentRoll.State.RETURNED, returned_at=timezone.now()
        )
        if claimed != 1:
            raise Conflict("该名册的回盘已导入", "stale")
        PaymentLine.objects.filter(roll=roll, state=LineState.APPROVED).update(state=LineState.PAID)
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE benefits_paymentline SET state = 'failed', committed = %s, bank_reason = %s WHERE id = %s"
                " AND roll_id = %s",
                [(False, reason, int(pk), roll.pk) for pk, reason in zip(failed_ids.tolist(), reasons, strict=True)],
            )
        refresh_totals([roll.pk])
        result = BankReturn.objects.create(
            roll=roll,
            file_name=(file_name or "回盘文件")[:200],
            file_sha256=digest,
            lines_paid=int(parsed.paid.sum()),
            lines_failed=len(failed_ids),
            paid_fen=paid_fen,
            imported_by=user,
        )
        audit.record(
            audit.Action.UPDATE,
            user=user,
            obj=roll,
            detail={
                "action": "bank_return",
                "paid": result.lines_paid,
                "failed": result.lines_failed,
                "sha256": digest,
            },
        )
    return result


_FEN_WIDTH = 15  # digits of a line's amount in fen (a line is far below 10^13 yuan)


def reconcile(roll: PaymentRoll, parsed: bankfiles.ReturnFile) -> None:
    """Compare a return with the roll's committed lines, set-wise (numpy): raises a Chinese error naming the first
    problem; returns only if every check passes."""
    with connection.cursor() as cursor:  # a million lines as a few long strings (`wide`), not a million tuples
        width = wide.id_width(cursor, "benefits_paymentline")
        ids, fen, sent = wide.fetch(
            cursor,
            [wide.integer("id", width), wide.integer("amount_fen", _FEN_WIDTH), "bank_account"],
            "FROM benefits_paymentline WHERE roll_id = %s AND state = %s",
            [roll.pk, LineState.APPROVED],
        )
    if ids is None:
        ids, fen, sent_accounts = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []
    else:
        ids, fen, sent_accounts = wide.integers(ids, width), wide.integers(fen, _FEN_WIDTH), wide.texts(sent)
        if ids.size > 1 and not (ids[1:] > ids[:-1]).all():  # the roll index gives id order; else sort
            by_id = np.argsort(ids, kind="stable")
            ids, fen, sent_accounts = ids[by_id], fen[by_id], [sent_accounts[i] for i in by_id.tolist()]
    n = len(parsed.seq)
    if parsed.control_count != n:
        raise DomainError(f"回盘合计笔数{parsed.control_count}与明细行数{n}不符，未导入任何结果", "control_mismatch")
    if int(parsed.amount_fen.sum()) != parsed.control_fen:
        raise DomainError("回盘合计金额与明细金额之和不符，未导入任何结果", "control_mismatch")
    order = np.argsort(parsed.seq, kind="stable")
    sorted_seq = parsed.seq[order]
    if n > 1 and (dup := np.flatnonzero(sorted_seq[1:] == sorted_seq[:-1])).size:
        raise DomainError(f"回盘中流水号{int(sorted_seq[dup[0]])}重复，未导入任何结果", "duplicate_line")
    pos = np.searchsorted(ids, parsed.seq)
    pos_clipped = np.minimum(pos, max(len(ids) - 1, 0))
    known = (pos < len(ids)) & (ids[pos_clipped] == parsed.seq) if len(ids) else np.zeros(n, dtype=bool)
    if not known.all():
        raise DomainError(f"回盘中流水号{int(parsed.seq[~known][0])}不在本名册中，未导入任何结果", "unknown_line")
    if n != len(ids):
        raise DomainError(f"回盘缺少{len(ids) - n}条明细（应有{len(ids)}条），未导入任何结果", "missing_lines")
    wrong = np.flatnonzero(fen[pos] != parsed.amount_fen)
    if wrong.size:
        raise DomainError(f"流水号{int(parsed.seq[wrong[0]])}的金额与名册不符，未导入任何结果", "amount_mismatch")
    accounts = [sent_accounts[p] for p in pos.tolist()]
    wrong_account = next(
        (i for i, (sent, back) in enumerate(zip(accounts, parsed.account, strict=True)) if back and back != sent), None
    )
    if wrong_account is not None:
        raise DomainError(f"流水号{int(parsed.seq[wrong_account])}的账号与名册不符，未导入任何结果", "account_mismatch")


def follow_up(user):
    """Failed lines not yet paid again: the follow-up list (待处理的发放失败)."""
    require(user, Capability.VIEW_PAYMENTS)
    return (
        PaymentLine.objects.for_user(user)
        .filter(state=LineState.FAILED)
        .select_related("roll", "household", "region")
        .order_by("roll__county_id", "benefit", "month", "id")
    )


def correct_account(user, line_id: int, *, bank_name: str, bank_account: str, account_holder: str) -> Household:
    """更正账号 for a failed line: the household's account is updated through the registry (validated, audited)."""
    require(user, Capability.PREPARE_ROLLS)
    line = PaymentLine.objects.select_related("household").get_for_user(user, pk=line_id)
    if line.state != LineState.FAILED:
        raise DomainError("只有发放失败的明细需要更正账号", "not_failed")
    h = line.household
    # An empty holder is the recipient: the page does not print the full name into the form (it shows it masked).
    account_holder = (account_holder or "").strip() or line.recipient_name
    data = registry.HouseholdData(
        region_code=h.region_id,
        address=h.address,
        area_type=h.area_type,
        bank_name=bank_name,
        bank_account=bank_account,
        account_holder=account_holder,
    )
    if not (bank_account or "").strip():
        raise DomainError("请填写更正后的银行账号", "required", field="bank_account")
    return registry.update_household(user, h, data)


def refresh(roll_ids: list[int]) -> None:
    refresh_totals(roll_ids)
