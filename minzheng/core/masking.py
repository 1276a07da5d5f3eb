"""Masking of personal identifiers for lists, exports and public notices (ARCHITECTURE.md principle 5)."""


def mask_id_number(value: str | None) -> str:
    """`11010519491231002X` -> `1101**********002X`: region prefix and last four only."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`; landlines keep the area code and the last four digits."""
    if not value:
        return ""
    digits = value.replace("-", "")
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str | None) -> str:
    """`张三丰` -> `张*丰`, `张三` -> `张*`, longer names keep the first and last character."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_account(value: str | None) -> str:
    """Bank account: only the last four digits."""
    if not value:
        return ""
    return "*" * max(len(value) - 4, 0) + value[-4:]
