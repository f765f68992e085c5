"""Celery tasks for retention: thin and idempotent."""

from __future__ import annotations

from django.conf import settings

from core.tasks import durable_task

from .sweep import retention_sweep as sweep


@durable_task(max_retries=3)
def retention_sweep() -> None:
    """Nightly: delete or anonymize what outlived its retention period, skipping legal holds.

    Safe to run twice or again after a crash (what is gone stays gone). A sweep that reaches
    its time budget, short of the task's time limit, queues the rest as a new run.
    """
    budget = max(60, settings.CELERY_TASK_SOFT_TIME_LIMIT - 120)
    if not sweep(time_budget=budget).complete:
        retention_sweep.apply_async(countdown=60)
