"""The cookie settings page (the banner's and the dialog's form post here), the question asked
after signing in when this device's choice disagrees with the account's, and gpc.json."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_safe

from accounts.typing import AuthenticatedHttpRequest
from core import ratelimit
from core.request_info import safe_next

from . import cookies, gpc
from .models import Decision, Method

# New anonymous consent records per client address and hour: each choice of a visitor without
# an id starts a ledger chain, so a script must not be able to grow the ledger without bound.
NEW_VISITORS_PER_HOUR = 300


class CookieChoiceForm(forms.Form):
    choice = forms.ChoiceField(
        choices=[
            ("accept_all", _("Accept all")),
            ("reject_all", _("Reject all")),
            ("save", _("Save my choices")),
        ]
    )
    categories = forms.MultipleChoiceField(
        choices=[(key, label) for key, label in cookies.CATEGORIES.items()], required=False
    )
    next = forms.CharField(required=False, max_length=2000)

    def chosen(self) -> dict[str, bool]:
        """Category -> on, as the button pressed says."""
        choice = self.cleaned_data["choice"]
        ticked = set(self.cleaned_data["categories"])
        return {
            key: choice == "accept_all" or (choice == "save" and key in ticked)
            for key in cookies.CATEGORIES
        }


@require_http_methods(["GET", "POST"])
def cookie_settings(request: HttpRequest) -> HttpResponse:
    """Works without JavaScript: the banner's buttons and the settings dialog post here."""
    form = CookieChoiceForm(request.POST if request.method == "POST" else None)
    subject = cookies.subject_of(request)
    too_many = (
        form.is_bound
        and subject is None
        and not ratelimit.allow(
            request, scope="cookie-visitor", limit=NEW_VISITORS_PER_HOUR, period=3600
        )
    )
    if form.is_bound and not too_many and form.is_valid():
        new_visitor_id = None
        if subject is None:
            new_visitor_id = cookies.new_visitor_id()
            subject = cookies.visitor_subject(new_visitor_id)
        context = None
        if subject.user is not None:
            from .services import collection_context

            context = collection_context(request)
        try:
            cookies.cookie_choices_record(
                subject=subject,
                choices=form.chosen(),
                gpc=gpc.gpc_in_force(request),
                context=context,
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, _("Your cookie choices are saved."))
            response = redirect(safe_next(request, reverse("cookies:settings")))
            if new_visitor_id is not None:
                cookies.set_visitor_cookie(response, new_visitor_id)
            return response
    return render(
        request,
        "consent/cookie_settings.html",
        {
            "cookie_consent": cookies.cookie_consent_for(request),
            "essential_cookies": cookies.essential_cookies(),
            "form": form,
            "too_many": too_many,
            # The page is the settings: no banner or dialog on top of it.
            "cookie_banner_hidden": True,
        },
        status=429 if too_many else 400 if form.is_bound else 200,
    )


def _when(moment: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y, H:i")


def _state(decision: str) -> str:
    return str(_("allowed") if decision == Decision.GIVEN else _("not allowed"))


class ConflictForm(forms.Form):
    """Per purpose: keep the account's decision, or take the one made on this device."""

    def __init__(self, *args: Any, conflicts: list[cookies.ChoiceConflict], **kwargs: Any):
        super().__init__(*args, **kwargs)
        names = {p.key: p for p in cookies.cookie_purposes()}
        self.conflicts = [c for c in conflicts if c.purpose_key in names]
        for conflict in self.conflicts:
            purpose = names[conflict.purpose_key]
            known = conflict.account_method in Method.values
            method = Method(conflict.account_method).label if known else ""
            self.fields[conflict.purpose_key] = forms.ChoiceField(
                label=purpose.name,
                help_text=purpose.description,
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Choose which of the two to keep."),
                    "invalid_choice": _("Choose which of the two to keep."),
                },
                choices=[
                    (
                        "account",
                        _("Keep your account's choice: %(state)s, since %(when)s (%(how)s)")
                        % {
                            "state": _state(conflict.account_decision),
                            "when": _when(conflict.account_at),
                            "how": str(method).lower() if method else _("your account"),
                        },
                    ),
                    (
                        "device",
                        _(
                            "Use the choice made on this device: %(state)s, on %(when)s, while "
                            "you were signed out"
                        )
                        % {
                            "state": _state(conflict.device_decision),
                            "when": _when(conflict.device_at),
                        },
                    ),
                ],
            )

    def use_device(self) -> set[str]:
        return {key for key, answer in self.cleaned_data.items() if answer == "device"}


@login_required
@require_http_methods(["GET", "POST"])
def cookie_conflicts(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Asked once after signing in, when a cookie choice made on this device while signed out
    disagrees with the account's own earlier decision: which of the two applies from now on."""
    next_url = safe_next(request, reverse("dashboard:home"))
    form = ConflictForm(
        request.POST if request.method == "POST" else None,
        conflicts=cookies.pending_conflicts(request),
    )
    if not form.conflicts:
        request.session.pop(cookies.CONFLICTS_SESSION_KEY, None)
        return redirect(next_url)
    if form.is_bound and form.is_valid():
        from .services import collection_context

        try:
            cookies.cookie_conflicts_resolve(
                user=request.user,
                conflicts=form.conflicts,
                use_device=form.use_device(),
                context=collection_context(request),
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            request.session.pop(cookies.CONFLICTS_SESSION_KEY, None)
            messages.success(request, _("Your cookie choices are saved."))
            return redirect(next_url)
    return render(
        request,
        "consent/cookie_conflicts.html",
        {"form": form, "next": next_url, "cookie_banner_hidden": True},
        status=400 if form.is_bound else 200,
    )


@require_safe
@cache_control(public=True, max_age=24 * 3600)
def gpc_json(request: HttpRequest) -> JsonResponse:
    """`/.well-known/gpc.json`: this site honours Global Privacy Control."""
    return JsonResponse(gpc.gpc_resource())
