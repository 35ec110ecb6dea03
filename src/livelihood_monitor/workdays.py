"""Working-day deadlines (工作日) on the Chinese official calendar.

A letter asks for a reply "N working days after the letter date". Working days skip statutory
holidays (法定节假日) and count the adjusted working weekends (调休上班的周六、周日), as published
each year by the State Council; ``chinesecalendar`` carries those lists. It raises for years it
does not know (the next year's list is published only in November or December), so for such
days we fall back to "Monday to Friday" and say so, instead of failing a letter run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

__all__ = ["WorkdayResult", "add_working_days", "calendar_knows", "is_working_day"]


@dataclass(frozen=True)
class WorkdayResult:
    due: date
    # False when at least one counted day lay outside the years the holiday calendar knows.
    calendar_known: bool
    # A Chinese note for the operator when the result is only an estimate; None otherwise.
    note: str | None = None


def calendar_knows(day: date) -> bool:
    """Whether ``chinesecalendar`` has the official holiday arrangement for ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> tuple[bool, bool]:
    """``(working, known)``: whether ``day`` is a working day, and whether the calendar knew it.

    Unknown years count Monday to Friday as working days.
    """
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, n: int) -> WorkdayResult:
    """The date ``n`` working days after ``start`` (``start`` itself is not counted).

    ``add_working_days(date(2025, 9, 26), 10).due == date(2025, 10, 16)``: the National Day
    holiday 1-8 October is skipped, the working Sunday 28 September and Saturday 11 October
    count. ``n == 0`` returns ``start``.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    day = start
    counted = 0
    unknown_years: set[int] = set()
    while counted < n:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        if not known:
            unknown_years.add(day.year)
        if working:
            counted += 1
    if not unknown_years:
        return WorkdayResult(due=day, calendar_known=True)
    years = "、".join(f"{year}年" for year in sorted(unknown_years))
    note = (
        f"节假日日历未收录{years}的法定节假日和调休安排，期限按仅跳过周六、周日估算，"
        "请对照国务院办公厅公布的放假安排人工核对。"
    )
    return WorkdayResult(due=day, calendar_known=False, note=note)
