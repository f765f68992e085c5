"""`make run` runs the periodic schedule in-process (config/schedule.py, `manage.py
run_schedule`): each entry of CELERY_BEAT_SCHEDULE runs when Celery's schedule says it is due,
and one failing task never stops the others."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings

from config.celery import app as celery_app
from config.schedule import InProcessSchedule
from connectors.models import JobStatus
from tests.connectors.factories import ConnectorJobFactory

START = datetime.datetime(2026, 3, 1, 3, 0, tzinfo=datetime.UTC)
SWEEP = "requests_dsar.tasks.sweep_requests"
RETENTION = "retention.tasks.retention_sweep"


@pytest.fixture
def calls(monkeypatch):
    """Every task's apply_async records its name instead of running the task."""
    made: list[str] = []
    celery_app.autodiscover_tasks(force=True)
    for name, task in list(celery_app.tasks.items()):
        if not name.startswith("celery."):
            record = lambda *args, _name=name, **kwargs: made.append(_name)  # noqa: E731
            monkeypatch.setattr(task, "apply_async", record)
    return made


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_an_interval_entry_runs_once_each_time_its_interval_has_passed(calls, clock):
    schedule = InProcessSchedule(celery_app, {"sweep": {"task": SWEEP, "schedule": 300.0}})
    schedule.tick()
    clock.shift(299)
    schedule.tick()
    assert calls == []

    clock.shift(1)
    schedule.tick()
    schedule.tick()
    assert calls == [SWEEP]
    clock.shift(300)
    schedule.tick()
    assert calls == [SWEEP, SWEEP]


def test_a_crontab_entry_runs_at_its_time_of_day_and_not_before(calls, clock):
    nightly = {"task": RETENTION, "schedule": crontab(hour=3, minute=30)}
    schedule = InProcessSchedule(celery_app, {"retention": nightly})
    clock.shift(datetime.timedelta(minutes=29, seconds=59))
    schedule.tick()
    assert calls == []

    clock.shift(1)  # 03:30
    schedule.tick()
    clock.shift(datetime.timedelta(hours=23, minutes=59))  # the next day, 03:29
    schedule.tick()
    assert calls == [RETENTION]
    clock.shift(60)
    schedule.tick()
    assert calls == [RETENTION, RETENTION]


def test_every_entry_of_the_beat_schedule_runs_its_task_when_due(calls, clock):
    schedule = InProcessSchedule(celery_app, settings.CELERY_BEAT_SCHEDULE)
    clock.shift(datetime.timedelta(days=1))
    schedule.tick()
    expected = sorted(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert sorted(calls) == expected
    assert len(expected) == 6


def test_a_failing_task_is_logged_without_its_message_and_the_others_still_run(
    calls, clock, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("no mailbox for dana@example.org")

    monkeypatch.setattr(celery_app.tasks[SWEEP], "apply_async", broken)
    schedule = InProcessSchedule(celery_app, settings.CELERY_BEAT_SCHEDULE)
    for _ in range(2):  # the failing entry comes up again, and again the others run
        clock.shift(datetime.timedelta(days=1))
        schedule.tick()

    assert len(calls) == 2 * 5 and SWEEP not in calls
    assert "requests-sweep failed (RuntimeError at tests/test_schedule.py" in caplog.text
    assert "dana@example.org" not in caplog.text


@pytest.mark.django_db
def test_the_connectors_sweep_sends_a_due_job_in_process(clock, settings):
    settings.MEDIA_ROOT = "/nonexistent"  # a send to an unreachable system stores nothing
    job = ConnectorJobFactory(system__url="http://127.0.0.1:9/connector")
    schedule = InProcessSchedule(
        celery_app, {"connectors-sweep": settings.CELERY_BEAT_SCHEDULE["connectors-sweep"]}
    )
    clock.shift(60)
    schedule.tick()
    job.refresh_from_db()
    # The sweep ran dispatch_job here, without a broker: the system was tried and is down.
    assert (job.status, job.attempts, job.last_error) == (JobStatus.QUEUED, 1, "connection_error")
