"""Consent receipts in the Kantara Initiative Consent Receipt v1.1 shape, derived from the ledger.

A receipt is computed from one ledger event whenever it is asked for: the ledger is the proof,
the receipt a readable, standard copy of it. The purpose part comes from the snapshot kept with
the event (`purpose_snapshot`), so a third party added to a purpose later never appears on an
earlier receipt. Kantara describes consent given; a withdrawal or a
refusal gets the same shape, its decision named in the extra `decision` member (the schema
allows members it does not list), with the event's ledger hash so a receipt can be matched to
the chain.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse

from core.audit import audit_append

from .models import ConsentEvent, LegalBasis, Method, Purpose

VERSION = "KI-CR-v1.1.0"
CONSENT_TYPE = "EXPLICIT"
# Words in a PII category that make it sensitive (special categories of personal data).
SENSITIVE_MARKERS = (
    "biometric",
    "genetic",
    "health",
    "racial",
    "ethnic",
    "political",
    "religio",
    "philosoph",
    "trade union",
    "sex",
    "judicial",
    "criminal",
)


def _portal_url(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def policy_url(event: ConsentEvent) -> str:
    version = event.policy_version.version if event.policy_version else None
    return _portal_url(f"/privacy/policy/{version}/" if version else "/privacy/policy/")


def _controller() -> dict[str, Any]:
    return {
        "piiController": settings.COMPANY_NAME,
        "contact": settings.COMPANY_CONTACT_NAME,
        "address": dict(settings.COMPANY_ADDRESS),
        "email": settings.COMPANY_CONTACT_EMAIL,
        "phone": settings.COMPANY_PHONE,
        "piiControllerUrl": settings.PORTAL_URL,
        "onBehalf": False,
    }


def purpose_snapshot(purpose: Purpose) -> dict[str, Any]:
    """What a receipt says of `purpose`, as it stands now: kept with each event when it is
    recorded, so a receipt shows the purpose as it was when the decision was made."""
    return {
        "key": purpose.key,
        "name": purpose.name,
        "description": purpose.description,
        "legal_basis": purpose.legal_basis,
        "is_optional": purpose.is_optional,
        "pii_categories": [str(c) for c in purpose.pii_categories],
        "kantara_purpose_category": purpose.kantara_purpose_category,
        "third_parties": [t.name for t in purpose.third_parties.all() if t.active],
    }


def event_purpose(event: ConsentEvent) -> dict[str, Any]:
    """The purpose as it was when `event` was recorded. Events recorded before snapshots were
    kept fall back to the purpose as it stands today."""
    if event.purpose_snapshot is not None:
        return dict(event.purpose_snapshot)
    return purpose_snapshot(event.purpose)


def _termination(purpose: dict[str, Any]) -> str:
    if purpose["legal_basis"] == LegalBasis.CONSENT and purpose["is_optional"]:
        return (
            "Until you withdraw it, which you can do at any time, as easily as you gave it, in "
            f"your consent center: {_portal_url('/dashboard/consent/')}"
        )
    return (
        "For as long as you keep your account; deleting it ends this processing: "
        f"{_portal_url('/dashboard/requests/')}"
    )


def _purpose_entry(purpose: dict[str, Any]) -> dict[str, Any]:
    category = purpose["kantara_purpose_category"]
    entry: dict[str, Any] = {
        "purpose": f"{purpose['name']}: {purpose['description']}",
        "consentType": CONSENT_TYPE,
        "purposeCategory": [category] if category else [],
        "piiCategory": list(purpose["pii_categories"]),
        "primaryPurpose": not purpose["is_optional"],
        "termination": _termination(purpose),
    }
    recipients = purpose["third_parties"]
    entry["thirdPartyDisclosure"] = bool(recipients)
    if recipients:
        entry["thirdPartyName"] = ", ".join(recipients)
    return entry


def sensitive_categories(pii_categories: list[str]) -> list[str]:
    return [
        str(c)
        for c in pii_categories
        if any(marker in str(c).lower() for marker in SENSITIVE_MARKERS)
    ]


def receipt_for(event: ConsentEvent) -> dict[str, Any]:
    """The Kantara Consent Receipt v1.1 of one consent event, its purpose as it was then."""
    purpose = event_purpose(event)
    spi = sensitive_categories(purpose["pii_categories"])
    return {
        "version": VERSION,
        "jurisdiction": settings.COMPANY_JURISDICTION,
        "consentTimestamp": int(event.made_at.timestamp()),
        "collectionMethod": str(Method(event.method).label),
        "consentReceiptID": str(event.uuid),
        "language": settings.LANGUAGE_CODE,
        "piiPrincipalId": event.subject_key,
        "piiControllers": [_controller()],
        "policyUrl": policy_url(event),
        "services": [{"service": settings.COMPANY_NAME, "purposes": [_purpose_entry(purpose)]}],
        "sensitive": bool(spi),
        "spiCat": spi,
        # Not in Kantara's list: what was decided, under which version, and the ledger link.
        "decision": event.decision,
        "policyVersion": event.policy_version.version if event.policy_version else None,
        "ledgerHash": event.hash,
    }


def receipt_filename(event: ConsentEvent) -> str:
    return f"consent-receipt-{event.uuid}.json"


def receipt_response(event: ConsentEvent, receipt: dict[str, Any]) -> HttpResponse:
    """A receipt as a JSON download, never cached by the browser or a proxy."""
    response = HttpResponse(
        json.dumps(receipt, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(event)}"'
    response["Cache-Control"] = "no-store, private"
    return response


def receipt_download(*, user: Any, event: ConsentEvent) -> dict[str, Any]:
    """The receipt of one of `user`'s own events, its download audited like every file."""
    audit_append(
        action="consent.receipt_downloaded",
        actor_user_id=user.pk,
        actor_role="requester",
        target_type="accounts.user",
        target_id=user.pk,
        data={"event": str(event.uuid)},
    )
    return receipt_for(event)
