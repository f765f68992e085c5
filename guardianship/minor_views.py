"""Pages of the guardian consent flow: the minor's waiting page, and the guardian's invitation,
verification and approval pages. Thin: forms parse, `guardianship` services decide."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries

from accounts.typing import AuthenticatedHttpRequest
from consent.choices import LEGAL_BASIS_EXPLANATIONS
from guardianship import flow as flow
from guardianship import verification
from guardianship.forms import (
    GuardianAcceptForm,
    GuardianApprovalForm,
    GuardianDocumentForm,
    GuardianEmailForm,
)
from guardianship.models import Guardianship

# Where a signed-out guardian's invitation waits while they sign in or sign up (the middleware
# brings them back to it).
PENDING_INVITATION_SESSION_KEY = "guardian_invitation_pending"
REFUSED_STATUS = {"invalid": 400, "expired": 410, "used": 410}


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _region_name(code: str) -> str:
    return str(countries.name(code)) if code else ""


# --- The minor --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def waiting(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The one page a minor waiting for their guardian reaches: name the guardian, send the
    invitation again, sign out, or ask to delete the account."""
    user = request.user
    account = flow.minor_account_for(user)
    if account is None or account.status not in flow.WAITING:
        return redirect("dashboard:home")
    live = flow.live_guardianship(user)
    form = GuardianEmailForm(request.POST if request.POST.get("action") == "invite" else None)
    status = 200
    if request.method == "POST" and account.status in flow.NEEDS_GUARDIAN:
        try:
            if request.POST.get("action") == "resend":
                flow.guardian_invitation_resend(minor=user)
                messages.success(request, "We sent the invitation again, with a new link.")
                return redirect("minor:waiting")
            if form.is_valid():
                flow.guardian_invite(minor=user, guardian_email=form.cleaned_data["guardian_email"])
                messages.success(request, "We sent the invitation to your parent or guardian.")
                return redirect("minor:waiting")
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.error(request, " ".join(_errors(exc)))
                return redirect("minor:waiting")
        status = 400
    return render(
        request,
        "accounts/minor/waiting.html",
        {
            "account": account,
            "region_name": _region_name(account.region),
            "live": live,
            "step": flow.guardian_next_step(live) if live and live.accepted_at else "",
            "form": form,
            "can_resend": live is not None
            and live.status == Guardianship.Status.INVITED
            and live.accepted_at is None,
            "cookie_banner_hidden": True,
        },
        status=status,
    )


# --- The guardian -------------------------------------------------------------------------------


def _refused(request: HttpRequest, exc: flow.LinkRefused) -> HttpResponse:
    """A link that cannot be used: say why, plainly, and what to do instead."""
    guardianship = exc.guardianship
    user = getattr(request, "user", None)
    if (
        guardianship is not None
        and user is not None
        and user.is_authenticated
        and guardianship.guardian_id == user.pk
        and guardianship.status in flow.UNDECIDED
    ):
        # The guardian's own, already accepted: their next step is on the status page.
        return redirect("guardian_invitation:status", guardianship.pk)
    return render(
        request,
        "accounts/guardian_invitation/refused.html",
        {"kind": exc.kind, "cookie_banner_hidden": True},
        status=REFUSED_STATUS.get(exc.kind, 410),
    )


