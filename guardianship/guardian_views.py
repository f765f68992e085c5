"""The guardian's view (/dashboard/guardian/): the minors in their care, each minor's data, their
consents and the requests filed for them, and revoking the approval.

Thin: `guardian_access` finds the minor (404 for anyone not in the guardian's care), services
act, templates render. Every page showing a minor's data audits the look.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors
from accounts.typing import AuthenticatedHttpRequest
from consent import selectors as consent_selectors
from consent import services as consent_services
from consent.choices import LEGAL_BASIS_EXPLANATIONS
from consent.models import Decision
from consent.views import THIRD_PARTIES_PATH
from guardianship import access as guardian_access
from guardianship import lifecycle as guardian_lifecycle
from guardianship import services as guardian_services
from guardianship.models import Guardianship
from requests_dsar.forms import TYPE_INFO, RequestForm

PAGE_SIZE = 25


def _ward(request: AuthenticatedHttpRequest, minor_id: int, section: str = "") -> Guardianship:
    """The guardianship in force for this minor, or 404; with a section, the look is audited."""
    guardianship = guardian_access.guardianship_for(request.user, minor_id)
    if guardianship is None:
        raise Http404("No such minor in your care.")
    if section:
        guardian_services.guardian_data_viewed(guardianship=guardianship, section=section)
    return guardianship


def _context(guardianship: Guardianship, **extra: Any) -> dict[str, Any]:
    return {
        "guardianship": guardianship,
        "minor": guardianship.minor,
        "minor_account": guardianship.minor.minor_account,
        "minor_name": guardian_access.display_name(guardianship.minor),
        **extra,
    }


@login_required
@require_GET
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    guardianships = list(guardian_access.guardianships_of(request.user))
    for guardianship in guardianships:
        guardian_services.guardian_data_viewed(guardianship=guardianship, section="summary")
    wards = [
        (g, guardian_access.display_name(g.minor), g.minor.minor_account) for g in guardianships
    ]
    return render(request, "dashboard/guardian/home.html", {"wards": wards})


@login_required
@require_GET
def minor_profile(request: AuthenticatedHttpRequest, minor_id: int) -> HttpResponse:
    """The minor's data as their own dashboard shows it: profile, security, recent sign-ins."""
    guardianship = _ward(request, minor_id, "profile")
    minor = guardianship.minor
    return render(
        request,
        "dashboard/guardian/profile.html",
        _context(
            guardianship,
            profile=selectors.profile_for(minor),
            mfa_types=selectors.mfa_types_for(minor),
            linked_accounts=selectors.linked_accounts_for(minor),
            recent_logins=selectors.login_history_for(minor)[:5],
        ),
    )


@login_required
@require_GET
def minor_history(request: AuthenticatedHttpRequest, minor_id: int) -> HttpResponse:
    """The minor's login and device history and activity log, as their own history page."""
    guardianship = _ward(request, minor_id, "history")
    minor = guardianship.minor
    logins = Paginator(selectors.login_history_for(minor), PAGE_SIZE)
    accesses = Paginator(selectors.access_log_for(minor), PAGE_SIZE)
    return render(
        request,
        "dashboard/guardian/history.html",
        _context(
            guardianship,
            logins=logins.get_page(request.GET.get("logins")),
            accesses=accesses.get_page(request.GET.get("accesses")),
        ),
    )


@login_required
@require_GET
def minor_consents(request: AuthenticatedHttpRequest, minor_id: int) -> HttpResponse:
    guardianship = _ward(request, minor_id, "consents")
    minor = guardianship.minor
    offered = {p.pk for p in guardian_services.purposes_for_guardian(guardianship)}
    statuses = [s for s in consent_selectors.consent_statuses_for(minor) if s.purpose.pk in offered]
    history = Paginator(consent_selectors.consent_events_for(minor), PAGE_SIZE)
    share = guardian_services.guardian_may_share(guardianship)
    return render(
        request,
        "dashboard/guardian/consents.html",
        _context(
            guardianship,
            optional=[
                (s, guardian_services.guardian_may_give(guardianship, s.purpose, may_share=share))
                for s in statuses
                if s.switchable
            ],
            required=[s for s in statuses if not s.switchable],
            explanations=LEGAL_BASIS_EXPLANATIONS,
            third_parties_path=THIRD_PARTIES_PATH,
            history=history.get_page(request.GET.get("history")),
        ),
    )


