"""Money (DOMAIN.md: Decimal yuan with 2 places, ROUND_HALF_UP, never float; integer fen inside the engines)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import DomainError

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    """A yuan amount rounded half-up to the fen."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def from_fen(fen: int | None) -> Decimal:
    """Integer fen from an engine -> Decimal yuan (None counts as zero)."""
    return (Decimal(int(fen or 0)) / 100).quantize(CENT)


def to_fen(value) -> int | None:
    """A yuan amount (Decimal, text or number) -> integer fen; empty -> None."""
    if value in ("", None):
        return None
    return int((Decimal(str(value)) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def fmt(value, *, grouping: bool = True) -> str:
    """'1,234.50' (or '1234.50'); '' for None. Accepts Decimal yuan, text or numbers."""
    if value is None or value == "":
        return ""
    return f"{cents(value):,.2f}" if grouping else f"{cents(value):.2f}"


def fmt_fen(fen: int | None, *, grouping: bool = True) -> str:
    """Integer fen -> '1,234.50'; '' for None."""
    return "" if fen is None else fmt(from_fen(fen), grouping=grouping)


def parse(
    raw,
    label: str = "金额",
    *,
    field: str | None = "amount",
    allow_zero: bool = False,
    maximum: Decimal | None = Decimal("1000000"),
) -> Decimal:
    """An amount typed by a person, or a Chinese error: a number, positive (or zero when allowed), not absurd."""
    if raw is None or str(raw).strip() == "":
        raise DomainError(f"请填写{label}", "amount_required", field=field)
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise DomainError(f"{label}应为数字", "invalid_amount", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise DomainError(f"{label}应大于0" if not allow_zero else f"{label}不能为负数", "invalid_amount", field=field)
    if maximum is not None and value > maximum:
        raise DomainError(f"{label}过大，请核对", "invalid_amount", field=field)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
