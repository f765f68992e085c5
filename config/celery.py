"""The Celery application. The database row is the truth; the broker is only a wake-up."""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any

from celery import Celery, states
from celery.contrib.django.task import DjangoTask
from celery.exceptions import Retry
from celery.result import EagerResult
from celery.utils import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)


def describe_exception(exc: BaseException | None) -> str:
    """An exception's type and where it was raised: never its message, which can carry
    personal data (an address, a name)."""
    if exc is None:
        return "a retry"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.relpath(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


class PortalTask(DjangoTask):
    """Every task of the portal. Run in-process, a task never raises into its caller.

    Without a broker (`make run`) `delay` runs the task at once, inside the web request whose
    transaction just committed (CELERY_TASK_ALWAYS_EAGER). A retry or a failure raised there
    would answer the person's successful request with a 500, though what they asked for is
    saved. The row is the truth: work that must wait or that failed is taken up again by the
    periodic sweeps, which `make run` runs in-process (`manage.py run_schedule`). So the
    failure is logged, by its type and place only, and the caller goes on. Behind a broker
    nothing changes (the worker retries); direct calls and `.apply()` still raise.
    """

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        **options: Any,
    ) -> Any:
        if not self.app.conf.task_always_eager:
            return super().apply_async(
                args, kwargs, task_id, producer, link, link_error, shadow, **options
            )
        task_id = task_id or uuid()
        try:
            return super().apply_async(
                args, kwargs, task_id, producer, link, link_error, shadow, **options
            )
        except Retry as exc:
            logger.warning(
                "task %s[%s] must wait (%s): left to the periodic sweep",
                self.name,
                task_id,
                describe_exception(exc.exc),
            )
            return EagerResult(task_id, None, states.RETRY, name=self.name)
        except Exception as exc:
            logger.error(
                "task %s[%s] failed in-process (%s); not raised into its caller",
                self.name,
                task_id,
                describe_exception(exc),
            )
            return EagerResult(task_id, None, states.FAILURE, name=self.name)


app = Celery("privacy_portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
