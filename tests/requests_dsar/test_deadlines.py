"""Deadline arithmetic: calendar days end of day local, months, pauses, extensions, DST."""

import datetime
import zoneinfo

import pytest

from requests_dsar import deadlines

UTC = datetime.UTC


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.DSAR_RESPONSE_DAYS = 15
    settings.DSAR_TIME_ZONE = "Europe/Berlin"
    settings.DSAR_JURISDICTION_DEADLINES = {"DE": {"months": 1}, "US-CA": {"days": 45}}


def local(dt):
    return dt.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))


def test_fifteen_days_end_at_the_end_of_the_fifteenth_local_day():
    due = deadlines.due_at(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "")
    assert (local(due).date(), local(due).time()) == (
        datetime.date(2026, 3, 17),
        datetime.time(23, 59, 59),
    )


def test_a_deadline_across_a_month_end_counts_calendar_days():
    due = deadlines.due_at(datetime.datetime(2026, 1, 25, 12, tzinfo=UTC), "")
    assert local(due).date() == datetime.date(2026, 2, 9)


def test_a_daylight_saving_change_does_not_shorten_the_deadline():
    # Berlin springs forward on 29 March 2026: the request still gets the whole last day.
    verified = datetime.datetime(2026, 3, 20, 22, 30, tzinfo=UTC)  # 23:30 local, 20 March
    due = deadlines.due_at(verified, "")
    assert local(due).date() == datetime.date(2026, 4, 4)
    assert local(due).time() == datetime.time(23, 59, 59)


def test_the_local_day_decides_not_the_utc_day():
    # 23:30 UTC on 31 May is already 1 June in Berlin.
    due = deadlines.due_at(datetime.datetime(2026, 5, 31, 23, 30, tzinfo=UTC), "")
    assert local(due).date() == datetime.date(2026, 6, 16)


def test_a_jurisdiction_counting_in_months_ends_on_the_same_day_next_month():
    due = deadlines.due_at(datetime.datetime(2026, 4, 10, 8, tzinfo=UTC), "DE")
    assert local(due).date() == datetime.date(2026, 5, 10)


def test_a_month_from_the_31st_of_january_is_the_last_day_of_february():
    due = deadlines.due_at(datetime.datetime(2027, 1, 31, 8, tzinfo=UTC), "de")
    assert local(due).date() == datetime.date(2027, 2, 28)


def test_an_unknown_jurisdiction_uses_the_policy_default():
    due = deadlines.due_at(datetime.datetime(2026, 4, 10, 8, tzinfo=UTC), "ZZ")
    assert local(due).date() == datetime.date(2026, 4, 25)


def test_a_pause_moves_the_deadline_by_exactly_the_time_waited():
    due = datetime.datetime(2026, 4, 25, 21, 59, 59, tzinfo=UTC)
    paused = datetime.datetime(2026, 4, 12, 10, tzinfo=UTC)
    resumed = paused + datetime.timedelta(days=3, hours=4)
    assert deadlines.resume(due, paused, resumed) == due + datetime.timedelta(days=3, hours=4)


def test_an_extension_adds_whole_local_days():
    due = deadlines.due_at(datetime.datetime(2026, 10, 20, 8, tzinfo=UTC), "")  # 4 Nov local
    extended = deadlines.extend(due, 10)
    assert local(extended).date() == datetime.date(2026, 11, 14)


def test_a_rule_counts_days_or_months_never_both():
    with pytest.raises(ValueError, match="either days or months"):
        deadlines.DeadlineRule(days=3, months=1)
