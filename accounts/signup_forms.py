"""The e-mail sign-up's extra fields (allauth's ACCOUNT_SIGNUP_FORM_CLASS).

Kept apart from forms.py: allauth imports this module while building its own forms, so it must
not import allauth's forms itself.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from . import services
from .models import User, validate_birth_date

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class BirthAndRegionFields(forms.Form):
    """Date of birth and country/region, asked at every sign-up (minors' rules depend on them)."""

    birth_date = forms.DateField(
        label=_("Date of birth"),
        widget=DATE_WIDGET,
        validators=[validate_birth_date],
        help_text=_("Used to apply the rules that protect minors in your country or region."),
    )
    region = forms.ChoiceField(
        label=_("Country / region"), choices=lambda: [("", "---------"), *countries]
    )


class SignupExtraForm(BirthAndRegionFields):
    def signup(self, request: HttpRequest, user: User) -> None:
        services.profile_update(
            user=user,
            actor=user,
            data={
                "birth_date": self.cleaned_data["birth_date"],
                "region": self.cleaned_data["region"],
            },
        )
