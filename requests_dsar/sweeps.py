"""The periodic sweep: nothing stalls, no deadline passes unnoticed."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_append
from core.models import Actor
from notices.models import Category
from notices.services import notify
from requests_dsar.models import DataSubjectRequest, Status

from . import systems
from .export import archives_expire
from .notifications import warn_staff
from .services import dsar_transition
from .tasks import process_request
from .workflow import TransitionNotAllowed

logger = logging.getLogger(__name__)
BATCH = 500


def requeue_stalled(now: datetime.datetime) -> int:
    """Queue again: work a dead worker held, pending work the broker lost, ended cool-offs."""
    stalled_before = now - datetime.timedelta(minutes=settings.DSAR_STALLED_AFTER_MINUTES)
    to_queue: list[int] = []
    held = DataSubjectRequest.objects.filter(
        status=Status.IN_PROGRESS, status_changed_at__lt=stalled_before
    )
    for request in held[:BATCH]:
        try:
            dsar_transition(
                request=request,
                to=Status.PENDING,
                actor=None,
                reason="Work stalled (a worker stopped); queued again.",
                notify=False,
            )
        except TransitionNotAllowed:
            continue
        to_queue.append(request.pk)
    lost_or_ready = DataSubjectRequest.objects.filter(status=Status.PENDING).filter(
        Q(act_after__isnull=True, status_changed_at__lt=stalled_before) | Q(act_after__lte=now)
    )
    to_queue += list(lost_or_ready.values_list("pk", flat=True)[:BATCH])
    for request_id in dict.fromkeys(to_queue):
        process_request.delay(request_id)
    return len(to_queue)


def tell_assignees(request_ids: list[int], *, days: int) -> None:
    """Each request's assignee, in their inbox (and by e-mail): one of theirs is due soon."""
    assigned = DataSubjectRequest.objects.filter(
        pk__in=request_ids, assignee__isnull=False, assignee__is_active=True
    ).select_related("assignee")
    for request in assigned:
        assignee = request.assignee
        if assignee is None:
            continue
        notify(
            user=assignee,
            category=Category.REQUEST_UPDATES,
            title=f"Request {request.reference}, assigned to you, is due within {days} days",
            body=(
                f"The {request.get_type_display().lower()} request {request.reference} is due "
                f"on {timezone.localtime(request.due_at):%d %B %Y}. Open it in the queue."
            ),
            link=reverse("admin:requests_dsar_datasubjectrequest_change", args=[request.pk]),
        )


def warn_deadlines(now: datetime.datetime) -> tuple[int, int]:
    """Warn staff once per threshold before a deadline; flag overdue requests once."""
    warned = 0
    thresholds = sorted(set(settings.DSAR_WARNING_DAYS))
    open_requests = DataSubjectRequest.objects.filter(
        due_at__isnull=False, paused_at__isnull=True
    ).exclude(status__in=[Status.COMPLETED, Status.DENIED, Status.CANCELLED])
    for threshold in thresholds:
        limit = now + datetime.timedelta(days=threshold)
        batch = open_requests.filter(due_at__lte=limit, due_at__gt=now).filter(
            Q(warned_threshold_days__isnull=True) | Q(warned_threshold_days__gt=threshold)
        )
        ids = list(batch.values_list("pk", flat=True)[:BATCH])
        if ids:
            # Sent first, marked after: a failed e-mail is tried again by the next sweep.
            warn_staff(
                kind="due_soon", request_ids=ids, days=threshold, systems=systems.waiting_on(ids)
            )
            tell_assignees(ids, days=threshold)
            DataSubjectRequest.objects.filter(pk__in=ids).update(warned_threshold_days=threshold)
            warned += len(ids)
    overdue_ids = list(
        open_requests.filter(due_at__lte=now, overdue_flagged_at__isnull=True).values_list(
            "pk", flat=True
        )[:BATCH]
    )
    if overdue_ids:
        warn_staff(
            kind="overdue",
            request_ids=overdue_ids,
            days=0,
            systems=systems.waiting_on(overdue_ids),
        )
        DataSubjectRequest.objects.filter(pk__in=overdue_ids).update(overdue_flagged_at=now)
        for request_id in overdue_ids:
            audit_append(
                action="dsar.overdue",
                actor_user_id=None,
                actor_role=Actor.SYSTEM,
                target_type="dsar",
                target_id=request_id,
            )
    return warned, len(overdue_ids)


def sweep() -> None:
    now = timezone.now()
    requeued = requeue_stalled(now)
    warned, overdue = warn_deadlines(now)
    expired = archives_expire(now=now)
    logger.info(
        "request sweep: %d queued, %d warned, %d overdue, %d archives expired",
        requeued,
        warned,
        overdue,
        expired,
    )
