"""Forms of the requester's pages: a new request, a message, a code, the signed-out form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services import PROFILE_EDITABLE_FIELDS
from core.registry import ACCOUNT_CATEGORY, registry

from .corrections import MAX_CHANGES, MAX_PROPOSAL_LENGTH
from .models import DETAILS_MAX_LENGTH, RequestType
from .workflow import STAFF_ANSWERED

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

T = RequestType


# Types that act on categories of data; the others act on the account as a whole.
CATEGORY_TYPES = frozenset({T.ACCESS, T.COPY, T.TRANSFER, T.DELETE})
CHANGE_TYPES = frozenset({T.CORRECT, T.SUPPLEMENT})
# A signed-out person cannot list field-by-field changes; they can still describe them.
PUBLIC_TYPES = [t for t in T if t not in CHANGE_TYPES]


@dataclass(frozen=True)
class TypeInfo:
    """How a request type is explained to the person choosing it, in the policy's words."""

    type: RequestType
    summary: StrOrPromise
    details_label: StrOrPromise
    details_help: StrOrPromise = ""

    @property
    def label(self) -> str:
        return str(self.type.label)


TYPE_INFO: dict[str, TypeInfo] = {
    info.type: info
    for info in [
        TypeInfo(
            T.ACCESS,
            _("See the personal information we hold about you, by category, on this site."),
            _("Anything we should know (optional)"),
        ),
        TypeInfo(
            T.COPY,
            _(
                "Download a copy of your personal information: files a computer can read "
                "(JSON and CSV) and a page you can read in any browser."
            ),
            _("Anything we should know (optional)"),
        ),
        TypeInfo(
            T.TRANSFER,
            _(
                "Have your personal information sent to another service you choose: we prepare "
                "the copy and give you a one-time code for that service to collect it."
            ),
            _("Which service, if you like to tell us (optional)"),
        ),
        TypeInfo(
            T.CORRECT,
            _("Tell us which of your information is wrong and what it should be."),
            _("Anything else to correct, or why (optional)"),
        ),
        TypeInfo(
            T.SUPPLEMENT,
            _("Add information about you that is missing or incomplete."),
            _("Anything else to add (optional)"),
        ),
        TypeInfo(
            T.DELETE,
            _("Delete chosen categories of your personal information, or your whole account."),
            _("Anything we should know (optional)"),
        ),
        TypeInfo(
            T.WITHDRAW_CONSENT,
            _(
                "Take back the consent you gave us. We stop the processing it allowed; what was "
                "done before stays valid, and services that need your consent stop for you."
            ),
            _("Which consent, or anything we should know (optional)"),
        ),
        TypeInfo(
            T.RESTRICT,
            _(
                "Keep your account and data, but have us stop optional processing of it: "
                "profiling, personalised content and marketing."
            ),
            _("Anything we should know (optional)"),
        ),
        TypeInfo(
            T.QUESTION,
            _("Ask our privacy team anything about how we handle your personal information."),
            _("Your question"),
        ),
        TypeInfo(
            T.COMPLAINT,
            _("Tell us what went wrong with your personal information; our privacy team answers."),
            _("What happened"),
            _("When it happened and what you would like us to do help us answer quickly."),
        ),
    ]
}


# The chooser's sections, in the order a person is likely to look for them.
TYPE_GROUPS: list[tuple[Any, list[TypeInfo]]] = [
    (heading, [TYPE_INFO[t] for t in types])
    for heading, types in [
        (_("See or take your data"), [T.ACCESS, T.COPY, T.TRANSFER]),
        (_("Change your data"), [T.CORRECT, T.SUPPLEMENT]),
        (_("Stop or delete"), [T.WITHDRAW_CONSENT, T.RESTRICT, T.DELETE]),
        (_("Talk to us"), [T.QUESTION, T.COMPLAINT]),
    ]
]


class AccessibleFormMixin:
    """Puts the focus on the first field in error (HTML `autofocus`: no script needed)."""

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        errors: Any = self.errors  # type: ignore[attr-defined]
        fields: dict[str, forms.Field] = self.fields  # type: ignore[attr-defined]
        for name in fields:
            if name in errors:
                fields[name].widget.attrs["autofocus"] = True
                break


def _details_field(info: TypeInfo) -> forms.CharField:
    return forms.CharField(
        label=info.details_label,
        help_text=info.details_help,
        required=info.type in STAFF_ANSWERED,
        max_length=DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Please write your question or complaint.")},
    )


