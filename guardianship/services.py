"""What a guardian does for a minor in their care: look at their data, decide on their consents,
file a copy or deletion request. One function per use case, for the web pages and the API alike.

Each takes the Guardianship found by `guardian_access.guardianship_for`, so nothing here runs for
a minor who is not in the guardian's care. Every look at a minor's data is audited (ids and the
section only); consent changes are ledger events with actor `guardian` and method `guardian`;
requests are filed with the guardian as requester and the minor as subject.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from consent import services as consent_services
from consent.models import ConsentActor, ConsentEvent, Decision, Method, Purpose
from core.audit import audit_append
from requests_dsar import services as dsar_services
from requests_dsar.models import DataSubjectRequest

from .access import GUARDIAN_REQUEST_TYPES, guardianship_for, is_guardian_of
from .flow.common import GUARDIAN_ROLE
from .models import Guardianship
from .verification import third_party_consent_allowed, third_party_consent_require

# What a guardian's view of a minor shows; each is audited under its own name. "request" is
# one request's page or API resource (its status, messages, results), "archive" a download of
# its copy.
SECTIONS = frozenset(
    {"summary", "profile", "history", "consents", "requests", "request_form", "request", "archive"}
)

# Decisions a guardian makes for a minor, as the minor would in their consent center or the API.
GUARDIAN_DECISIONS = (Decision.GIVEN, Decision.WITHDRAWN, Decision.REFUSED)


def guardian_data_viewed(*, guardianship: Guardianship, section: str) -> None:
    """Record that the guardian looked at one section of the minor's data."""
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    audit_append(
        action="guardian.viewed_minor_data",
        actor_user_id=guardianship.guardian_id,
        actor_role=GUARDIAN_ROLE,
        target_type="accounts.user",
        target_id=guardianship.minor_id,
        data={"section": section, "guardianship": guardianship.pk},
    )


def guardianship_behind(*, viewer: User, request: DataSubjectRequest) -> Guardianship | None:
    """The guardianship through which `viewer` follows `request`: one they filed for a minor
    in their care (`requests_dsar.selectors.may_follow`). None for the request's own subject,
    and for anyone who is not, right now, the subject's guardian."""
    minor_id = request.subject_id
    if minor_id is None or minor_id == viewer.pk or request.requester_id != viewer.pk:
        return None
    return guardianship_for(viewer, minor_id)


def guardian_request_viewed(*, viewer: User, request: DataSubjectRequest, section: str) -> bool:
    """Audit a guardian's look at a request they filed for a minor in their care (the requests
    pages and API are shared with the minor's own), like any other guardian access. Returns
    whether `viewer` reached it as a guardian; nothing is recorded otherwise."""
    guardianship = guardianship_behind(viewer=viewer, request=request)
    if guardianship is None:
        return False
    guardian_data_viewed(guardianship=guardianship, section=section)
    return True


def guardian_requests_listed(*, viewer: User, requests: Iterable[DataSubjectRequest]) -> None:
    """Audit a list of requests that shows some filed for minors in `viewer`'s care: one entry
    per minor shown."""
    minors = {
        r.subject_id
        for r in requests
        if r.requester_id == viewer.pk and r.subject_id is not None and r.subject_id != viewer.pk
    }
    for minor_id in sorted(minors):
        guardianship = guardianship_for(viewer, minor_id)
        if guardianship is not None:
            guardian_data_viewed(guardianship=guardianship, section="requests")


def purposes_for_guardian(guardianship: Guardianship) -> list[Purpose]:
    """The purposes a guardian may decide on for the minor: offered to them and to minors.

    Filtered here as well as by the consent center's own rule: a purpose not for minors is
    never offered through a guardian, whatever the minor's profile says.
    """
    return [
        p for p in consent_services.purposes_offered_to(guardianship.minor) if p.offered_to_minors
    ]


def guardian_purpose(guardianship: Guardianship, key: str) -> Purpose | None:
    """One optional purpose the guardian may switch for the minor, or None."""
    return next(
        (p for p in purposes_for_guardian(guardianship) if p.key == key and p.is_optional), None
    )


