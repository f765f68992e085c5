"""Correction and supplement requests: what the requester asks to change, and applying it.

A request's `scope["changes"]` lists `{"field", "value"}` pairs. Profile fields the requester may
edit themselves are validated as the profile form validates them and applied at once by the
worker, as the requester. Anything else (the e-mail address, login history, the activity log,
"other") is a free-text proposal a privacy officer applies by hand and records when approving.
Every applied change leaves an AppliedCorrection row with the value before and after.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.encoding import force_str

from accounts.forms import ProfileForm
from accounts.models import Profile, User
from accounts.selectors import profile_for
from accounts.services import PROFILE_EDITABLE_FIELDS, profile_update
from core.audit import audit_append
from core.models import Actor
from requests_dsar.models import AppliedCorrection, DataSubjectRequest, RequestEvent, RequestType

logger = logging.getLogger(__name__)

CORRECTION_TYPES = frozenset({RequestType.CORRECT, RequestType.SUPPLEMENT})
MAX_CHANGES = 20
MAX_PROPOSAL_LENGTH = 2000
# Data the requester cannot edit themselves: they describe the correction, staff apply it.
STAFF_CORRECTABLE = {
    "email": "E-mail address",
    "login_history": "Login and device history",
    "access_log": "Activity log",
    "other": "Other data",
}
# Editable fields whose change the worker could not apply (the profile no longer validates):
# listed here in the scope, they go to staff like the staff-only ones.
STAFF_REVIEW_KEY = "staff_review"


class StaffCorrectionsMissing(Exception):
    """A correction was approved without recording the changes staff had to apply by hand."""


def field_label(field: str) -> str:
    if field in PROFILE_EDITABLE_FIELDS:
        model_field = cast(models.Field, Profile._meta.get_field(field))
        return force_str(model_field.verbose_name).capitalize()
    return STAFF_CORRECTABLE.get(field, field)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _profile_form_clean(values: Mapping[str, str]) -> dict[str, Any]:
    """Clean values exactly as the profile form would; errors are keyed by the field."""
    form = ProfileForm(data=dict(values))
    form.is_valid()
    # Each message names its field, however a caller shows it (beside a field or in a list).
    errors = {
        name: [f"{field_label(name)}: {message}" for message in form.errors[name]]
        for name in values
        if name in form.errors
    }
    if errors:
        raise ValidationError(errors)
    return {name: form.cleaned_data[name] for name in values}


def validate_changes(changes: Any) -> list[dict[str, str]]:
    """The cleaned `scope["changes"]` of a correction or supplement, or a ValidationError.

    Structural problems are reported under "changes"; a refused value under its field's name
    (as the profile form reports it).
    """
    if not isinstance(changes, list) or not changes:
        raise ValidationError({"changes": "List at least one change."})
    if len(changes) > MAX_CHANGES:
        raise ValidationError({"changes": f"At most {MAX_CHANGES} changes in one request."})
    editable: dict[str, str] = {}
    staff: dict[str, str] = {}
    for item in changes:
        if not isinstance(item, Mapping):
            raise ValidationError({"changes": 'Each change is {"field": ..., "value": ...}.'})
        field, value = item.get("field"), item.get("value", "")
        if not isinstance(field, str) or not isinstance(value, str):
            raise ValidationError({"changes": "A change's field and value are text."})
        if field not in PROFILE_EDITABLE_FIELDS and field not in STAFF_CORRECTABLE:
            raise ValidationError({"changes": f"Unknown field {field[:50]!r}."})
        label = field_label(field)
        if field in editable or field in staff:
            # Well formed each, but the two disagree: a conflict within the request (409).
            raise ValidationError(
                {field: ValidationError(f"{label}: listed twice.", code="conflict")}
            )
        if field in PROFILE_EDITABLE_FIELDS:
            editable[field] = value
            continue
        if not value.strip():
            raise ValidationError({field: f"{label}: describe the correction."})
        if len(value) > MAX_PROPOSAL_LENGTH:
            raise ValidationError(
                {field: f"{label}: describe it in at most {MAX_PROPOSAL_LENGTH} characters."}
            )
        staff[field] = value.strip()
    cleaned = _profile_form_clean(editable) if editable else {}
    return [
        {"field": item["field"], "value": _as_text(cleaned[item["field"]])}
        if item["field"] in cleaned
        else {"field": item["field"], "value": staff[item["field"]]}
        for item in changes
    ]


def _changes(request: DataSubjectRequest) -> list[dict[str, str]]:
    changes = request.scope.get("changes") or []
    return [dict(c) for c in changes if isinstance(c, Mapping) and "field" in c]


def staff_only_changes(request: DataSubjectRequest) -> list[dict[str, str]]:
    """The changes a privacy officer must approve and apply by hand."""
    review = set(request.scope.get(STAFF_REVIEW_KEY) or [])
    return [
        c
        for c in _changes(request)
        if c["field"] not in PROFILE_EDITABLE_FIELDS or c["field"] in review
    ]


def user_editable_changes(request: DataSubjectRequest) -> list[dict[str, str]]:
    review = set(request.scope.get(STAFF_REVIEW_KEY) or [])
    return [
        c
        for c in _changes(request)
        if c["field"] in PROFILE_EDITABLE_FIELDS and c["field"] not in review
    ]


def recorded_fields(request: DataSubjectRequest) -> set[str]:
    return set(AppliedCorrection.objects.filter(request=request).values_list("field", flat=True))


def unrecorded_staff_changes(request: DataSubjectRequest) -> list[dict[str, str]]:
    done = recorded_fields(request)
    return [c for c in staff_only_changes(request) if c["field"] not in done]


def _audit(request: DataSubjectRequest, actor: User | None, role: str, fields: list[str]) -> None:
    audit_append(
        action="dsar.corrected",
        actor_user_id=actor.pk if actor else None,
        actor_role=role,
        target_type="dsar",
        target_id=request.pk,
        data={"fields": fields},
    )


def _python_value(field: str, text: str) -> Any:
    return _profile_form_clean({field: text})[field]


@transaction.atomic
def apply_user_editable(request: DataSubjectRequest) -> list[AppliedCorrection]:
    """Apply the requester-editable changes now, as the requester, recording before and after.

    Safe to call again (a redelivered task, the engine after the approval step): a field already
    recorded for this request is skipped, and the request row is locked while applying.
    """
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    subject = locked.subject
    if subject is None:
        return []
    done = recorded_fields(locked)
    todo = [c for c in user_editable_changes(locked) if c["field"] not in done]
    if not todo:
        return []
    actor = locked.requester or subject
    applied: list[AppliedCorrection] = []
    refused: list[str] = []
    for change in todo:
        field = change["field"]
        before = _as_text(getattr(profile_for(subject), field))
        try:
            with transaction.atomic():
                profile = profile_update(
                    user=subject, actor=actor, data={field: _python_value(field, change["value"])}
                )
        except ValidationError:
            # Valid when filed, refused now (the profile changed meanwhile): a person decides.
            logger.warning("correction of %s on request %s needs staff", field, locked.pk)
            refused.append(field)
            continue
        applied.append(
            AppliedCorrection.objects.create(
                request=locked,
                field=field,
                before=before,
                after=_as_text(getattr(profile, field)),
                applied_by=actor,
            )
        )
    if applied:
        RequestEvent.objects.create(
            request=locked,
            actor=actor,
            actor_role=Actor.REQUESTER,
            reason="Applied at once: " + ", ".join(field_label(c.field) for c in applied) + ".",
        )
        _audit(locked, actor, Actor.REQUESTER, [c.field for c in applied])
    if refused:
        scope = {
            **locked.scope,
            STAFF_REVIEW_KEY: sorted({*locked.scope.get(STAFF_REVIEW_KEY, []), *refused}),
        }
        DataSubjectRequest.objects.filter(pk=locked.pk).update(scope=scope)
        request.scope = scope
        RequestEvent.objects.create(
            request=locked,
            actor_role=Actor.SYSTEM,
            reason="Our privacy team will apply: "
            + ", ".join(field_label(f) for f in refused)
            + ".",
        )
    return applied


@transaction.atomic
def correction_approve(
    *,
    request: DataSubjectRequest,
    actor: User,
    applied: Mapping[str, tuple[str, str]],
) -> DataSubjectRequest:
    """A privacy officer approves a correction, recording what they changed by hand.

    `applied` maps each staff-only field not yet recorded to (before, after) as the officer
    applied it. Every such field must be recorded before the request is approved; the worker
    then applies the requester-editable changes and completes the request.
    """
    from .services import dsar_approve

    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if locked.type not in CORRECTION_TYPES:
        raise ValidationError({"changes": "This request is not a correction."})
    missing = unrecorded_staff_changes(locked)
    proposed = {c["field"] for c in missing}
    unknown = sorted(set(applied) - proposed)
    if unknown:
        raise ValidationError({"changes": f"Not a pending proposal: {', '.join(unknown)}."})
    not_given = [field_label(f) for f in sorted(proposed - set(applied))]
    if not_given:
        raise ValidationError({"changes": f"Record what was changed for: {', '.join(not_given)}."})
    rows = []
    for field, (before, after) in applied.items():
        if not after.strip():
            raise ValidationError(
                {field: f"{field_label(field)}: say what it is now (or why it stays as it was)."}
            )
        if len(before) > MAX_PROPOSAL_LENGTH or len(after) > MAX_PROPOSAL_LENGTH:
            raise ValidationError(
                {field: f"{field_label(field)}: at most {MAX_PROPOSAL_LENGTH} characters."}
            )
        rows.append(
            AppliedCorrection(
                request=locked, field=field, before=before, after=after.strip(), applied_by=actor
            )
        )
    if rows:
        AppliedCorrection.objects.bulk_create(rows)
        RequestEvent.objects.create(
            request=locked,
            actor=actor,
            actor_role=Actor.STAFF,
            reason="Applied by our privacy team: "
            + ", ".join(field_label(r.field) for r in rows)
            + ".",
        )
        _audit(locked, actor, Actor.STAFF, [r.field for r in rows])
    return dsar_approve(request=locked, actor=actor)


def fulfil_correction(request: DataSubjectRequest) -> None:
    """The engine: apply what is left of the requester's own changes; staff's must be recorded."""
    apply_user_editable(request)
    missing = unrecorded_staff_changes(request)
    if missing:
        raise StaffCorrectionsMissing(", ".join(c["field"] for c in missing))
