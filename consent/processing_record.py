"""Consent's part of the record of processing: the purposes with their legal bases, and the
third parties (SDKs) that receive personal data (core/processing_record.py)."""

from __future__ import annotations

from core.processing_record import Section, register_section

from .models import LegalBasis, Purpose, ThirdParty


def _purpose_rows() -> list[list[str]]:
    return [
        [
            purpose.name,
            str(LegalBasis(purpose.legal_basis).label),
            "optional" if purpose.is_optional else "needed for the service",
            ", ".join(purpose.pii_categories) or "—",
            ", ".join(p.name for p in purpose.third_parties.all()) or "—",
            "offered" if purpose.offered_to_minors else "not offered",
            "in force" if purpose.active else "withdrawn",
        ]
        for purpose in Purpose.objects.prefetch_related("third_parties").order_by("order", "key")
    ]


def _third_party_rows() -> list[list[str]]:
    return [
        [
            party.name,
            party.description,
            party.data_received,
            party.privacy_policy_url,
            "in use" if party.active else "no longer used",
        ]
        for party in ThirdParty.objects.order_by("name")
    ]


def register() -> None:
    register_section(
        Section(
            key="purposes",
            title="Purposes of processing",
            columns=(
                "Purpose",
                "Legal basis",
                "Optional",
                "Categories of data",
                "Recipients",
                "To minors",
                "Status",
            ),
            rows=_purpose_rows,
            order=20,
        )
    )
    register_section(
        Section(
            key="third_parties",
            title="Recipients: third parties and SDKs",
            columns=(
                "Recipient",
                "What it does",
                "Data it receives",
                "Its privacy policy",
                "Status",
            ),
            rows=_third_party_rows,
            order=30,
        )
    )
