"""`manage.py run_schedule`: the periodic tasks of CELERY_BEAT_SCHEDULE, run in this process.

For `make run` (scripts/run.sh starts it beside runserver); production runs `celery beat`.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from config.celery import app
from config.schedule import InProcessSchedule


class Command(BaseCommand):
    help = "Run the periodic schedule (CELERY_BEAT_SCHEDULE) in this process, until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        # scripts/run.sh stops its children with SIGTERM (a background job ignores Ctrl-C):
        # the task running finishes, then the loop ends.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        schedule = InProcessSchedule(app, settings.CELERY_BEAT_SCHEDULE)
        names = ", ".join(str(entry.name) for entry in schedule.entries)
        self.stdout.write(f"Periodic tasks run in this process: {names}.")
        schedule.run(stop)
