"""Deadline arithmetic: when a request is due, in calendar days or calendar months.

The clock starts when identity is verified. Days are counted on the calendar of the company's
time zone and a request is due at the end of its last day, so a daylight-saving change or a
month end never shortens it. Time spent waiting for the requester's answer does not count.
"""

from __future__ import annotations

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class DeadlineRule:
    days: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        if (self.days > 0) == (self.months > 0):
            raise ValueError("A deadline rule counts either days or months, not both or neither.")


def rule_for(jurisdiction: str) -> DeadlineRule:
    overrides: dict = settings.DSAR_JURISDICTION_DEADLINES
    spec = overrides.get(jurisdiction.upper()) if jurisdiction else None
    if spec:
        return DeadlineRule(**spec)
    return DeadlineRule(days=settings.DSAR_RESPONSE_DAYS)


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.DSAR_TIME_ZONE)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar months: 31 January + 1 month is the last day of February."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def end_of_day(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=_zone())


def add_period(start: datetime.datetime, rule: DeadlineRule) -> datetime.datetime:
    local_day = start.astimezone(_zone()).date()
    last_day = (
        add_months(local_day, rule.months)
        if rule.months
        else local_day + datetime.timedelta(days=rule.days)
    )
    return end_of_day(last_day)


def due_at(verified_at: datetime.datetime, jurisdiction: str) -> datetime.datetime:
    return add_period(verified_at, rule_for(jurisdiction))


def resume(
    due: datetime.datetime, paused_at: datetime.datetime, now: datetime.datetime
) -> datetime.datetime:
    """The deadline after a pause: moved by exactly the time spent waiting."""
    return due + max(now - paused_at, datetime.timedelta(0))


def extend(due: datetime.datetime, days: int) -> datetime.datetime:
    return end_of_day(due.astimezone(_zone()).date() + datetime.timedelta(days=days))
