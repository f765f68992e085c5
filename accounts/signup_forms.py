"""The account's part of the sign-up form: the date of birth and the region every sign-up asks
(consent.signup_form.SignupExtraForm, allauth's ACCOUNT_SIGNUP_FORM_CLASS, adds the choices).

Kept apart from forms.py: allauth imports the sign-up form while building its own forms, so this
module must not import allauth's forms itself.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from .models import validate_birth_date

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