@login_required
@require_POST
def minor_consent_decide(
    request: AuthenticatedHttpRequest, minor_id: int, purpose_key: str
) -> HttpResponse:
    """One click: give or withdraw the minor's consent to one purpose, on their behalf."""
    guardianship = _ward(request, minor_id)
    purpose = guardian_services.guardian_purpose(guardianship, purpose_key)
    if purpose is None:
        raise Http404("No such purpose is offered to this minor.")
    back = reverse("guardian:consents", args=[minor_id])
    decision = request.POST.get("decision")
    if decision not in guardian_services.GUARDIAN_DECISIONS:
        messages.error(request, _("Choose to give or to withdraw the consent."))
        return redirect(back)
    try:
        event = guardian_services.guardian_consent_decide(
            guardianship=guardianship,
            purpose=purpose,
            decision=str(decision),
            context=consent_services.collection_context(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    if event is None:
        text = _("Nothing changed for “%(name)s”: that was already the choice.")
    elif decision == Decision.GIVEN:
        text = _("You gave consent to “%(name)s” on their behalf. You can withdraw it any time.")
    else:
        text = _("You withdrew the consent to “%(name)s” on their behalf. It stops now.")
    messages.success(request, text % {"name": purpose.name})
    return redirect(f"{back}#purpose-{purpose.key}")


@login_required
@require_GET
def minor_requests(request: AuthenticatedHttpRequest, minor_id: int) -> HttpResponse:
    guardianship = _ward(request, minor_id, "requests")
    pages = Paginator(guardian_access.requests_filed_for(guardianship), PAGE_SIZE)
    return render(
        request,
        "dashboard/guardian/requests.html",
        _context(
            guardianship,
            page=pages.get_page(request.GET.get("page")),
            types=[TYPE_INFO[t] for t in guardian_access.GUARDIAN_REQUEST_TYPES],
        ),
    )


GUARDIAN_EXTENT_LABELS = {
    "copy": (
        gettext_lazy("Everything we hold about them"),
        gettext_lazy("Only the categories I choose below"),
    ),
    "delete": (
        gettext_lazy("Their whole account and everything in it"),
        gettext_lazy("Only the categories I choose below"),
    ),
}


def _request_form(data: Any, request_type: str) -> RequestForm:
    """The requester's own form, worded for someone asking on a minor's behalf."""
    form = RequestForm(data, request_type=request_type)
    whole, some = GUARDIAN_EXTENT_LABELS[request_type]
    extent = form.fields["extent"]
    extent.choices = [(RequestForm.EXTENT_ALL, whole), (RequestForm.EXTENT_SOME, some)]  # type: ignore[attr-defined]
    return form


@login_required
@require_http_methods(["GET", "POST"])
# As for a user's own request: the guardian enters their password again before it is sent.
@reauthentication_required(allow_get=True)
def minor_request_create(
    request: AuthenticatedHttpRequest, minor_id: int, request_type: str
) -> HttpResponse:
    guardianship = _ward(request, minor_id, "request_form" if request.method == "GET" else "")
    if request_type not in guardian_access.GUARDIAN_REQUEST_TYPES:
        raise Http404("A guardian can ask for a copy or a deletion.")
    data = request.POST if request.method == "POST" else None
    form = _request_form(data, request_type)
    if data is not None and form.is_valid():
        try:
            filed, created = guardian_services.guardian_request_file(
                guardianship=guardianship,
                type=request_type,
                details=form.cleaned_data["details"],
                scope=form.scope(),
                reauthenticated=True,
            )
        except ValidationError as exc:
            for name, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if filed.requester_id == request.user.pk:
                if created:
                    messages.success(request, _("The request is received and confirmed."))
                else:
                    messages.info(
                        request,
                        _("You already have this request open for them: your details joined it."),
                    )
                return redirect("dsar:detail", filed.public_id)
            messages.info(
                request,
                _(
                    "A request of this kind is already open for them; your details were added "
                    "to it and our privacy team will see them."
                ),
            )
            return redirect("guardian:requests", minor_id)
    return render(
        request,
        "dashboard/guardian/request_create.html",
        _context(
            guardianship,
            form=form,
            info=TYPE_INFO[request_type],
            has_errors=bool(form.errors),
            cool_off_days=settings.DSAR_ERASURE_COOL_OFF_DAYS,
            archive_days=settings.DSAR_ARCHIVE_LIFETIME_DAYS,
        ),
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
# Revoking leads to the minor's account being erased: the password is asked again first.
@reauthentication_required(allow_get=True)
def minor_revoke(request: AuthenticatedHttpRequest, minor_id: int) -> HttpResponse:
    guardianship = _ward(request, minor_id, "summary" if request.method == "GET" else "")
    if request.method == "POST":
        try:
            revocation = guardian_lifecycle.guardianship_revoke(
                guardianship=guardianship, actor=request.user
            )
        except guardian_lifecycle.GuardianshipNotInForce:
            messages.info(request, _("This approval was already revoked or has ended."))
        else:
            messages.success(
                request,
                _(
                    "Your approval is revoked. Their account is suspended and will be deleted "
                    "after %(day)s unless a guardian approves it again."
                )
                % {"day": date_format(timezone.localtime(revocation.erase_after), "j F Y")},
            )
        return redirect("guardian:home")
    return render(
        request,
        "dashboard/guardian/revoke.html",
        _context(guardianship, cool_off_days=settings.GUARDIAN_REVOCATION_COOL_OFF_DAYS),
    )
