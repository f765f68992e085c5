"""The cookie settings page (the banner's and the dialog's form post here) and gpc.json."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_safe

from core import ratelimit
from core.request_info import safe_next

from . import cookies, gpc

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


@require_safe
@cache_control(public=True, max_age=24 * 3600)
def gpc_json(request: HttpRequest) -> JsonResponse:
    """`/.well-known/gpc.json`: this site honours Global Privacy Control."""
    return JsonResponse(gpc.gpc_resource())
