"""Close relatives acting for a deceased user ("Management of Personal Information", item 4).

How a case reuses the requests engine:

* A relative files a case on the public form, signed out, with proof documents. The documents are
  checked by their bytes and stored encrypted (requests_dsar.uploads) before anything else; a
  case row is created whether or not an account uses the address given, and a code goes to the
  relative's own address. Every answer the relative gets is the same with or without an account:
  nothing here tells them which it is. A case for no account is closed by staff ("no data matches
  the request").
* Once the relative's code is confirmed, the case is linked to one DataSubjectRequest of the type
  asked for (copy or delete), about the deceased, with the relative's verified address as its
  contact. The request is the case's clock and queue entry: its deadline, reminders, overdue
  flags and history come from the engine, and it waits in "awaiting approval" for a privacy
  officer. Nothing is processed before that approval, and the request queue's own approve,
  verify, clarify and message buttons are switched off for it (relatives_admin.py): the
  decision is taken on the case's page, where the proof and the deceased's own arrangement are.
* Approval (`relative_case_approve`) honours the arrangement the user made while alive
  (Profile.after_death): "delete everything" turns a request for a copy into a deletion; "a
  copy, then delete" gives the copy and files the deletion to start once the copy's link has
  expired; otherwise the relative decides. The account is memorialized (locked, signed out, no
  further collection) and the request goes to the worker: the export engine builds the copy,
  which reaches the relative through an expiring signed link e-mailed to their verified address
  (downloads.relative_archive_download); the erasure engine deletes.
* The engine tells "the requester" of every step; for a relative's request that is the relative
  at their verified address, never the deceased's (relatives_mail.notify_relative_of_request,
  called through requests_dsar.representatives).
* The documents are deleted a set period after the case closes, and abandoned unverified cases
  a day after they were filed, by the retention sweep (rules registered in personal_data.py).

Nothing here logs or records a personal value: audit entries carry ids, codes and counts.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Profile, User
from accounts.selectors import profile_for
from consent.selectors import facts_changed
from core import mail, uploads
from core.audit import audit_append
from core.crypto import seal
from core.models import Actor
from relatives.models import Relationship, RelativeAsk, RelativeCase, RelativeDocument
from requests_dsar import services, tasks
from requests_dsar.models import (
    DataSubjectRequest,
    RequestType,
    Status,
    VerificationMethod,
)
from requests_dsar.workflow import TransitionNotAllowed

from . import tasks as case_tasks

# The key in a request's scope naming the relative's case it belongs to.
RELATIVE_CASE_KEY = "relative_case"
MAX_FILES_PER_KIND = 5
UPLOAD_FOLDER = "relatives"
# An unverified case (its code never confirmed) is removed, documents and all, after this.
UNVERIFIED_CASE_LIFETIME_DAYS = 1
# "A copy, then delete": the deletion starts this long after the copy's link has expired.
FOLLOW_UP_MARGIN = datetime.timedelta(days=1)

Arrangement = Profile.AfterDeath


# What a new code changes on the case.
CODE_FIELDS = ["code_hash", "code_sealed", "code_expires_at", "code_attempts"]


class DocumentStorageError(Exception):
    """The documents could not be stored; nothing of the case was kept."""


class StagingFull(Exception):
    """Unconfirmed cases hold all the documents they may (RELATIVES_UNVERIFIED_BYTES_TOTAL):
    nothing more is stored until codes are confirmed or abandoned cases expire."""


def documents_size(documents: Mapping[str, Sequence[UploadedFile]]) -> int:
    return sum(upload.size or 0 for files in documents.values() for upload in files)


def unverified_documents_size() -> int:
    """What the documents of cases whose code was never confirmed hold, in bytes."""
    total = RelativeDocument.objects.filter(
        case__verified_at__isnull=True, deleted_at__isnull=True
    ).aggregate(total=Sum("size"))["total"]
    return int(total or 0)


@dataclass(frozen=True)
class RelativeClaim:
    """What the relative states on the form (already validated)."""

    relative_name: str
    relative_email: str
    relationship: str
    relationship_other: str
    deceased_email: str
    asked: str


# --- Reading ---------------------------------------------------------------------------------


def is_relative_request(request: DataSubjectRequest) -> bool:
    """Whether a request belongs to a relative's case (its first request or the follow-up)."""
    return RELATIVE_CASE_KEY in (request.scope or {})


