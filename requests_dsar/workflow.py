"""The request state machine: every allowed transition, in one place."""

from __future__ import annotations

from .models import RequestType, Status

S = Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.IDENTITY_UNVERIFIED: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.PENDING: frozenset(
        {S.IN_PROGRESS, S.NEEDS_CLARIFICATION, S.AWAITING_APPROVAL, S.DENIED, S.CANCELLED}
    ),
    S.IN_PROGRESS: frozenset(
        {S.COMPLETED, S.FAILED, S.PENDING, S.NEEDS_CLARIFICATION, S.AWAITING_APPROVAL, S.CANCELLED}
    ),
    S.NEEDS_CLARIFICATION: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.PENDING, S.COMPLETED, S.DENIED, S.CANCELLED}),
    S.FAILED: frozenset({S.PENDING, S.DENIED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.DENIED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Statuses in which the requester may still cancel. A deletion cannot be cancelled once the
# worker has started erasing (in_progress): that is the point of no return.
CANCELLABLE = frozenset(
    {S.IDENTITY_UNVERIFIED, S.PENDING, S.NEEDS_CLARIFICATION, S.AWAITING_APPROVAL, S.FAILED}
)
CANCELLABLE_IN_PROGRESS = frozenset(
    t
    for t in RequestType
    if t not in {RequestType.DELETE, RequestType.CORRECT, RequestType.SUPPLEMENT}
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


class TransitionNotAllowed(Exception):
    """The request is not in a status from which this change is allowed (or moved meanwhile)."""


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def can_cancel(request_type: str, status: str) -> bool:
    return status in CANCELLABLE or (
        status == S.IN_PROGRESS and request_type in CANCELLABLE_IN_PROGRESS
    )
