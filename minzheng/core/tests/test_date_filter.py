"""The template `date` filter's shortcuts write what Django's filter writes, in templates and called directly."""

import datetime
from zoneinfo import ZoneInfo

from django.template import Context, Engine, defaultfilters
from django.utils import timezone

from minzheng.core.templatetags import dates

FORMATS = [*dates._DATE, *dates._DATETIME, "D, j M Y", "Y年m月d日", "", None]
VALUES = [
    datetime.date(2026, 1, 5),
    datetime.date(999, 12, 31),
    datetime.datetime(2026, 3, 9, 7, 4, 2),
    datetime.datetime(2026, 12, 31, 23, 59, 59),
]


def test_same_text_as_djangos_filter():
    for value in VALUES:
        for fmt in FORMATS:
            try:
                expected = defaultfilters.date(value, fmt)
            except TypeError:  # a time format on a date: Django refuses, so must we
                expected = TypeError
            try:
                got = dates.date(value, fmt)
            except TypeError:
                got = TypeError
            assert got == expected, (value, fmt)
    for odd in (None, "", "2026-01-05", 5):
        assert dates.date(odd, "Y-m-d") == defaultfilters.date(odd, "Y-m-d")


def test_replaces_the_builtin_and_converts_to_local_time():
    engine = Engine.get_default()
    aware = datetime.datetime(2026, 12, 6, 17, 30, tzinfo=datetime.UTC)  # 01:30 the next day in Beijing
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        out = engine.from_string('{{ v|date:"Y-m-d H:i" }}|{{ v|date:"Y-m-d" }}').render(Context({"v": aware}))
    assert out == "2026-12-07 01:30|2026-12-07"
    assert engine.template_builtins[-1].filters["date"] is dates.date
