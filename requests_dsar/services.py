"""Writes with rules about data-subject requests: one function per use case.

Every status change goes through `dsar_transition`, which moves a request only from the status
it was read in (a conditional UPDATE: a concurrent change or a redelivered task finds zero rows
and stops), records a RequestEvent and an audit entry, and tells the requester after commit.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from accounts.models import User
from core import holds
from core.audit import audit_append
from core.crypto import seal
from core.models import Actor
from core.registry import ACCOUNT_CATEGORY, registry, subject_hmac
from requests_dsar.models import (
    DataSubjectRequest,
    DenialReason,
    LegalExemption,
    RequestEvent,
    RequestMessage,
    RequestNote,
    RequestType,
    Status,
    VerificationCode,
    VerificationMethod,
)

from . import deadlines, systems, tasks
from .workflow import (
    AUTOMATED,
    FILED_BY_SOMEONE_ELSE,
    STAFF_ANSWERED,
    TransitionNotAllowed,
    can_cancel,
    can_transition,
    filed_by,
)

TERMINAL = {Status.COMPLETED, Status.DENIED, Status.CANCELLED}
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


def subject_hash_for(user_id: int) -> str:
    return subject_hmac(f"user:{user_id}")


def _role(actor: User | None, request: DataSubjectRequest) -> str:
    if actor is None:
        return Actor.SYSTEM
    if actor.pk in (request.subject_id, request.requester_id):
        return Actor.REQUESTER
    return Actor.STAFF


def _enqueue_processing(request_id: int) -> None:
    transaction.on_commit(partial(tasks.process_request.delay, request_id))


def _notify(request_id: int, event: str) -> None:
    transaction.on_commit(partial(tasks.notify_requester.delay, request_id, event))


def _audit(
    request: DataSubjectRequest,
    action: str,
    actor: User | None,
    *,
    role: str | None = None,
    **data: Any,
) -> None:
    audit_append(
        action=action,
        actor_user_id=actor.pk if actor else None,
        actor_role=role or _role(actor, request),
        target_type="dsar",
        target_id=request.pk,
        data=data,
    )


@transaction.atomic
def dsar_transition(
    *,
    request: DataSubjectRequest,
    to: str,
    actor: User | None,
    reason: str = "",
    notify: bool = True,
    expect_attempts: int | None = None,
    **updates: Any,
) -> DataSubjectRequest:
    """Move `request` from the status it was read in to `to`, or raise TransitionNotAllowed.

    `expect_attempts` ties the change to one worker's attempt: if the sweep handed the work to
    a newer attempt meanwhile, the older one cannot complete or fail it.
    """
    from_status = request.status
    if not can_transition(from_status, to):
        raise TransitionNotAllowed(f"A request cannot go from {from_status} to {to}.")
    now = timezone.now()
    updates = {"status": to, "status_changed_at": now, **updates}
    if to == Status.NEEDS_CLARIFICATION:
        updates["paused_at"] = now
    if from_status == Status.NEEDS_CLARIFICATION and request.paused_at and request.due_at:
        # The clock stood still while we waited for the requester's answer.
        updates["due_at"] = deadlines.resume(request.due_at, request.paused_at, now)
        updates["paused_at"] = None
    if to in TERMINAL:
        updates["completed_at"] = now
    current = DataSubjectRequest.objects.filter(pk=request.pk, status=from_status)
    if expect_attempts is not None:
        current = current.filter(attempts=expect_attempts)
    changed = current.update(**updates)
    if not changed:
        raise TransitionNotAllowed("The request changed meanwhile; reload it.")
    for name, value in updates.items():
        setattr(request, name, value)
    RequestEvent.objects.create(
        request=request,
        at=now,
        actor=actor,
        actor_role=_role(actor, request),
        from_status=from_status,
        to_status=to,
        reason=reason,
    )
    _audit(request, "dsar.transition", actor, from_status=from_status, to_status=to)
    if to in (Status.CANCELLED, Status.DENIED):
        systems.stop(request)  # the other systems are not asked any more
    if notify:
        _notify(request.pk, to)
    return request


# --- Creating and verifying ----------------------------------------------------------------------


def _clean_scope(request_type: str, scope: Mapping[str, Any] | None) -> dict[str, Any]:
    scope = dict(scope or {})
    categories = scope.get("categories")
    if categories is not None:
        known = {key for key, _label in registry.requestable_categories()}
        if not isinstance(categories, list) or not categories:
            raise ValidationError(
                {"scope": "Choose at least one category, or leave it out for all."}
            )
        unknown = sorted(set(map(str, categories)) - known)
        if unknown:
            raise ValidationError({"scope": f"Unknown categories: {', '.join(unknown)}."})
        if request_type == RequestType.DELETE and ACCOUNT_CATEGORY in categories:
            raise ValidationError(
                {
                    "scope": ValidationError(
                        "The account itself is deleted only with the whole account: leave "
                        "the categories out to delete everything.",
                        code="conflict",
                    )
                }
            )
    if request_type in (RequestType.CORRECT, RequestType.SUPPLEMENT):
        from .corrections import validate_changes

        scope["changes"] = validate_changes(scope.get("changes"))
    return scope


def dsar_request_record(
    *,
    type: str,
    subject: User | None,
    requester: User | None,
    details: str,
    scope: Mapping[str, Any],
    contact_email: str = "",
    actor_role: str | None = None,
    reason: str = "Request received.",
    **audit_data: Any,
) -> DataSubjectRequest:
    """Record a received request, identity not yet verified: its row (the subject's hash and
    jurisdiction with it), the first step of its history and the audit entry. Callers check
    what they accept first (dsar_request_create for a person's own; relatives' cases for a
    deceased user's, whose subject may be gone)."""
    profile = getattr(subject, "profile", None) if subject is not None else None
    request = DataSubjectRequest.objects.create(
        type=type,
        subject=subject,
        subject_hash=subject_hash_for(subject.pk) if subject is not None else "",
        requester=requester,
        contact_email=contact_email,
        details=details,
        scope=scope,
        jurisdiction=(profile.region.code if profile and profile.region else ""),
    )
    role = actor_role or _role(requester, request)
    RequestEvent.objects.create(
        request=request,
        actor=requester,
        actor_role=role,
        to_status=Status.IDENTITY_UNVERIFIED,
        reason=reason,
    )
    _audit(request, "dsar.created", requester, role=role, type=type, **audit_data)
    return request


@transaction.atomic
def dsar_request_create(
    *,
    subject: User,
    requester: User | None,
    type: str,
    details: str = "",
    scope: Mapping[str, Any] | None = None,
    reauthenticated: bool = False,
    contact_email: str = "",
    join_duplicate: bool = True,
    notify_received: bool = True,
) -> tuple[DataSubjectRequest, bool]:
    """File a request. Returns (request, created).

    The same request (same type and scope) from the same subject while one is open is not
    processed twice: its details join the open request as a message, and the open request is
    returned. With `join_duplicate=False` (a requester whose identity is not yet known) nothing
    is added to the open request. A request of the same type with another scope (other
    categories, other corrections) is a request of its own. `notify_received=False` for a
    request the portal files itself, which tells the person in its own words.
    """
    if type not in RequestType.values:
        raise ValidationError({"type": "Unknown request type."})
    if type in STAFF_ANSWERED and not details.strip():
        raise ValidationError({"details": "Please write your question or complaint."})
    clean_scope = _clean_scope(type, scope)
    open_one = (
        DataSubjectRequest.objects.select_for_update()
        .filter(subject=subject, type=type, status__in=[s for s in Status if s not in TERMINAL])
        .filter(scope=clean_scope)
        .first()
    )
    if open_one is not None:
        if not join_duplicate:
            return open_one, False
        if details.strip():
            RequestMessage.objects.create(request=open_one, author=requester, body=details)
        RequestEvent.objects.create(
            request=open_one,
            actor=requester,
            actor_role=_role(requester, open_one),
            reason="The same request was received again and joined to this one.",
        )
        _audit(open_one, "dsar.duplicate_joined", requester)
        return open_one, False
    request = dsar_request_record(
        type=type,
        subject=subject,
        requester=requester,
        contact_email=contact_email,
        details=details,
        scope=clean_scope,
    )
    if reauthenticated:
        dsar_verify(request=request, actor=requester, method=VerificationMethod.REAUTHENTICATION)
    elif notify_received:
        _notify(request.pk, "received")
    return request, True


def _hash_code(request: DataSubjectRequest, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{request.pk}:{code}".encode(), hashlib.sha256
    ).hexdigest()


@transaction.atomic
def dsar_code_issue(*, request: DataSubjectRequest) -> None:
    """(Re)issue the e-mailed code for a request filed while signed out."""
    code = f"{secrets.randbelow(10**6):06d}"
    VerificationCode.objects.update_or_create(
        request=request,
        defaults={
            "code_hash": _hash_code(request, code),
            "code_sealed": seal(code),
            "expires_at": timezone.now()
            + datetime.timedelta(minutes=settings.DSAR_CODE_TTL_MINUTES),
            "attempts": 0,
        },
    )
    transaction.on_commit(partial(tasks.send_verification_code.delay, request.pk))


@transaction.atomic
def dsar_code_check(*, request: DataSubjectRequest, code: str) -> str:
    """Check an e-mailed code. Returns "ok", "wrong", "expired" or "locked"."""
    stored = VerificationCode.objects.select_for_update().filter(request=request).first()
    if stored is None or request.status != Status.IDENTITY_UNVERIFIED:
        return "expired"
    if stored.attempts >= settings.DSAR_CODE_MAX_ATTEMPTS:
        return "locked"
    if stored.expires_at <= timezone.now():
        return "expired"
    if not hmac.compare_digest(stored.code_hash, _hash_code(request, code.strip())):
        VerificationCode.objects.filter(pk=stored.pk).update(attempts=stored.attempts + 1)
        return "locked" if stored.attempts + 1 >= settings.DSAR_CODE_MAX_ATTEMPTS else "wrong"
    stored.delete()
    dsar_verify(request=request, actor=None, method=VerificationMethod.EMAIL_CODE)
    return "ok"


@transaction.atomic
def dsar_verify(
    *,
    request: DataSubjectRequest,
    actor: User | None,
    method: str,
    note: str = "",
    cool_off: bool = True,
    queue: bool = True,
    notify: bool = True,
    starts_at: datetime.datetime | None = None,
) -> DataSubjectRequest:
    """Identity is verified: the clock starts, the requester is told (unless `notify=False`)
    and the work is queued (unless `queue=False`: the caller queues it, and the sweep does if
    it never comes). A deletion waits its cool-off first, unless `cool_off=False`. With
    `starts_at`, the work waits until then and the deadline runs from then."""
    now = timezone.now()
    updates: dict[str, Any] = {
        "verified_at": now,
        "verification_method": method,
        "due_at": deadlines.due_at(starts_at or now, request.jurisdiction),
    }
    if starts_at is not None:
        updates["act_after"] = starts_at
    elif request.type == RequestType.DELETE and cool_off:
        updates["act_after"] = now + datetime.timedelta(days=settings.DSAR_ERASURE_COOL_OFF_DAYS)
    reason = note or str(VerificationMethod(method).label)
    dsar_transition(
        request=request, to=Status.PENDING, actor=actor, reason=reason, notify=notify, **updates
    )
    if queue:
        _enqueue_processing(request.pk)
    return request


@transaction.atomic
def dsar_file_for_system(
    *,
    subject: User,
    type: str,
    reason: str,
    scope: Mapping[str, Any] | None = None,
    requester: User | None = None,
    cool_off: bool = True,
    queue: bool = True,
    notify: bool = True,
) -> DataSubjectRequest:
    """A request the portal files itself (a minor's erasure no guardian approved, a consent
    withdrawal pushed to connected systems): filed and verified by the same services as a
    user's, its deadline the same, verified as *Started by the portal itself* with `reason` in
    its history. No "received" e-mail: the person is told it is under way (or, with
    `notify=False`, in the caller's own words). The same request already open is joined, and
    verified if it was not yet."""
    request, _created = dsar_request_create(
        subject=subject, requester=requester, type=type, scope=scope, notify_received=False
    )
    if request.status == Status.IDENTITY_UNVERIFIED:
        dsar_verify(
            request=request,
            actor=None,
            method=VerificationMethod.SYSTEM,
            note=reason,
            cool_off=cool_off,
            queue=queue,
            notify=notify,
        )
    return request


# --- Requester and staff actions ----------------------------------------------------------------


# Who may be given a request to work: staff who may work the queue.
WORK_PERMISSION = "requests_dsar.change_datasubjectrequest"


@transaction.atomic
def dsar_assign(
    *, request: DataSubjectRequest, assignee: User | None, actor: User
) -> DataSubjectRequest:
    """Give the request to a staff member who may work the queue (None: to nobody); audited."""
    if not actor.has_perm(WORK_PERMISSION):
        raise PermissionDenied("Only staff who work the queue can assign requests.")
    if assignee is not None and not (assignee.is_staff and assignee.has_perm(WORK_PERMISSION)):
        raise ValidationError({"assignee": "Only staff who work the queue can be assigned."})
    if request.assignee_id == (assignee.pk if assignee else None):
        return request
    request.assignee = assignee
    request.save(update_fields=["assignee"])
    audit_append(
        action="dsar.assigned",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="dsar",
        target_id=request.pk,
        data={"assignee": assignee.pk if assignee else None},
    )
    return request


@transaction.atomic
def dsar_note_add(*, request: DataSubjectRequest, author: User, body: str) -> RequestNote:
    """An internal note for the team (never shown to the requester); audited without its text."""
    if not author.has_perm(WORK_PERMISSION):
        raise PermissionDenied("Only staff who work the queue can write internal notes.")
    text = body.strip()
    if not text:
        raise ValidationError({"body": "Write the note."})
    note = RequestNote.objects.create(request=request, author=author, body=text)
    audit_append(
        action="dsar.note_added",
        actor_user_id=author.pk,
        actor_role=Actor.STAFF,
        target_type="dsar",
        target_id=request.pk,
        data={"note": note.pk},
    )
    return note


def dsar_cancel(*, request: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    """The filer withdraws their request (a minor cannot withdraw their guardian's)."""
    if not filed_by(request, actor):
        raise TransitionNotAllowed(FILED_BY_SOMEONE_ELSE)
    if not can_cancel(request):
        raise TransitionNotAllowed("This request can no longer be cancelled.")
    return dsar_transition(
        request=request, to=Status.CANCELLED, actor=actor, reason="Cancelled by the requester."
    )


def dsar_deny(
    *,
    request: DataSubjectRequest,
    actor: User,
    reason: str,
    note: str = "",
    exemption: str = "",
) -> DataSubjectRequest:
    if reason not in DenialReason.values:
        raise ValidationError({"reason": "Choose a reason from the list."})
    if reason == DenialReason.LEGAL_EXEMPTION and exemption not in LegalExemption.values:
        raise ValidationError({"exemption": "Name the ground of the legal exemption."})
    if reason == DenialReason.OTHER and not note.strip():
        raise ValidationError({"note": "Explain the reason."})
    return dsar_transition(
        request=request,
        to=Status.DENIED,
        actor=actor,
        reason=f"{DenialReason(reason).label}. {note}".strip(),
        denial_reason=reason,
        legal_exemption=exemption if reason == DenialReason.LEGAL_EXEMPTION else "",
        denial_note=note,
    )


@transaction.atomic
def dsar_ask_clarification(
    *, request: DataSubjectRequest, actor: User, message: str
) -> DataSubjectRequest:
    if not message.strip():
        raise ValidationError({"message": "Write what you need to know."})
    RequestMessage.objects.create(request=request, author=actor, from_staff=True, body=message)
    return dsar_transition(
        request=request, to=Status.NEEDS_CLARIFICATION, actor=actor, reason="Clarification asked."
    )


@transaction.atomic
def dsar_message_post(
    *, request: DataSubjectRequest, author: User, body: str, from_staff: bool
) -> RequestMessage:
    """A message on a request. The requester's answer to a clarification restarts the clock."""
    if not request.is_open:
        raise TransitionNotAllowed(
            "This request is closed; to ask something more, file a question."
        )
    if not body.strip():
        raise ValidationError({"body": "The message is empty."})
    message = RequestMessage.objects.create(
        request=request, author=author, from_staff=from_staff, body=body
    )
    _audit(request, "dsar.message", author, from_staff=from_staff)
    if not from_staff and request.status == Status.NEEDS_CLARIFICATION:
        dsar_transition(request=request, to=Status.PENDING, actor=author, reason="Answer received.")
        _enqueue_processing(request.pk)
    elif from_staff:
        _notify(request.pk, "message")
    return message


@transaction.atomic
def dsar_reply_and_close(
    *, request: DataSubjectRequest, actor: User, body: str
) -> DataSubjectRequest:
    """Staff answer a question or complaint; the answer completes the request."""
    dsar_message_post(request=request, author=actor, body=body, from_staff=True)
    return dsar_transition(request=request, to=Status.COMPLETED, actor=actor, reason="Answered.")


@transaction.atomic
def dsar_extend(
    *, request: DataSubjectRequest, actor: User, reason: str, days: int
) -> DataSubjectRequest:
    """Extend the deadline once, with a reason the requester is told."""
    if request.extended_at is not None:
        raise ValidationError({"days": "This request was already extended once."})
    if not request.is_open or request.due_at is None:
        raise ValidationError({"days": "Only an open, verified request can be extended."})
    if request.due_at <= timezone.now():
        raise ValidationError({"days": "The deadline has passed: it can no longer be extended."})
    if not 1 <= days <= settings.DSAR_EXTENSION_MAX_DAYS:
        raise ValidationError({"days": f"Extend by 1 to {settings.DSAR_EXTENSION_MAX_DAYS} days."})
    if not reason.strip():
        raise ValidationError({"reason": "State the reason; the requester is told."})
    now = timezone.now()
    new_due = deadlines.extend(request.due_at, days)
    changed = DataSubjectRequest.objects.filter(pk=request.pk, extended_at__isnull=True).update(
        due_at=new_due,
        extended_at=now,
        extension_reason=reason,
        warned_threshold_days=None,
        overdue_flagged_at=None,
    )
    if not changed:
        raise ValidationError({"days": "This request was already extended once."})
    request.due_at, request.extended_at, request.extension_reason = new_due, now, reason
    RequestEvent.objects.create(
        request=request, actor=actor, actor_role=Actor.STAFF, reason=f"Deadline extended: {reason}"
    )
    _audit(request, "dsar.extended", actor, days=days)
    _notify(request.pk, "extended")
    return request


def dsar_approve(*, request: DataSubjectRequest, actor: User) -> DataSubjectRequest:
    """A privacy officer approves what needed approval; the worker carries it out.

    Corrections with changes staff apply by hand are approved through
    `corrections.correction_approve`, which records those changes first.
    """
    if request.type in (RequestType.CORRECT, RequestType.SUPPLEMENT):
        from .corrections import unrecorded_staff_changes

        if unrecorded_staff_changes(request):
            raise ValidationError(
                {"changes": "Record the changes applied by hand before approving."}
            )
    if _held_deletion(request):
        raise ValidationError(
            "A legal hold is in force on this person or request: release it first, or deny the "
            "request under the exemption that applies."
        )
    scope = {**request.scope, "approved_by": actor.pk, "approved_at": timezone.now().isoformat()}
    dsar_transition(
        request=request, to=Status.PENDING, actor=actor, reason="Approved.", scope=scope
    )
    _enqueue_processing(request.pk)
    return request


def dsar_retry(*, request: DataSubjectRequest, actor: User | None) -> DataSubjectRequest:
    dsar_transition(
        request=request, to=Status.PENDING, actor=actor, reason="Retried.", failure_message=""
    )
    _enqueue_processing(request.pk)
    return request


def dsar_mark_verified(
    *, request: DataSubjectRequest, actor: User, note: str
) -> DataSubjectRequest:
    """Staff verified the requester's identity by other means."""
    if not note.strip():
        raise ValidationError({"note": "Say how the identity was verified."})
    return dsar_verify(request=request, actor=actor, method=VerificationMethod.STAFF, note=note)


# --- Fulfilment (called by the worker) ----------------------------------------------------------


def legal_hold_covers(request: DataSubjectRequest) -> bool:
    """Whether an active legal hold names the request or the person it is about."""
    return holds.legal_hold_covers(user_id=request.subject_id, request_id=request.pk)


def _held_deletion(request: DataSubjectRequest) -> bool:
    return request.type == RequestType.DELETE and legal_hold_covers(request)


def _needs_approval(request: DataSubjectRequest) -> bool:
    if _held_deletion(request):
        return True  # even once approved: a hold placed since stops the erasure
    if request.scope.get("approved_by"):
        return False
    if request.type == RequestType.DELETE:
        from .erasure import retained_categories

        return bool(retained_categories(request))
    if request.type in (RequestType.CORRECT, RequestType.SUPPLEMENT):
        from .corrections import staff_only_changes

        return bool(staff_only_changes(request))
    return False


def dsar_process(*, request_id: int) -> None:
    """Carry a pending request forward. Safe to call any number of times for the same request.

    The company's other systems (connected systems) carry out their part first: the request
    waits on them (`waiting_on_systems`) and each system's answer wakes it up again; once every
    one is done or excepted, the portal's own engine runs and the request completes.
    """
    from .engines import run_engine

    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.status not in (Status.PENDING, Status.WAITING_ON_SYSTEMS):
        return
    waiting = request.status == Status.WAITING_ON_SYSTEMS
    if request.type in STAFF_ANSWERED:
        dsar_transition(
            request=request, to=Status.AWAITING_APPROVAL, actor=None, reason="With our team."
        )
        return
    if request.act_after and request.act_after > timezone.now():
        return  # a deletion's cool-off: the sweep brings it back when it ends
    if not waiting and request.type in (RequestType.CORRECT, RequestType.SUPPLEMENT):
        from .corrections import apply_user_editable

        # What requesters may edit themselves applies at once, before any wait for staff.
        apply_user_editable(request)
    if _needs_approval(request):
        dsar_transition(
            request=request,
            to=Status.AWAITING_APPROVAL,
            actor=None,
            reason=(
                "A legal hold is in force: a privacy officer must decide."
                if _held_deletion(request)
                else "A privacy officer must approve this request."
            ),
        )
        return
    if request.type not in AUTOMATED:
        return
    # One transaction: the jobs go out (after commit) only once the request says it waits for
    # them, so the first system's answer always finds it waiting and wakes it.
    try:
        with transaction.atomic():
            if not systems.settled(request):
                if not waiting:
                    dsar_transition(
                        request=request,
                        to=Status.WAITING_ON_SYSTEMS,
                        actor=None,
                        reason="Sent to our other systems; waiting for their answers.",
                        notify=False,
                    )
                return
    except TransitionNotAllowed:
        return  # it moved meanwhile (cancelled, or another worker): nothing was sent
    try:
        dsar_transition(
            request=request,
            to=Status.IN_PROGRESS,
            actor=None,
            reason="Work started.",
            notify=False,
            attempts=request.attempts + 1,
        )
    except TransitionNotAllowed:
        return  # another worker claimed it
    attempt = request.attempts
    try:
        run_engine(request)
    except Exception as exc:
        _after_engine_error(request, attempt, exc)
        raise
    try:
        dsar_transition(
            request=request,
            to=Status.COMPLETED,
            actor=None,
            reason="Done.",
            expect_attempts=attempt,
        )
    except TransitionNotAllowed:
        _discard_if_cancelled(request)


def is_transient(exc: BaseException) -> bool:
    """A lost database or network connection: worth retrying, not a failure to report."""
    return isinstance(exc, TRANSIENT_ERRORS) or isinstance(exc.__cause__, TRANSIENT_ERRORS)


def _after_engine_error(request: DataSubjectRequest, attempt: int, exc: Exception) -> None:
    # The error's type only, never its message: messages can carry personal data.
    try:
        if is_transient(exc):
            # Back to pending: the task retries with backoff (and the sweep after that).
            dsar_transition(
                request=request,
                to=Status.PENDING,
                actor=None,
                reason="A temporary error interrupted the work; it will be retried.",
                notify=False,
                expect_attempts=attempt,
            )
        else:
            dsar_transition(
                request=request,
                to=Status.FAILED,
                actor=None,
                reason="Work failed; staff can retry.",
                failure_message=type(exc).__name__,
                expect_attempts=attempt,
            )
    except TransitionNotAllowed:
        pass  # a newer attempt owns the request now
    except TRANSIENT_ERRORS:
        pass  # the database is away: the request stays in progress and the sweep requeues it


def _discard_if_cancelled(request: DataSubjectRequest) -> None:
    """The request was closed while the worker ran: results it produced are not delivered."""
    request.refresh_from_db()
    if request.status != Status.CANCELLED:
        return  # a newer attempt completes it
    from .export import archive_delete_file

    for archive in request.archives.filter(deleted_at__isnull=True):
        archive_delete_file(archive, reason="cancelled")
