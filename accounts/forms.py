"""Forms for sign-up (e-mail and third-party), the profile and API tokens."""

from __future__ import annotations

import datetime
from typing import Any

from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.mfa.totp.forms import DeactivateTOTPForm as AllauthDeactivateTOTPForm
from allauth.socialaccount.forms import SignupForm as SocialSignupForm
from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Profile, User
from .signup_forms import DATE_WIDGET

# What a provider may hand over, in the words the sign-up page shows for each claim.
PROVIDER_CLAIM_LABELS = {
    "email": _("E-mail address"),
    "name": _("Name"),
    "nickname": _("Nickname"),
    "preferred_username": _("User name"),
    "login": _("User name"),
    "screen_name": _("User name"),
    "gender": _("Gender"),
    "sex": _("Gender"),
    "locale": _("Language / region"),
    "zoneinfo": _("Time zone"),
    "location": _("Region"),
    "province": _("Region"),
    "city": _("Region"),
    "country": _("Region"),
    "address": _("Address / region"),
    "birthdate": _("Date of birth"),
    "picture": _("Profile picture"),
    "avatar_url": _("Profile picture"),
    "headimgurl": _("Profile picture"),
    "sub": _("Account identifier"),
    "id": _("Account identifier"),
    "unionid": _("Account identifier"),
}


def provider_disclosure(extra_data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of what the provider handed over, for the user to see and agree to."""
    seen: dict[str, str] = {}
    for key, value in (extra_data or {}).items():
        if key in PROVIDER_CLAIM_LABELS and value not in (None, "", {}, []):
            label = str(PROVIDER_CLAIM_LABELS[key])
            text = (
                value
                if isinstance(value, str)
                else ", ".join(
                    str(v) for v in (value.values() if isinstance(value, dict) else [value])
                )
            )
            seen.setdefault(label, str(text)[:200])
    return sorted(seen.items())


class ThirdPartySignupForm(SocialSignupForm):
    """First log-in through a provider: nothing is stored until the user agrees.

    allauth builds every sign-up form on ACCOUNT_SIGNUP_FORM_CLASS, so date of birth and
    region come from there, as on the e-mail sign-up.
    """

    agree = forms.BooleanField(
        label=_("I agree that the information listed above is stored with my account."),
        required=True,
        error_messages={"required": _("Please agree, or cancel to sign up without this provider.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disclosure = provider_disclosure(self._claims())

    def _claims(self) -> dict[str, Any]:
        # Some providers nest the claims (OpenID Connect: extra_data["userinfo"]); allauth's
        # provider account knows where they are.
        data = self.sociallogin.account.get_provider_account().get_user_data()
        return data if isinstance(data, dict) else {}

    def save(self, request: HttpRequest) -> User:
        user = super().save(request)
        data: dict[str, Any] = {}
        extra = self._claims()
        nickname = extra.get("nickname") or extra.get("preferred_username") or extra.get("login")
        if isinstance(nickname, str):
            data["nickname"] = nickname[:50]
        if isinstance(extra.get("name"), str):
            data["name"] = extra["name"][:150]
        gender = str(extra.get("gender", "")).lower()
        if gender in Profile.Gender.values:
            data["gender"] = gender
        services.profile_update(user=user, actor=user, data=data)
        return user


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = list(services.PROFILE_EDITABLE_FIELDS)
        widgets = {
            "birth_date": DATE_WIDGET,
            "bio": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {
            "signature": _("A short line shown with your posts."),
            "birth_date": _("Changing it re-applies the rules that protect minors."),
        }


class AfterDeathForm(forms.Form):
    """The user's own arrangement for after their death, honoured when a close relative asks
    (relatives/services.py)."""

    after_death = forms.ChoiceField(
        label=_("After my death"),
        choices=Profile.AfterDeath.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose what should happen to your data after your death."),
            "invalid_choice": _("Choose one of the options."),
        },
    )


class ApiTokenForm(forms.Form):
    LIFETIMES = {
        "30": datetime.timedelta(days=30),
        "90": datetime.timedelta(days=90),
        "365": datetime.timedelta(days=365),
    }
    name = forms.CharField(label=_("Token name"), max_length=100)
    lifetime = forms.ChoiceField(
        label=_("Expires after"),
        choices=[("30", _("30 days")), ("90", _("90 days")), ("365", _("1 year"))],
        initial="90",
    )

    staff_scope = forms.BooleanField(
        label=_("Staff access: also open the staff API (connected systems, jobs, progress)"),
        required=False,
    )

    def __init__(self, *args: Any, offer_staff_scope: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not offer_staff_scope:
            del self.fields["staff_scope"]

    def cleaned_lifetime(self) -> datetime.timedelta:
        return self.LIFETIMES[self.cleaned_data["lifetime"]]


# The box on the e-mail and two-factor pages: end the sessions on the person's other devices.
END_OTHER_SESSIONS = "end_other_sessions"


def end_other_sessions_field() -> forms.BooleanField:
    return forms.BooleanField(
        label=_("Also sign me out on my other devices"),
        required=False,
        initial=True,
        help_text=_("Your API tokens are revoked either way."),
    )


class AddEmailForm(AllauthAddEmailForm):
    """The e-mail change, with the choice of ending the other sessions once it is confirmed."""

    end_other_sessions = end_other_sessions_field()


class DeactivateTOTPForm(AllauthDeactivateTOTPForm):
    """Turning off the authenticator app, with the choice of ending the other sessions."""

    end_other_sessions = end_other_sessions_field()

    @property
    def end_other_sessions_ticked(self) -> bool:
        # allauth binds this form to an empty payload on GET (to show a refusal at once), so
        # the box's initial tick is shown by hand until the person posts.
        return not self.data or bool(self["end_other_sessions"].value())


class LoginForm(AllauthLoginForm):
    """allauth's sign-in, its tick box read as a sentence (no colon after it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label_suffix = ""
