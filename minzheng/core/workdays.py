"""Working days (工作日) on the official calendar, for every legal time limit (DOMAIN.md §1).

Working days exclude weekends and statutory holidays and include make-up workdays (调休). The State Council calendar
comes from `chinesecalendar`, which only knows the years published when it was released and raises for others (2027
today) — yet cases accepted now already have deadlines there. For such a year the administrator-maintained table
(CalendarYear/CalendarDay) decides, on top of the Monday–Friday rule, and the result is flagged provisional until the
year is marked as entered from the official notice. The start day is never counted ([R] in DOMAIN.md).
"""

import datetime
import functools
from dataclasses import dataclass

import chinese_calendar

from .errors import DomainError

OFFICIAL_BASIS = "国务院办公厅节假日安排"
TABLE_BASIS = "管理员录入的节假日安排"
PROVISIONAL_BASIS = "暂按周一至周五计算（该年度节假日安排尚未录入）"
UNOFFICIAL_BASIS = "暂按管理员录入的节假日安排计算（{years}年的安排已录入，尚未标记为已按国务院办公厅通知正式录入）"


@dataclass(frozen=True)
class Deadline:
    due: datetime.date
    provisional: bool  # some day on the way was judged without the official calendar
    basis: str

    @property
    def label(self) -> str:
        return f"{self.due:%Y-%m-%d}" + ("（暂定）" if self.provisional else "")


def library_knows(year: int) -> bool:
    return _library_year(year) is not None


@functools.cache
def _library_year(year: int) -> frozenset[datetime.date] | None:
    """The year's working days by the library, or None when it does not know the year. Computed once per process:
    the library checks each date against the span of every year it knows (min/max over its tables), which made a
    queue page of deadlines cost milliseconds."""
    first = datetime.date(year, 1, 1)
    try:
        chinese_calendar.is_workday(first)
    except NotImplementedError:
        return None
    days = (first + datetime.timedelta(days=n) for n in range((datetime.date(year + 1, 1, 1) - first).days))
    return frozenset(day for day in days if chinese_calendar.is_workday(day))


class WorkingCalendar:
    """Answers working-day questions; loads each unknown year's table once per instance (one query per year)."""

    def __init__(self) -> None:
        self._years: dict[int, tuple[dict[datetime.date, bool], bool, bool] | None] = {}

    def _table(self, year: int) -> tuple[dict[datetime.date, bool], bool, bool] | None:
        """None when the library knows the year; else (exceptions, official, entered: the year is in the table)."""
        if year not in self._years:
            if library_knows(year):
                self._years[year] = None
            else:
                from .models import CalendarDay, CalendarYear

                entry = CalendarYear.objects.filter(year=year).first()
                days = dict(CalendarDay.objects.filter(calendar_year__year=year).values_list("date", "is_workday"))
                self._years[year] = (days, bool(entry and entry.official), entry is not None)
        return self._years[year]

    def is_workday(self, day: datetime.date) -> tuple[bool, bool]:
        """(is a working day, judged provisionally)."""
        table = self._table(day.year)
        if table is None:
            return day in _library_year(day.year), False
        exceptions, official, _entered = table
        workday = exceptions.get(day, day.weekday() < 5)
        return workday, not official

    def add_working_days(self, start: datetime.date, days: int) -> Deadline:
        """The date `days` working days after `start` (the start day itself not counted)."""
        if days < 0:
            raise DomainError("工作日天数不能为负数", "invalid_working_days")
        if days > 366:
            raise DomainError("工作日天数过大", "invalid_working_days")
        day, counted, provisional, tabled = start, 0, False, False
        unentered, unofficial = False, set()
        while counted < days:
            day += datetime.timedelta(days=1)
            workday, judged_provisionally = self.is_workday(day)
            provisional |= judged_provisionally
            table = self._table(day.year)
            tabled |= table is not None
            if judged_provisionally:
                if table[2]:
                    unofficial.add(day.year)
                else:
                    unentered = True
            counted += workday
        if unentered:
            basis = PROVISIONAL_BASIS
        elif unofficial:
            basis = UNOFFICIAL_BASIS.format(years="、".join(str(y) for y in sorted(unofficial)))
        else:
            basis = TABLE_BASIS if tabled else OFFICIAL_BASIS
        return Deadline(due=day, provisional=provisional, basis=basis)

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days after `start` up to and including `end` (0 when end ≤ start)."""
        count, day = 0, start
        while day < end:
            day += datetime.timedelta(days=1)
            count += self.is_workday(day)[0]
        return count


def add_working_days(start: datetime.date, days: int) -> Deadline:
    return WorkingCalendar().add_working_days(start, days)
