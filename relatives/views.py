"""A close relative's public form and code page (no sign-in), and the user's own arrangement.

Thin: forms parse, one service acts, a template renders. The relative's pages answer the same
way whether or not an account uses the address they gave (relatives.py explains why).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import AfterDeathForm
from accounts.selectors import profile_for
from accounts.typing import AuthenticatedHttpRequest
from core import ratelimit
from core.forms import add_service_errors
from relatives import services as relatives
from requests_dsar.forms import CodeForm
from requests_dsar.views import HOUR, code_page, too_many

from .forms import RelativeRequestForm

RESENDS_PER_CASE_PER_HOUR = 3
DAY = 24 * HOUR
STAGING_FULL = gettext_lazy(
    "We are receiving more documents than we can check just now, and kept nothing. Please try "
    "again tomorrow, or write to us at the address at the foot of this page."
)
DAILY_DOCUMENTS_SPENT = gettext_lazy(
    "From one place we take only so many documents a day before an e-mailed code is "
    "confirmed, and kept nothing of this form. Confirm the code we sent you, or try again "
    "tomorrow."
)
STORAGE_FAILED = gettext_lazy(
    "We could not save your documents just now, and kept nothing. Please try again in a few "
    "minutes."
)


def _submit(request: HttpRequest, form: RelativeRequestForm) -> tuple[Any, int]:
    """File the case (case, 200), or say on the form why nothing was kept (None, status)."""
    # What one address may make the portal hold before a code is confirmed, per day.
    if not ratelimit.allow(
        request,
        scope="dsar-relative-unverified-bytes",
        limit=settings.RELATIVES_UNVERIFIED_BYTES_PER_IP,
        period=DAY,
        cost=relatives.documents_size(form.documents()),
    ):
        form.add_error(None, DAILY_DOCUMENTS_SPENT)
        return None, 429
    try:
        return relatives.relative_case_submit(claim=form.claim(), documents=form.documents()), 200
    except relatives.DocumentStorageError:
        form.add_error(None, STORAGE_FAILED)
        return None, 503
    except relatives.StagingFull:
        form.add_error(None, STAGING_FULL)
        return None, 503
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None, 200


@require_http_methods(["GET", "POST"])
def relative_request(request: HttpRequest) -> HttpResponse:
    """The form: the same answer (a code page) for every valid submission."""
    form = RelativeRequestForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        allowed = ratelimit.allow(
            request,
            scope="dsar-relative-request",
            limit=settings.DSAR_PUBLIC_REQUESTS_PER_HOUR,
            period=HOUR,
        ) and ratelimit.allow(
            request,
            scope="dsar-relative-request-address",
            limit=settings.DSAR_PUBLIC_REQUESTS_PER_HOUR,
            period=HOUR,
            key=form.cleaned_data["relative_email"].strip().lower(),
        )
        if not allowed:
            return too_many(request)
        case, status = _submit(request, form)
        if case is not None:
            return redirect("dsar_relatives:verify", case.public_id)
    if form.errors and status == 200:
        status = 400
    return render(
        request,
        "relatives/form.html",
        {"form": form, "max_files": relatives.MAX_FILES_PER_KIND},
        status=status,
    )


def _verify_context(public_id: uuid.UUID) -> dict[str, Any]:
    return {"resend_url": reverse("dsar_relatives:code_resend", args=[public_id])}


@require_http_methods(["GET", "POST"])
def relative_verify(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Only a waiting case's right code confirms it."""
    return code_page(
        request,
        scope="dsar-relative-code",
        check=lambda code: relatives.relative_code_check(public_id=public_id, code=code),
        template="relatives/verify.html",
        verified_template="relatives/verified.html",
        context=_verify_context(public_id),
    )


@require_POST
def relative_code_resend(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A new code for a case still waiting; the answer is the same for any id."""
    allowed = ratelimit.allow(
        request,
        scope="dsar-relative-resend",
        limit=settings.DSAR_PUBLIC_REQUESTS_PER_HOUR,
        period=HOUR,
    ) and ratelimit.allow(
        # Per case too: each new code brings new attempts, so their number is bounded.
        request,
        scope="dsar-relative-resend-case",
        limit=RESENDS_PER_CASE_PER_HOUR,
        period=HOUR,
        key=str(public_id),
    )
    if not allowed:
        return too_many(request)
    relatives.relative_code_resend(public_id=public_id)
    context = {
        "form": CodeForm(),
        "code_minutes": settings.DSAR_CODE_TTL_MINUTES,
        **_verify_context(public_id),
        "resent": True,
    }
    return render(request, "relatives/verify.html", context)


# --- The user's own arrangement (on the profile page) -------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def after_death_edit(request: AuthenticatedHttpRequest) -> HttpResponse:
    profile = profile_for(request.user)
    form = AfterDeathForm(
        request.POST if request.method == "POST" else None,
        initial={"after_death": profile.after_death},
    )
    if request.method == "POST" and form.is_valid():
        try:
            relatives.after_death_set(user=request.user, choice=form.cleaned_data["after_death"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your wish for after your death is saved."))
            return redirect(reverse("dashboard:profile") + "#after-death")
    return render(
        request,
        "relatives/after_death.html",
        {"after_death_form": form, "current": profile.after_death},
        status=400 if form.errors else 200,
    )
