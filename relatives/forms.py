"""The public form of a close relative acting for a deceased user, and its code page.

Every check here is the same whether or not an account uses the address given. Uploads are
checked by their bytes (requests_dsar.uploads) before anything is stored; an error names the
file by its position, never by its name (a file name can carry personal data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core import uploads
from requests_dsar.forms import AccessibleFormMixin

from .models import Relationship, RelativeAsk, RelativeCase, RelativeDocument
from .services import MAX_FILES_PER_KIND, RelativeClaim

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ProofFilesField(forms.FileField):
    """One to MAX_FILES_PER_KIND files, each a real PDF, JPEG or PNG within the size limit."""

    def __init__(self, *, missing: StrOrPromise, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(error_messages={"required": missing}, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_FILES_PER_KIND:
            raise ValidationError(
                _("Add at most %(max)s files here."),
                params={"max": MAX_FILES_PER_KIND},
                code="too_many",
            )
        errors: list[str] = []
        for position, upload in enumerate(files, start=1):
            try:
                uploads.validate_upload(upload)
            except ValidationError as error:
                prefix = f"File {position}: " if len(files) > 1 else ""
                errors.extend(f"{prefix}{message}" for message in error.messages)
        if errors:
            raise ValidationError(errors)
        return files


class RelativeRequestForm(AccessibleFormMixin, forms.Form):
    relative_name = forms.CharField(
        label=_("Your full name"),
        max_length=RelativeCase._meta.get_field("relative_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Enter your full name.")},
    )
    relative_email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_("We send a code to this address to confirm it, and write to you there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter your e-mail address."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )
    relationship = forms.ChoiceField(
        label=_("How are you related to the person who died?"),
        choices=Relationship.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how you are related.")},
    )
    relationship_other = forms.CharField(
        label=_("If another close relative: how are you related?"),
        required=False,
        max_length=RelativeCase._meta.get_field("relationship_other").max_length,
    )
    deceased_email = forms.EmailField(
        label=_("The e-mail address of their account"),
        help_text=_("The address they used to sign in."),
        error_messages={
            "required": _("Enter the e-mail address of their account."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )
    asked = forms.ChoiceField(
        label=_("What do you ask us to do?"),
        choices=RelativeAsk.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what you ask us to do.")},
    )
    death_certificate = ProofFilesField(
        label=_("Death certificate"),
        missing=_("Add the death certificate."),
    )
    relationship_proof = ProofFilesField(
        label=_("Proof of your relationship"),
        missing=_(
            "Add a proof of your relationship (for example a marriage or birth certificate)."
        ),
    )
    confirm = forms.BooleanField(
        label=_("I confirm that what I have written is true and that I am a close relative."),
        error_messages={"required": _("Please confirm, or we cannot take the request.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = _("PDF, JPEG or PNG, up to %(size)s each; up to %(max)s files.") % {
            "size": filesizeformat(settings.DSAR_UPLOAD_MAX_BYTES),
            "max": MAX_FILES_PER_KIND,
        }
        for name in ("death_certificate", "relationship_proof"):
            self.fields[name].help_text = limits

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("relationship") == Relationship.OTHER
            and not (cleaned.get("relationship_other") or "").strip()
        ):
            self.add_error("relationship_other", _("Say how you are related."))
        return cleaned

    def claim(self) -> RelativeClaim:
        data = self.cleaned_data
        return RelativeClaim(
            relative_name=data["relative_name"],
            relative_email=data["relative_email"],
            relationship=data["relationship"],
            relationship_other=data["relationship_other"],
            deceased_email=data["deceased_email"],
            asked=data["asked"],
        )

    def documents(self) -> dict[str, list[UploadedFile]]:
        return {
            RelativeDocument.Kind.DEATH_CERTIFICATE: self.cleaned_data["death_certificate"],
            RelativeDocument.Kind.RELATIONSHIP_PROOF: self.cleaned_data["relationship_proof"],
        }
