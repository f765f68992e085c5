"""Forms of the guardian consent flow: the minor's waiting page, the guardian's pages, and the
privacy officer's review of a guardian's document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from consent.choices import choice_fields, field_name
from consent.models import Purpose


class GuardianEmailForm(forms.Form):
    guardian_email = forms.EmailField(
        label=_("Your parent's or guardian's e-mail address"),
        max_length=254,
        help_text=_(
            "We send them a link to see what we would collect about you and why, and to approve "
            "or decline your account. Nothing else is sent to this address."
        ),
        error_messages={
            "required": _("Enter your parent's or guardian's e-mail address."),
            "invalid": _("Enter a valid e-mail address, like name@example.com."),
        },
    )


class GuardianAcceptForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I am this person's parent or legal guardian, and an adult."),
        error_messages={"required": _("Confirm that you are their parent or legal guardian.")},
    )


class GuardianApprovalForm(forms.Form):
    """The guardian's choice for each optional purpose (separate, unticked), and their approval."""

    confirm = forms.BooleanField(
        label=_("I approve this account, with the choices above."),
        error_messages={"required": _("Tick the box to approve, or decline instead.")},
    )

    def __init__(self, *args: Any, purposes: Iterable[Purpose], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.purposes = list(purposes)
        confirm = self.fields.pop("confirm")
        self.fields.update(choice_fields(self.purposes))
        self.fields["confirm"] = confirm

    def choice_fields(self) -> list[forms.BoundField]:
        return [self[field_name(p)] for p in self.purposes]

    def chosen(self) -> dict[str, bool]:
        """Purpose key -> ticked."""
        return {p.key: bool(self.cleaned_data.get(field_name(p))) for p in self.purposes}


class GuardianDocumentForm(forms.Form):
    document = forms.FileField(
        label=_("Signed consent form or ID document"),
        help_text=_(
            "A PDF, JPEG or PNG file. It is stored encrypted, seen only by our privacy team, and "
            "deleted as soon as they have checked it."
        ),
        error_messages={"required": _("Choose the file to upload.")},
    )


class DocumentReviewForm(forms.Form):
    """A privacy officer's decision on a guardian's document."""

    decision = forms.ChoiceField(
        choices=[("accept", _("Accept: the guardian is verified")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    review_note = forms.CharField(
        label=_("Note for the guardian"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when rejecting: the guardian is shown it. No personal data."),
    )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if (
            cleaned is not None
            and cleaned.get("decision") == "reject"
            and not str(cleaned.get("review_note", "")).strip()
        ):
            self.add_error("review_note", _("Say why, for the guardian: they are shown it."))
        return cleaned