def outcome_for(asked: str, arrangement: str) -> str:
    """What approval does, given what the relative asked and what the user arranged.

    "Delete everything" refuses a copy: deletion is the outcome. Every other arrangement (and
    none) lets the relative's request stand.
    """
    if arrangement == Arrangement.DELETE:
        return RelativeAsk.DELETE
    return asked


def deletion_follows_copy(outcome: str, arrangement: str) -> bool:
    """ "My close relatives may have a copy, then delete": a copy is followed by deletion."""
    return outcome == RelativeAsk.COPY and arrangement == Arrangement.RELATIVES_COPY


def follow_up_delay() -> datetime.timedelta:
    """How long after approval the deletion that follows a copy starts."""
    return datetime.timedelta(days=settings.DSAR_ARCHIVE_LIFETIME_DAYS) + FOLLOW_UP_MARGIN


def account_for(email: str) -> User | None:
    """The account using this address, memorialized or not; never an erased one."""
    return (
        User.objects.filter(email__iexact=email.strip())
        .exclude(email__endswith=mail.ERASED_EMAIL_SUFFIX)
        .first()
    )


def _audit(action: str, case: RelativeCase, actor: User | None, **data: Any) -> None:
    audit_append(
        action=action,
        actor_user_id=actor.pk if actor else None,
        actor_role=Actor.STAFF if actor else Actor.REQUESTER,
        target_type="relative_case",
        target_id=case.pk,
        data=data,
    )


# --- Filing and confirming -----------------------------------------------------------------------


