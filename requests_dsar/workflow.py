"""The request state machine: every allowed transition, in one place."""

from __future__ import annotations

from typing import Any

from .models import DataSubjectRequest, RequestType, Status

S = Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.IDENTITY_UNVERIFIED: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.PENDING: frozenset(
        {
            S.IN_PROGRESS,
            S.WAITING_ON_SYSTEMS,
            S.NEEDS_CLARIFICATION,
            S.AWAITING_APPROVAL,
            S.DENIED,
            S.CANCELLED,
        }
    ),
    # The company's other systems (connected systems) carry out their part first; the portal's
    # own engine runs once every one of them is done or excepted.
    S.WAITING_ON_SYSTEMS: frozenset({S.IN_PROGRESS, S.AWAITING_APPROVAL, S.DENIED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset(
        {S.COMPLETED, S.FAILED, S.PENDING, S.NEEDS_CLARIFICATION, S.AWAITING_APPROVAL, S.CANCELLED}
    ),
    S.NEEDS_CLARIFICATION: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset(
        {S.PENDING, S.COMPLETED, S.NEEDS_CLARIFICATION, S.DENIED, S.CANCELLED}
    ),
    S.FAILED: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.DENIED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses in which the requester may still cancel: before any work started. Once a worker has
# started (in_progress), or a deletion has erased anything (it may be back in pending or failed
# after a crash), that is the point of no return. The system may still close an in-progress
# request (the account it belongs to was erased).
CANCELLABLE = frozenset(
    {
        S.IDENTITY_UNVERIFIED,
        S.PENDING,
        S.WAITING_ON_SYSTEMS,
        S.NEEDS_CLARIFICATION,
        S.AWAITING_APPROVAL,
        S.FAILED,
    }
)

# Types a worker fulfils on its own; the others go to staff (questions, complaints).
AUTOMATED = frozenset(
    {
        RequestType.ACCESS,
        RequestType.COPY,
        RequestType.TRANSFER,
        RequestType.DELETE,
        RequestType.CORRECT,
        RequestType.SUPPLEMENT,
        RequestType.WITHDRAW_CONSENT,
        RequestType.RESTRICT,
    }
)
STAFF_ANSWERED = frozenset({RequestType.QUESTION, RequestType.COMPLAINT})


# Types whose result is an archive the requester downloads.
DOWNLOADABLE = frozenset({RequestType.COPY, RequestType.TRANSFER})


class TransitionNotAllowed(Exception):
    """The request is not in a status from which this change is allowed (or moved meanwhile)."""


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


FILED_BY_SOMEONE_ELSE = "Someone else filed this request for you: only they can cancel it."


def filed_by(request: DataSubjectRequest, user: Any) -> bool:
    """Whether `user` filed the request (or, filed by staff or the system for them, is its
    subject). A guardian's request for a minor is the guardian's: the minor can follow it but
    not withdraw it."""
    if request.requester_id is not None:
        return bool(request.requester_id == user.pk)
    return bool(request.subject_id is not None and request.subject_id == user.pk)


def can_cancel(request: DataSubjectRequest, user: Any = None) -> bool:
    """Whether the request can still be cancelled (by `user`, when given: only its filer)."""
    if user is not None and not filed_by(request, user):
        return False
    if request.status not in CANCELLABLE:
        return False
    # A deletion that a worker has started may already have erased part of the data, here or
    # (once it waits on them) at the company's other systems.
    return not (
        request.type == RequestType.DELETE
        and (request.attempts > 0 or request.status == S.WAITING_ON_SYSTEMS)
    )
