"""The inbox's forms: the list's filter, the actions on one message, the answer to a notice and
the e-mail preferences. They parse and validate; services act."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import MANDATORY_CATEGORIES, Category, Response
from .services import PreferenceView

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Why a mandatory category cannot be switched off, shown beside its disabled checkbox.
MANDATORY_REASONS: dict[str, StrOrPromise] = {
    Category.SECURITY_INCIDENTS: _(
        "Always e-mailed: the law requires us to tell you about an incident that affects your "
        "information, and what you can do about it."
    ),
    Category.REQUEST_UPDATES: _(
        "Always e-mailed: we must be able to reach you about the requests you make, "
        "for example when an answer or a download is ready."
    ),
}
CATEGORY_HINTS: dict[str, StrOrPromise] = {
    Category.ACCOUNT_SECURITY: _("Sign-ins from a new device and other changes to your account."),
    Category.POLICY_CHANGES: _("New versions of our privacy policy."),
    Category.SERVICE_NOTICES: _(
        "News about the service: maintenance, a transfer to another company, or its end."
    ),
}


class Tab:
    UNREAD = "unread"
    ALL = "all"
    ARCHIVED = "archived"
    CHOICES = [(UNREAD, _("Unread")), (ALL, _("All")), (ARCHIVED, _("Archived"))]


class InboxFilterForm(forms.Form):
    """The inbox list's query string: which tab, which category, which page."""

    view = forms.ChoiceField(choices=Tab.CHOICES, required=False)
    category = forms.ChoiceField(
        choices=[("", _("All categories")), *Category.choices],
        required=False,
        label=_("Category"),
    )

    def clean_view(self) -> str:
        return self.cleaned_data.get("view") or Tab.ALL


class MessageAction:
    READ = "read"
    UNREAD = "unread"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    CHOICES = [
        (READ, _("Mark read")),
        (UNREAD, _("Mark unread")),
        (ARCHIVE, _("Archive")),
        (UNARCHIVE, _("Move back to the inbox")),
    ]


class MessageActionForm(forms.Form):
    action = forms.ChoiceField(choices=MessageAction.CHOICES)


class RespondForm(forms.Form):
    response = forms.ChoiceField(choices=Response.choices)


class PreferencesForm(forms.Form):
    """One checkbox per category: e-mail me about it. Mandatory ones are shown checked and
    disabled (a disabled field ignores what is posted, so they cannot be switched off here)."""

    def __init__(self, *args: Any, preferences: list[PreferenceView], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for pref in preferences:
            mandatory = pref.category in MANDATORY_CATEGORIES
            help_text = (
                MANDATORY_REASONS.get(pref.category, "")
                if mandatory
                else CATEGORY_HINTS.get(pref.category, "")
            )
            self.fields[pref.category] = forms.BooleanField(
                label=pref.label,
                required=False,
                initial=True if mandatory else pref.email,
                disabled=mandatory,
                help_text=help_text,
            )

    def choices(self) -> dict[str, bool]:
        """What the user may change: the categories that are not mandatory."""
        return {
            name: bool(value)
            for name, value in self.cleaned_data.items()
            if name not in MANDATORY_CATEGORIES
        }