def _code_hash(case: RelativeCase, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"relative:{case.pk}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _new_code(case: RelativeCase) -> str:
    """Give the case a fresh code (saved by the caller) and send it after commit."""
    code = f"{secrets.randbelow(10**6):06d}"
    case.code_hash = _code_hash(case, code)
    case.code_sealed = seal(code)  # for the mail task to read: never a task argument
    case.code_expires_at = timezone.now() + datetime.timedelta(
        minutes=settings.DSAR_CODE_TTL_MINUTES
    )
    case.code_attempts = 0
    transaction.on_commit(partial(case_tasks.send_relative_code.delay, case.pk))
    return code


def _store_all(
    documents: Mapping[str, Sequence[UploadedFile]],
) -> list[tuple[str, uploads.StoredUpload]]:
    """Encrypt every file into storage; on any failure remove what was stored and raise."""
    stored: list[tuple[str, uploads.StoredUpload]] = []
    try:
        for kind, files in documents.items():
            for upload in files:
                stored.append((kind, uploads.store_encrypted(upload, folder=UPLOAD_FOLDER)))
    except BaseException as exc:
        for _kind, item in stored:
            uploads.delete_stored(item.storage_name)
        if isinstance(exc, OSError):
            raise DocumentStorageError(type(exc).__name__) from None
        raise
    return stored


def _check_documents(documents: Mapping[str, Sequence[UploadedFile]]) -> None:
    errors: dict[str, str] = {}
    for kind in RelativeDocument.Kind:
        count = len(documents.get(kind, ()))
        if not count:
            errors[kind] = f"Add the {kind.label.lower()}."
        elif count > MAX_FILES_PER_KIND:
            errors[kind] = f"Add at most {MAX_FILES_PER_KIND} files."
    unknown = set(documents) - set(RelativeDocument.Kind.values)
    if unknown:
        errors["__all__"] = "Unknown kind of document."
    if errors:
        raise ValidationError(errors)


def relative_case_submit(
    *, claim: RelativeClaim, documents: Mapping[str, Sequence[UploadedFile]]
) -> RelativeCase:
    """File a relative's case with its proof documents and send a code to the relative.

    The same happens whether or not an account uses `claim.deceased_email`. Every file is
    validated again and stored encrypted before the case is created; if storing or saving fails,
    the stored files are removed and nothing is kept (DocumentStorageError for a storage fault).
    StagingFull when unconfirmed cases already hold all they may.
    """
    if claim.relationship not in Relationship.values:
        raise ValidationError({"relationship": "Choose how you are related."})
    if claim.relationship == Relationship.OTHER and not claim.relationship_other.strip():
        raise ValidationError({"relationship_other": "Say how you are related."})
    if claim.asked not in RelativeAsk.values:
        raise ValidationError({"asked": "Choose what you ask us to do."})
    _check_documents(documents)
    # Before the code is confirmed, anyone can file: what such cases may hold is capped.
    if unverified_documents_size() + documents_size(documents) > (
        settings.RELATIVES_UNVERIFIED_BYTES_TOTAL
    ):
        raise StagingFull
    stored = _store_all(documents)
    try:
        return _create_case(claim, stored)
    except BaseException:
        for _kind, item in stored:
            uploads.delete_stored(item.storage_name)
        raise


@transaction.atomic
def _create_case(
    claim: RelativeClaim, stored: Iterable[tuple[str, uploads.StoredUpload]]
) -> RelativeCase:
    case = RelativeCase.objects.create(
        relative_name=claim.relative_name.strip(),
        relative_email=claim.relative_email.strip(),
        relationship=claim.relationship,
        relationship_other=(
            claim.relationship_other.strip() if claim.relationship == Relationship.OTHER else ""
        ),
        deceased_email=claim.deceased_email.strip(),
        deceased=account_for(claim.deceased_email),
        asked=claim.asked,
    )
    documents = RelativeDocument.objects.bulk_create(
        RelativeDocument(
            case=case,
            kind=kind,
            **item.fields(),
        )
        for kind, item in stored
    )
    _new_code(case)
    case.save(update_fields=CODE_FIELDS)
    _audit("relatives.case_filed", case, None, documents=len(documents))
    return case


@transaction.atomic
def relative_code_resend(*, public_id: uuid.UUID) -> None:
    """Send a new code for a case still waiting for its confirmation; otherwise nothing."""
    case = (
        RelativeCase.objects.select_for_update()
        .filter(public_id=public_id, verified_at__isnull=True)
        .first()
    )
    if case is None:
        return
    _new_code(case)
    case.save(update_fields=CODE_FIELDS)


@transaction.atomic
def relative_code_check(*, public_id: uuid.UUID, code: str) -> str:
    """Check the code e-mailed to the relative: "ok", "wrong", "expired" or "locked".

    "ok" confirms the relative's address and puts the case in the staff queue.
    """
    case = RelativeCase.objects.select_for_update().filter(public_id=public_id).first()
    if case is None or case.verified_at is not None:
        return "expired"
    result = _code_result(case, code)
    if result == "ok":
        _case_verify(case)
    return result


def _code_result(case: RelativeCase, code: str) -> str:
    """The case's live code against `code` (the row locked by the caller): "ok", "wrong",
    "expired" or "locked"; a wrong try is counted."""
    if not case.code_hash:
        return "expired"
    if case.code_attempts >= settings.DSAR_CODE_MAX_ATTEMPTS:
        return "locked"
    if case.code_expires_at is None or case.code_expires_at <= timezone.now():
        return "expired"
    if not hmac.compare_digest(case.code_hash, _code_hash(case, code.strip())):
        attempts = case.code_attempts + 1
        RelativeCase.objects.filter(pk=case.pk).update(code_attempts=attempts)
        return "locked" if attempts >= settings.DSAR_CODE_MAX_ATTEMPTS else "wrong"
    return "ok"


# --- Opening the copy -----------------------------------------------------------------------------
# The copy's e-mailed link alone does not open it: the relative asks for a code, e-mailed to the
# address they confirmed, each time they open it (relatives/downloads.py). A link that leaks
# (a forwarded mail, a browser history, a proxy's log) is not enough.


@transaction.atomic
def relative_copy_code_issue(*, case: RelativeCase) -> None:
    """E-mail the relative of an approved copy a code that opens it."""
    locked = RelativeCase.objects.select_for_update().get(pk=case.pk)
    if locked.verified_at is None:
        return
    _new_code(locked)
    locked.save(update_fields=CODE_FIELDS)


@transaction.atomic
def relative_copy_code_check(*, case: RelativeCase, code: str) -> str:
    """Check the code that opens the copy: "ok" (used up), "wrong", "expired" or "locked"."""
    locked = RelativeCase.objects.select_for_update().get(pk=case.pk)
    if locked.verified_at is None:
        return "expired"
    result = _code_result(locked, code)
    if result == "ok":
        locked.code_hash, locked.code_sealed, locked.code_expires_at = "", "", None
        locked.save(update_fields=["code_hash", "code_sealed", "code_expires_at"])
        _audit("relatives.copy_unlocked", locked, None)
    return result


def _request_file(
    *, case: RelativeCase, type: str, details: str, scope: Mapping[str, Any]
) -> DataSubjectRequest:
    """A request for the case, received and unverified (the caller moves it on)."""
    return services.dsar_request_record(
        type=type,
        subject=case.deceased,
        requester=None,
        contact_email=case.relative_email,
        details=details,
        scope={**scope, RELATIVE_CASE_KEY: case.pk},
        actor_role=Actor.REQUESTER,
        reason="Received from a close relative of a deceased user.",
        relative_case=case.pk,
    )


def _case_verify(case: RelativeCase) -> None:
    now = timezone.now()
    request = _request_file(
        case=case,
        type=case.asked,
        details=f"Filed by a close relative for a deceased user: see relative's case "
        f"{case.reference} under Relatives' cases.",
        scope={},
    )
    # Verified like any request (the clock starts), then held for a privacy officer: no
    # cool-off, nothing queued and no notice until the officer decides.
    services.dsar_verify(
        request=request,
        actor=None,
        method=VerificationMethod.EMAIL_CODE,
        note="The relative confirmed their e-mail address with a code.",
        cool_off=False,
        queue=False,
        notify=False,
    )
    services.dsar_transition(
        request=request,
        to=Status.AWAITING_APPROVAL,
        actor=None,
        reason="A privacy officer reviews the relative's proof.",
        notify=False,
    )
    case.verified_at, case.request = now, request
    case.code_hash, case.code_sealed, case.code_expires_at = "", "", None
    case.save(
        update_fields=["verified_at", "request", "code_hash", "code_sealed", "code_expires_at"]
    )
    _audit("relatives.case_verified", case, None, request=request.pk)
    transaction.on_commit(partial(case_tasks.notify_relative.delay, case.pk, "received"))


# --- Staff decisions ------------------------------------------------------------------------------


def _locked_case(case: RelativeCase) -> tuple[RelativeCase, DataSubjectRequest]:
    locked = (
        RelativeCase.objects.select_for_update(of=("self",))
        .select_related("request", "deceased")
        .get(pk=case.pk)
    )
    request = locked.request
    if request is None or request.status != Status.AWAITING_APPROVAL:
        raise TransitionNotAllowed("This case is not waiting for a decision.")
    return locked, request


def case_problem(case: RelativeCase) -> str:
    """Why the case cannot be approved, in a sentence for staff; "" if it can."""
    deceased = case.deceased
    if deceased is None:
        return (
            "No account uses the address the relative gave: deny the case with "
            "“No data matches the request”."
        )
    if not mail.is_deliverable(deceased.email):
        return "This account has already been erased: deny the case."
    return ""


def memorialize(*, user: User, actor: User, case: RelativeCase) -> None:
    """Lock a deceased user's account: no sign-in, every session ended, nothing more collected."""
    now = timezone.now()
    profile = profile_for(user)
    Profile.objects.filter(pk=profile.pk, memorialized_at__isnull=True).update(memorialized_at=now)
    User.objects.filter(pk=user.pk).update(is_active=False)

    facts_changed(user.pk)
    for session in UserSession.objects.filter(user=user):
        session.end()  # removes it from the session store, signing that device out
    audit_append(
        action="account.memorialized",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="accounts.user",
        target_id=user.pk,
        data={"relative_case": case.pk},
    )


@transaction.atomic
def relative_case_approve(*, case: RelativeCase, actor: User) -> RelativeCase:
    """A privacy officer accepts the relative's proof.

    The deceased's arrangement decides the outcome (`outcome_for`); the account is memorialized
    and the case's request goes to the worker. Raises ValidationError when the case cannot be
    approved (no such account) and TransitionNotAllowed when it is no longer open.
    """
    case, request = _locked_case(case)
    problem = case_problem(case)
    if problem:
        raise ValidationError(problem)
    deceased = case.deceased
    assert deceased is not None  # case_problem refuses a case without an account
    now = timezone.now()
    arrangement = profile_for(deceased).after_death
    outcome = outcome_for(case.asked, arrangement)
    memorialize(user=deceased, actor=actor, case=case)
    approval = {"approved_by": actor.pk, "approved_at": now.isoformat()}
    updates: dict[str, Any] = {"scope": {**request.scope, **approval}}
    reason = "Approved: the relative's proof was accepted."
    if outcome != request.type:
        updates["type"] = outcome
        reason += " The user arranged that everything be deleted: no copy; deletion instead."
    services.dsar_transition(
        request=request, to=Status.PENDING, actor=actor, reason=reason, notify=False, **updates
    )
    transaction.on_commit(partial(tasks.process_request.delay, request.pk))
    if deletion_follows_copy(outcome, arrangement):
        case.erasure_request = _follow_up_erasure(case, actor, approval, now)
    case.arrangement, case.outcome = arrangement, outcome
    case.decided_at, case.decided_by = now, actor
    case.save(
        update_fields=[
            "arrangement",
            "outcome",
            "decided_at",
            "decided_by",
            "erasure_request",
        ]
    )
    _audit(
        "relatives.case_approved",
        case,
        actor,
        request=request.pk,
        outcome=outcome,
        arrangement=arrangement or "none",
    )
    transaction.on_commit(partial(case_tasks.notify_relative.delay, case.pk, "approved"))
    return case


def _follow_up_erasure(
    case: RelativeCase, actor: User, approval: Mapping[str, Any], now: datetime.datetime
) -> DataSubjectRequest:
    """The deletion that follows a copy, as the user arranged: verified by the officer's
    approval, waiting until the copy's link has expired (the request sweep starts it then)."""
    request = _request_file(
        case=case,
        type=RequestType.DELETE,
        details=f"The deletion the user arranged after their relatives' copy: see relative's "
        f"case {case.reference} under Relatives' cases.",
        scope=approval,
    )
    services.dsar_verify(
        request=request,
        actor=actor,
        method=VerificationMethod.STAFF,
        note="The user arranged that their account be deleted after their relatives' copy.",
        starts_at=now + follow_up_delay(),
        queue=False,
        notify=False,
    )
    return request


@transaction.atomic
def relative_case_deny(
    *, case: RelativeCase, actor: User, reason: str, note: str = "", exemption: str = ""
) -> RelativeCase:
    """Refuse the case; the relative is told the reason by e-mail (through the engine)."""
    case, request = _locked_case(case)
    services.dsar_deny(request=request, actor=actor, reason=reason, note=note, exemption=exemption)
    case.decided_at, case.decided_by = timezone.now(), actor
    case.save(update_fields=["decided_at", "decided_by"])
    _audit("relatives.case_denied", case, actor, request=request.pk, reason=reason)
    return case


# --- Documents -------------------------------------------------------------------------------


def documents_delete_files(documents: models.QuerySet[RelativeDocument]) -> None:
    """Remove the stored files of these documents (idempotent); the rows say when after."""
    for document in documents.filter(deleted_at__isnull=True):
        uploads.delete_stored(document.storage_name)


def documents_mark_deleted(documents: models.QuerySet[RelativeDocument]) -> int:
    """Record that these documents' files are gone. Returns how many were marked."""
    rows = list(documents.filter(deleted_at__isnull=True).values_list("pk", "case_id"))
    if not rows:
        return 0
    RelativeDocument.objects.filter(pk__in=[pk for pk, _case in rows]).update(
        deleted_at=timezone.now()
    )
    audit_append(
        action="relatives.documents_deleted",
        actor_user_id=None,
        actor_role=Actor.SYSTEM,
        target_type="relative_case",
        data={"documents": [pk for pk, _case in rows], "cases": sorted({c for _p, c in rows})},
    )
    return len(rows)


# --- The user's own arrangement ----------------------------------------------------------------


@transaction.atomic
def after_death_set(*, user: User, choice: str) -> Profile:
    """The user says, while alive, what should happen to their data after their death."""
    if choice not in Arrangement.values:
        raise ValidationError({"after_death": "Choose one of the options."})
    profile = profile_for(user)
    profile.after_death = choice
    profile.save(update_fields=["after_death", "updated_at"])
    audit_append(
        action="profile.after_death_set",
        actor_user_id=user.pk,
        actor_role=Actor.REQUESTER,
        target_type="accounts.user",
        target_id=user.pk,
    )
    return profile
