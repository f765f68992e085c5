"""The periodic schedule (CELERY_BEAT_SCHEDULE) run in-process, for `make run`.

Production runs `celery beat` beside the workers. The embedded default has neither a broker nor
a beat process, yet the sweeps are what carries work forward there too: stalled or retried work,
deletion cool-offs, deadline warnings, connector retries, minors' deadlines, retention. So
`manage.py run_schedule` (started by scripts/run.sh) keeps the same schedule in one small loop.
When an entry is due comes from Celery's own schedule objects (`is_due`), never from a cron
parser of ours; each entry's task is applied through the Celery app, in-process when there is
no broker. A failing entry is logged (its type and place, never a message) and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from celery import Celery
from celery.beat import ScheduleEntry
from django.db import close_old_connections

from .celery import describe_exception

logger = logging.getLogger(__name__)

# The longest sleep between two looks at the schedule, in seconds: a changed clock (a laptop
# waking up) is noticed within this time.
MAX_WAIT_SECONDS = 30.0


class InProcessSchedule:
    """The entries of a beat schedule, each with the time it last ran (at first: now, as
    `celery beat` starts)."""

    def __init__(self, app: Celery[Any], schedule: Mapping[str, Mapping[str, Any]]) -> None:
        self.app = app
        # Registers every app's tasks, as a worker does at start-up.
        app.autodiscover_tasks(force=True)
        self.entries = [
            ScheduleEntry(
                name=name,
                task=definition["task"],
                schedule=definition["schedule"],
                args=tuple(definition.get("args", ())),
                kwargs=dict(definition.get("kwargs", {})),
                options=dict(definition.get("options", {})),
                relative=bool(definition.get("relative", False)),
                app=app,
            )
            for name, definition in schedule.items()
        ]

    def tick(self) -> float:
        """Run every entry that is due, one after the other. Returns the seconds until the next
        entry may be due."""
        wait = MAX_WAIT_SECONDS
        for index, entry in enumerate(self.entries):
            due, next_in = entry.is_due()
            if due:
                self._run(entry)
                self.entries[index] = next(entry)
            wait = min(wait, next_in)
        return max(wait, 0.0)

    def _run(self, entry: ScheduleEntry) -> None:
        try:
            task = self.app.tasks[str(entry.task)]
            task.apply_async(entry.args, entry.kwargs, **(entry.options or {}))
        except Exception as exc:
            logger.error("schedule: %s failed (%s)", entry.name, describe_exception(exc))
        else:
            logger.debug("schedule: %s ran", entry.name)

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; a task already running is finished first."""
        while not stop.is_set():
            wait = self.tick()
            # As after a web request: a connection the database dropped is not reused.
            close_old_connections()
            stop.wait(wait)