class RequestForm(AccessibleFormMixin, forms.Form):
    """A new request of one type; its fields depend on the type."""

    EXTENT_ALL = "all"
    EXTENT_SOME = "some"

    def __init__(self, *args: Any, request_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_type = request_type
        self.info = TYPE_INFO[request_type]
        deleting = request_type == T.DELETE
        if request_type in CATEGORY_TYPES:
            self.fields["extent"] = forms.ChoiceField(
                label=_("What should we delete?") if deleting else _("Which information?"),
                choices=[
                    (
                        self.EXTENT_ALL,
                        _("My whole account and everything in it")
                        if deleting
                        else _("Everything we hold about me"),
                    ),
                    (self.EXTENT_SOME, _("Only the categories I choose below")),
                ],
                widget=forms.RadioSelect,
                initial=None if deleting else self.EXTENT_ALL,
                error_messages={"required": _("Choose the whole account or some categories.")},
            )
            self.fields["categories"] = forms.MultipleChoiceField(
                label=_("Categories"),
                # The account itself goes only with the whole account ("everything").
                choices=[
                    (key, label)
                    for key, label in registry.requestable_categories()
                    if not (deleting and key == ACCOUNT_CATEGORY)
                ],
                widget=forms.CheckboxSelectMultiple,
                required=False,
            )
        self.fields["details"] = _details_field(self.info)
        if deleting:
            self.fields["confirm"] = forms.BooleanField(
                label=_("I understand that deleted information cannot be restored."),
                error_messages={"required": _("Please confirm that you understand this.")},
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("extent") == self.EXTENT_SOME and not cleaned.get("categories"):
            self.add_error("categories", _("Choose at least one category."))
        return cleaned

    def scope(self) -> dict[str, Any]:
        if self.cleaned_data.get("extent") == self.EXTENT_SOME:
            return {"categories": list(self.cleaned_data["categories"])}
        return {}


def change_field_choices() -> list[tuple[str, str]]:
    """What a correction can name: the profile's fields, then what only staff can change."""
    from .corrections import STAFF_CORRECTABLE, field_label

    return [(name, field_label(name)) for name in [*PROFILE_EDITABLE_FIELDS, *STAFF_CORRECTABLE]]


class ChangeForm(forms.Form):
    """One row of a correction: which information, and what it should say."""

    field = forms.ChoiceField(label=_("Information"), required=False)
    value = forms.CharField(
        label=_("What it should say"),
        required=False,
        max_length=MAX_PROPOSAL_LENGTH,
        help_text=_(
            "A date as YYYY-MM-DD; a country as its two-letter code, e.g. DE. For your e-mail "
            "address, history or other data, describe the correction: our team applies it."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", _("Choose…")), *change_field_choices()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("value") and not cleaned.get("field"):
            self.add_error("field", _("Choose which information this is."))
        elif cleaned.get("field") and not cleaned.get("value", "").strip():
            self.add_error("value", _("Write what it should say."))
        return cleaned


class BaseChangeFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        chosen = [form.cleaned_data.get("field") for form in self.forms if form.cleaned_data]
        chosen = [name for name in chosen if name]
        if not chosen:
            raise forms.ValidationError(_("Fill in at least one piece of information."))
        if len(chosen) != len(set(chosen)):
            raise forms.ValidationError(_("Name each piece of information once."))

    def changes(self) -> list[dict[str, str]]:
        return [
            {"field": form.cleaned_data["field"], "value": form.cleaned_data["value"].strip()}
            for form in self.forms
            if form.cleaned_data.get("field")
        ]


ChangeFormSet = forms.formset_factory(
    ChangeForm,
    formset=BaseChangeFormSet,
    extra=3,
    max_num=MAX_CHANGES,
    validate_max=True,
)


class MessageForm(AccessibleFormMixin, forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("The message is empty.")},
    )


class CodeForm(AccessibleFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=12,
        help_text=_("Six digits."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={"required": _("Enter the code from the e-mail.")},
    )


class PublicRequestForm(AccessibleFormMixin, forms.Form):
    """Filed signed out: every check here is the same with or without an account."""

    email = forms.EmailField(
        label=_("E-mail address of your account"),
        help_text=_("We send a code to the address of the account, never anywhere else."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Enter the e-mail address of your account."),
            "invalid": _("Enter an e-mail address like name@example.com."),
        },
    )
    type = forms.ChoiceField(
        label=_("What would you like us to do?"),
        choices=[(t.value, t.label) for t in PUBLIC_TYPES],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what you would like us to do.")},
    )
    details = forms.CharField(
        label=_("Details"),
        help_text=_("Required for a question or complaint; otherwise optional."),
        required=False,
        max_length=DETAILS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("type") in STAFF_ANSWERED and not cleaned.get("details", "").strip():
            self.add_error("details", _("Please write your question or complaint."))
        return cleaned
