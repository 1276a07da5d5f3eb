"""`|date` for the formats the pages use, written directly: Django's filter parses its format string on every call
(formats.date_format → DateFormat), which on a case page of thirty history rows cost more than the rows' queries.
Installed as a template builtin after Django's own (settings.TEMPLATES), so it replaces `date` everywhere; any other
format, or a value that is not a date, goes to Django's filter, and the output is the same (core/tests)."""

import datetime
from collections.abc import Callable

from django import template
from django.template import defaultfilters

register = template.Library()

_DATE: dict[str, Callable[[datetime.date], str]] = {
    "Y-m-d": lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d}",
    "Y-m": lambda v: f"{v.year:04d}-{v.month:02d}",
    "m-d": lambda v: f"{v.month:02d}-{v.day:02d}",
    "Y年n月j日": lambda v: f"{v.year:04d}年{v.month}月{v.day}日",
    "Y年n月": lambda v: f"{v.year:04d}年{v.month}月",
    "Y年m月": lambda v: f"{v.year:04d}年{v.month:02d}月",
}
_DATETIME: dict[str, Callable[[datetime.datetime], str]] = {
    "Y-m-d H:i": lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}",
    "Y-m-d H:i:s": lambda v: f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}",
}


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    if isinstance(value, datetime.date):
        fast = _DATE.get(arg)
        if fast is None and isinstance(value, datetime.datetime):
            fast = _DATETIME.get(arg)
        if fast is not None:
            return fast(value)
    return defaultfilters.date(value, arg)