def _page_context(guardianship: Guardianship, *, full: bool) -> dict[str, Any]:
    """What the guardian sees about the minor's account and what the portal would collect."""
    account = flow.minor_account_for(guardianship.minor)
    if guardianship.verification_method:
        method = verification.method_of(guardianship)
    else:
        method = verification.method_for_region(account.region if account else "")
    return {
        "guardianship": guardianship,
        "account": account,
        "region_name": _region_name(account.region if account else ""),
        "minor_email": guardianship.minor.email
        if full
        else flow.masked_email(guardianship.minor.email),
        "method": method,
        "purposes": flow.approval_purposes(guardianship),
        "explanations": LEGAL_BASIS_EXPLANATIONS,
        "delay_hours": settings.GUARDIAN_EMAIL_PLUS_DELAY_HOURS,
        "cookie_banner_hidden": True,
    }


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed link: see the request, then accept (signed in) or decline."""
    try:
        guardianship = flow.invitation_open(token)
    except flow.LinkRefused as exc:
        return _refused(request, exc)
    nonce = guardianship.invitation_nonce
    user = request.user
    if not user.is_authenticated:
        if request.method == "POST" and request.POST.get("action") == "decline":
            return _decline(request, guardianship, None, nonce)
        request.session[PENDING_INVITATION_SESSION_KEY] = request.path
        context = _page_context(guardianship, full=False)
        return render(request, "accounts/guardian_invitation/invitation.html", context)
    problem = flow.guardian_eligibility_problem(user, guardianship)  # type: ignore[arg-type]
    form = GuardianAcceptForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if request.POST.get("action") == "decline" and user.pk != guardianship.minor_id:
            return _decline(request, guardianship, None, nonce)
        if problem is None and form.is_valid():
            try:
                flow.guardian_accept(guardianship=guardianship, guardian=user, nonce=nonce)  # type: ignore[arg-type]
            except flow.LinkRefused as exc:
                return _refused(request, exc)
            except ValidationError as exc:
                problem = " ".join(_errors(exc))
            else:
                request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
                return redirect("guardian_invitation:status", guardianship.pk)
    context = {
        **_page_context(guardianship, full=problem is None),
        "form": form,
        "problem": problem,
    }
    status = 400 if request.method == "POST" else 403 if problem else 200
    return render(request, "accounts/guardian_invitation/invitation.html", context, status=status)


def _decline(
    request: HttpRequest, guardianship: Guardianship, guardian: Any, nonce: str
) -> HttpResponse:
    try:
        flow.guardian_decline(guardianship=guardianship, guardian=guardian, nonce=nonce)
    except flow.LinkRefused as exc:
        return _refused(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
        return HttpResponseRedirect(request.path)
    request.session.pop(PENDING_INVITATION_SESSION_KEY, None)
    return render(
        request,
        "accounts/guardian_invitation/declined.html",
        {"cookie_banner_hidden": True},
    )


def _own(request: AuthenticatedHttpRequest, pk: int) -> Guardianship:
    """A guardianship the signed-in user accepted; 404 for anyone else's."""
    guardianship = (
        Guardianship.objects.select_related("minor", "guardian")
        .filter(pk=pk, guardian=request.user)
        .first()
    )
    if guardianship is None:
        raise Http404("No such invitation of yours.")
    return guardianship


@login_required
@require_http_methods(["GET", "POST"])
def status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Where the guardian's verification stands, and their next step."""
    guardianship = _own(request, pk)
    step = flow.guardian_next_step(guardianship)
    form = GuardianDocumentForm()
    code = 200
    if request.method == "POST":
        if request.POST.get("action") == "decline":
            return _decline(request, guardianship, request.user, "")
        form = GuardianDocumentForm(request.POST, request.FILES)
        if step == "upload" and form.is_valid():
            try:
                flow.guardian_document_upload(
                    guardianship=guardianship,
                    guardian=request.user,
                    upload=form.cleaned_data["document"],
                )
            except flow.LinkRefused as exc:
                return _refused(request, exc)
            except ValidationError as exc:
                form.add_error("document", _errors(exc))
            else:
                messages.success(request, "Thank you: our privacy team will check it shortly.")
                return redirect("guardian_invitation:status", guardianship.pk)
        code = 400
    latest = guardianship.documents.order_by("-uploaded_at", "-pk").first()
    return render(
        request,
        "accounts/guardian_invitation/status.html",
        {
            **_page_context(guardianship, full=True),
            "step": step,
            "form": form,
            "rejected": latest if latest is not None and latest.accepted is False else None,
        },
        status=code,
    )


