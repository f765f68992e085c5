"""The e-mail sign-up's extra fields (allauth's ACCOUNT_SIGNUP_FORM_CLASS): the account's date
of birth and region, and one separate, unticked choice per optional purpose.

allauth imports this module while building its own forms, so it must not import allauth's forms
itself; consent's models and services are imported inside the methods, as allauth may import it
while Django is still loading apps.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import jurisdictions, ports, services
from accounts.models import User
from accounts.signup_forms import BirthAndRegionFields

# Which adult-only choices the page showed (SignupExtraForm.adult_choices_shown).
ADULT_CHOICES_FIELD = "adult_choices_shown"
# Asked first (alone on the first step without JavaScript): they decide which choices are offered.
ABOUT_YOU_FIELDS = ("birth_date", "region")


class SignupExtraForm(BirthAndRegionFields):
    """Date of birth, region, and one separate, unticked choice per optional purpose."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from . import choices
        from . import services as consent

        purposes = consent.signup_purposes()
        # Purposes not offered to minors are shown only once a valid date of birth shows an
        # adult: never on the first, empty page, where the age is not known yet. An adult who
        # submits from a page without them sees them added (`adult_choices_pending`) and
        # submits again. Once the entered date of birth makes the person a minor, a box for
        # one ticked before is reported in clean(). Below the guardian age of their region,
        # no optional box is shown at all: their guardian makes those choices when approving.
        birth_date, region = self._entered_birth_date(), self._entered_region()
        known = birth_date is not None
        minor = not known or consent.is_minor_birth_date(birth_date, region)
        self.needs_guardian = known and jurisdictions.is_minor(birth_date, region)
        offered = [p for p in purposes if consent.purpose_is_offered(p, minor=minor)]
        self.consent_optional = [] if self.needs_guardian else [p for p in offered if p.is_optional]
        self.consent_required = [p for p in offered if not p.is_optional]
        adult_only = sorted(p.key for p in self.consent_optional if not p.offered_to_minors)
        # Rendered with the adult-only boxes; the next submit carries it back.
        self.adult_choices_shown = ",".join(adult_only)
        self.adult_choices_pending = bool(adult_only) and (
            self.data.get(ADULT_CHOICES_FIELD) != self.adult_choices_shown
        )
        ticked = forms.CheckboxInput().value_from_datadict
        self.consent_withheld_from_minor = [
            p.name
            for p in purposes
            if known
            and p.is_optional
            and p not in offered
            and ticked(self.data, self.files, choices.field_name(p))
        ]
        self.consent_left_to_guardian = [
            p.name
            for p in offered
            if self.needs_guardian
            and p.is_optional
            and ticked(self.data, self.files, choices.field_name(p))
        ]
        self.fields.update(choices.choice_fields(self.consent_optional))
        for purpose in self.consent_optional:
            # A box ticked while the choices are being fetched again keeps its tick: htmx keeps
            # the element already on the page (same id) instead of the one fetched.
            self.fields[choices.field_name(purpose)].widget.attrs["hx-preserve"] = "true"

    def _entered(self, name: str) -> Any:
        """A field's value as entered so far (the submitted data, or the first step's answers
        carried as `initial`), or None while it is missing or not valid."""
        field = self.fields[name]
        if self.is_bound:
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        else:
            raw = self.initial.get(name)
        try:
            return field.clean(raw)
        except forms.ValidationError:
            return None

    def _entered_birth_date(self) -> datetime.date | None:
        return self._entered("birth_date")

    def _entered_region(self) -> str:
        return self._entered("region") or ""

    @property
    def first_step(self) -> bool:
        """Whether the age is still unknown: a page without JavaScript then asks only the date of
        birth and region, so the choices for that age are shown before any password is typed."""
        if self.is_bound:  # a full submission is never sent back to the first step
            return False
        return self._entered_birth_date() is None or not self._entered_region()

    def about_you_fields(self) -> list[forms.BoundField]:
        """The fields asked first: what decides which choices are offered."""
        return [self[name] for name in ABOUT_YOU_FIELDS]

    def show_first_step_errors(self, data: Any) -> None:
        """Mark what is wrong in the first step's answers on this unbound form (it is shown again
        with them, nothing else is checked)."""
        step = BirthAndRegionFields(data=data)
        if step.is_valid():
            return
        self.cleaned_data: dict[str, Any] = {}
        for name, errors in step.errors.as_data().items():
            self.add_error(name, errors)

    def consent_fields(self) -> list[forms.BoundField]:
        from .choices import field_name

        return [self[field_name(p)] for p in self.consent_optional]

    def account_fields(self) -> list[forms.BoundField]:
        """The other visible fields that are not consent choices, in the form's order."""
        names = {bound.name for bound in self.consent_fields()} | set(ABOUT_YOU_FIELDS)
        return [bound for bound in self.visible_fields() if bound.name not in names]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.consent_withheld_from_minor:
            raise forms.ValidationError(
                _(
                    "Some choices are offered only to adults and were removed: %(names)s. "
                    "Check your choices and submit again."
                ),
                params={"names": ", ".join(self.consent_withheld_from_minor)},
                code="minor",
            )
        if self.adult_choices_pending:
            again = (
                _("enter your password again (it is never shown back) and submit")
                if "password1" in self.fields
                else _("submit again")
            )
            raise forms.ValidationError(
                _(
                    "As an adult, you have more optional choices below. Each is off unless you "
                    "tick it: check them, then %(again)s."
                ),
                params={"again": again},
                code="adult_choices",
            )
        if self.needs_guardian and getattr(self, "sociallogin", None) is not None:
            # A third-party account hands over profile data; a minor's account holds nothing
            # beyond what reaches their guardian until the guardian approves.
            raise forms.ValidationError(
                _(
                    "Under %(age)s, your parent or guardian must approve your account first. "
                    "Please sign up with your e-mail address instead; you can link this "
                    "account once they have approved."
                ),
                params={"age": jurisdictions.age_threshold(self._entered_region())},
                code="minor_third_party",
            )
        if self.consent_left_to_guardian:
            raise forms.ValidationError(
                _(
                    "Under %(age)s, your parent or guardian makes these choices with you when "
                    "they approve your account, so they were removed: %(names)s. Submit again."
                ),
                params={
                    "age": jurisdictions.age_threshold(self._entered_region()),
                    "names": ", ".join(self.consent_left_to_guardian),
                },
                code="guardian",
            )
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        from . import choices
        from . import services as consent
        from .models import LegalBasis, Method

        birth_date, region = self.cleaned_data["birth_date"], self.cleaned_data["region"]
        if jurisdictions.is_minor(birth_date, region):
            # Only what reaches the guardian: the date of birth and region that make them a
            # minor, no other profile data and no consent (the guardian decides).
            ports.minor_signed_up(user=user, birth_date=birth_date, region=region)
            services.profile_update(
                user=user, actor=user, data={"birth_date": birth_date, "region": region}
            )
            return
        services.profile_update(
            user=user,
            actor=user,
            data={
                "birth_date": self.cleaned_data["birth_date"],
                "region": self.cleaned_data["region"],
            },
        )
        # Recorded once the account exists: each ticked purpose given, each unticked one
        # refused, and required consent-based purposes agreed by creating the account.
        agreed = [p for p in self.consent_required if p.legal_basis == LegalBasis.CONSENT]
        consent.consent_choices_record(
            user=user,
            choices={**choices.chosen(self, self.consent_optional), **dict.fromkeys(agreed, True)},
            method=Method.SIGNUP_FORM,
            actor=user,
            context=consent.collection_context(request),
        )
