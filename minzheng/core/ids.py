"""Record ids validated at the boundary (issue 18 §5): a number beyond the database's bigint range (e.g.
`721215900041001304064`) never reaches a query, where SQLite raises OverflowError and PostgreSQL "out of range" (a 500).

- URLs: the `<id:pk>` path converter (registered by CoreConfig.ready) matches 1–19 digits within the range; any other
  number is no match, a 404.
- The API: `Id` (a record id, ≥ 1), `Cursor` (an id to page after, ≥ 0) and `Version` for ninja schemas and path or
  query parameters; out of range is the API's 422 with a Chinese message.
- Forms: `id_field()` / `version_field()`, IntegerFields bounded the same way, with Chinese messages.
- Query strings: `parse()` gives the id or None.
"""

from typing import Annotated

from django import forms
from pydantic import Field

MAX_ID = 2**63 - 1  # bigint (PostgreSQL) and SQLite's INTEGER: every primary key of the platform is within it
MAX_VERSION = 2**31 - 1  # version counters are integer columns


class IdConverter:
    """`<id:pk>`: a positive id within the bigint range; anything else does not match (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError("id out of range")
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def register() -> None:
    from django.urls import converters, register_converter

    if "id" not in converters.get_converters():
        register_converter(IdConverter, "id")


Id = Annotated[int, Field(ge=1, le=MAX_ID, description="记录编号（正整数）")]
Cursor = Annotated[int, Field(ge=0, le=MAX_ID, description="从该编号之后开始（分页）")]
Version = Annotated[int, Field(ge=0, le=MAX_VERSION, description="版本号")]


def parse(raw, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An id from a query string or a POST field, or None when it is not one (malformed or out of range)."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


def id_field(label: str = "编号", *, maximum: int = MAX_ID, **kwargs) -> forms.IntegerField:
    """An IntegerField for a record id: a number beyond the range is the form's Chinese error, not a query."""
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=maximum,
        error_messages={
            "required": f"请选择{label}",
            "invalid": f"{label}格式错误",
            "min_value": f"{label}不存在",
            "max_value": f"{label}不存在",
        },
        **kwargs,
    )


def version_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=0,
        max_value=MAX_VERSION,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "页面已过期，请刷新后重试",
            "min_value": "页面已过期，请刷新后重试",
            "max_value": "页面已过期，请刷新后重试",
        },
        **kwargs,
    )