@login_required
@require_POST
def provider_start(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    guardianship = _own(request, pk)
    return_url = request.build_absolute_uri(
        reverse("guardian_invitation:provider_return", args=[guardianship.pk])
        + "?state="
        + flow.provider_state(guardianship)
    )
    try:
        target = flow.guardian_provider_start(
            guardianship=guardianship, guardian=request.user, return_url=return_url
        )
    except (flow.LinkRefused, ValidationError):
        messages.error(request, "No check with a provider is expected for this approval now.")
        return redirect("guardian_invitation:status", guardianship.pk)
    return HttpResponseRedirect(target)


@login_required
@require_http_methods(["GET"])
def provider_return(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    guardianship = _own(request, pk)
    try:
        link = flow.link_open(request.GET.get("state", ""), salt=flow.PROVIDER_SALT)
    except flow.LinkRefused as exc:
        return _refused(request, exc)
    if link.guardianship.pk != guardianship.pk or not link.current:
        return _refused(request, flow.LinkRefused("used"))
    params = {key: str(request.GET.get(key, "")) for key in request.GET if key != "state"}
    try:
        flow.guardian_provider_complete(
            guardianship=guardianship, guardian=request.user, params=params
        )
    except flow.LinkRefused as exc:
        return _refused(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
        return redirect("guardian_invitation:status", guardianship.pk)
    return redirect("guardian_invitation:approve_verified", guardianship.pk)


def _approval_page(
    request: AuthenticatedHttpRequest, guardianship: Guardianship, nonce: str
) -> HttpResponse:
    problem = flow.guardian_eligibility_problem(request.user, guardianship)
    purposes = flow.approval_purposes(guardianship)
    data = request.POST if request.method == "POST" else None
    form = GuardianApprovalForm(data, purposes=purposes.optional)
    if request.method == "POST":
        if request.POST.get("action") == "decline":
            return _decline(request, guardianship, request.user, "")
        if problem is None and form.is_valid():
            try:
                flow.guardian_approve(
                    guardianship=guardianship,
                    guardian=request.user,
                    chosen=form.chosen(),
                    nonce=nonce,
                )
            except flow.LinkRefused as exc:
                return _refused(request, exc)
            except ValidationError as exc:
                form.add_error(None, _errors(exc))
            else:
                return render(
                    request,
                    "accounts/guardian_invitation/approved.html",
                    {"guardianship": guardianship, "cookie_banner_hidden": True},
                )
    return render(
        request,
        "accounts/guardian_invitation/approve.html",
        {**_page_context(guardianship, full=True), "form": form, "problem": problem},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def approve_by_link(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """email_plus: the second confirmation's link, e-mailed after the delay."""
    try:
        link = flow.link_open(token, salt=flow.APPROVAL_SALT)
    except flow.LinkRefused as exc:
        return _refused(request, exc)
    guardianship = link.guardianship
    if guardianship.guardian_id != request.user.pk:
        raise Http404("No such invitation of yours.")
    if not link.current or guardianship.status != Guardianship.Status.CONFIRMING:
        return _refused(request, flow.LinkRefused("used", guardianship))
    if not verification.method_of(guardianship).is_verified(guardianship):
        return redirect("guardian_invitation:status", guardianship.pk)
    return _approval_page(request, guardianship, link.nonce)


@login_required
@require_http_methods(["GET", "POST"])
def approve_verified(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """document and provider: once verified, the guardian approves from here."""
    guardianship = _own(request, pk)
    method = verification.method_of(guardianship)
    if (
        guardianship.status not in flow.UNDECIDED
        or method.key == Guardianship.Method.EMAIL_PLUS
        or not method.is_verified(guardianship)
    ):
        return redirect("guardian_invitation:status", guardianship.pk)
    return _approval_page(request, guardianship, "")
