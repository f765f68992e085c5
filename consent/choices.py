"""Consent choices on a form (sign-up, re-consent): one separate, unticked box per optional
purpose, never bundled, with what it is, its legal basis and who receives the information."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import LegalBasis, Purpose
from .services import ADULT_AGE

FIELD_PREFIX = "consent_"

# What each legal basis means for the person, where a purpose is not theirs to switch.
LEGAL_BASIS_EXPLANATIONS = {
    LegalBasis.CONSENT: "Your consent, which the service cannot work without.",
    LegalBasis.CONTRACT: "Our contract with you: the service you signed up for needs it.",
    LegalBasis.LEGAL_OBLIGATION: "A legal obligation: the law requires it of us.",
    LegalBasis.VITAL_INTEREST: "Vital interests: it protects someone's life or health.",
    LegalBasis.PUBLIC_INTEREST: "A task carried out in the public interest.",
    LegalBasis.LEGITIMATE_INTEREST: (
        "Our legitimate interest, weighed against your rights; you may object to it."
    ),
}


def field_name(purpose: Purpose) -> str:
    return FIELD_PREFIX + purpose.key


def purpose_help_text(purpose: Purpose) -> SafeString:
    """The purpose's description, who receives the data and any age limit, escaped."""
    parts = [format_html("{}", purpose.description)]
    recipients = [t.name for t in purpose.third_parties.all() if t.active]
    if recipients:
        parts.append(format_html("Shared with: {}.", ", ".join(recipients)))
    if not purpose.offered_to_minors:
        parts.append(format_html("Offered only to people aged {} or over.", ADULT_AGE))
    parts.append(format_html("{}", "Optional: you can withdraw it at any time."))
    return format_html_join(" ", "{}", ((p,) for p in parts))


def choice_fields(purposes: Iterable[Purpose]) -> dict[str, forms.BooleanField]:
    """One unticked, optional checkbox per purpose. Never pre-ticked, whatever was decided
    before: a consent is given by ticking it."""
    return {
        field_name(p): forms.BooleanField(
            label=p.name, required=False, initial=False, help_text=purpose_help_text(p)
        )
        for p in purposes
    }


def chosen(form: forms.Form, purposes: Iterable[Purpose]) -> dict[Purpose, bool]:
    return {p: bool(form.cleaned_data.get(field_name(p))) for p in purposes}


class ReconsentForm(forms.Form):
    """The re-consent prompt: the optional purposes to choose again, unticked."""

    def __init__(self, *args: Any, purposes: Iterable[Purpose], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.purposes = list(purposes)
        self.optional = [p for p in self.purposes if p.is_optional]
        self.required = [p for p in self.purposes if not p.is_optional]
        self.fields.update(choice_fields(self.optional))

    def choices(self) -> Mapping[Purpose, bool]:
        """Ticked or not per optional purpose; required consent-based purposes as agreed
        (the page explains them and that continuing means agreeing)."""
        return {**chosen(self, self.optional), **dict.fromkeys(self.required, True)}