def guardian_may_share(guardianship: Guardianship) -> bool:
    """Whether the guardian's verification allows consenting to third-party disclosure."""
    return third_party_consent_allowed(minor=guardianship.minor, guardian=guardianship.guardian)


def guardian_may_give(
    guardianship: Guardianship, purpose: Purpose, *, may_share: bool | None = None
) -> bool:
    """Whether the guardian's approval allows giving consent to `purpose` for the minor, for
    the pages to say so before a click (`consent_give` enforces it).

    A purpose that shares data with third parties needs a guardian verified by a method that
    allows third-party disclosure (not `email_plus`); withdrawing is always possible.
    `may_share`: `guardian_may_share` when the caller already asked it.
    """
    if not any(t.active for t in purpose.third_parties.all()):
        return True
    return guardian_may_share(guardianship) if may_share is None else may_share


@transaction.atomic
def guardian_consent_decide(
    *,
    guardianship: Guardianship,
    purpose: Purpose,
    decision: str,
    context: consent_services.CollectionContext = consent_services.NO_CONTEXT,
) -> ConsentEvent | None:
    """Give, withdraw or refuse the minor's consent to `purpose` on their behalf.

    Recorded in the ledger with actor `guardian` and method `guardian`. Returns the event, or
    None when the decision was already in force. A purpose not offered to minors, or not
    optional, is refused with a ValidationError, as is (by `consent_give`) one shared with third
    parties when the guardian's verification does not allow it.
    """
    recorders: dict[str, Callable[..., ConsentEvent | None]] = {
        Decision.GIVEN: consent_services.consent_give,
        Decision.WITHDRAWN: consent_services.consent_withdraw,
        Decision.REFUSED: consent_services.consent_refuse,
    }
    record = recorders.get(decision)
    if record is None:
        raise ValidationError({"decision": "Choose to give or to withdraw the consent."})
    if guardian_purpose(guardianship, purpose.key) is None:
        raise ValidationError(
            {"purpose": f"“{purpose.name}” is not offered to minors or cannot be switched."}
        )
    guardian = guardianship.guardian
    if guardian is None or not is_guardian_of(guardian, guardianship.minor):
        # Consent is told the guardian's role and trusts it: the guardianship must be in force.
        raise PermissionDenied(
            "Only the user themselves, their guardian, staff or the system may decide this."
        )
    if decision == Decision.GIVEN:
        third_party_consent_require(
            minor=guardianship.minor, guardian=guardianship.guardian, purpose=purpose
        )
    return record(
        user=guardianship.minor,
        purpose=purpose,
        method=Method.GUARDIAN,
        actor=guardianship.guardian,
        context=context,
        role=ConsentActor.GUARDIAN,
    )


@transaction.atomic
def guardian_request_file(
    *,
    guardianship: Guardianship,
    type: str,
    details: str = "",
    scope: Mapping[str, Any] | None = None,
    reauthenticated: bool,
) -> tuple[DataSubjectRequest, bool]:
    """File a copy or deletion request for the minor, with the guardian as requester.

    `reauthenticated`: the guardian has just proved who they are (the web form asks for their
    password again), so the request is verified at once. Otherwise (the API) it starts
    unverified and a code is e-mailed, as for a user's own request through the API. Returns
    (request, created) as `dsar_request_create` does.
    """
    if type not in GUARDIAN_REQUEST_TYPES:
        raise ValidationError({"type": "A guardian can ask for a copy or a deletion."})
    filed, created = dsar_services.dsar_request_create(
        subject=guardianship.minor,
        requester=guardianship.guardian,
        type=type,
        details=details,
        scope=scope,
        reauthenticated=reauthenticated,
    )
    if created and not reauthenticated:
        dsar_services.dsar_code_issue(request=filed)
    # The request's own history names the guardian as its requester; this says in what role.
    audit_append(
        action="guardian.request_filed",
        actor_user_id=guardianship.guardian_id,
        actor_role=GUARDIAN_ROLE,
        target_type="accounts.user",
        target_id=guardianship.minor_id,
        data={"request": filed.pk, "type": type, "created": created},
    )
    return filed, created
