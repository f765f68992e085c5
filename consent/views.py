"""The consent center (/dashboard/consent/): every purpose, one click to give or withdraw, the
whole history with receipts; and the re-consent prompt after a material policy change."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.typing import AuthenticatedHttpRequest
from core.request_info import safe_next

from . import receipts, selectors, services
from .choices import LEGAL_BASIS_EXPLANATIONS, ReconsentForm, field_name
from .gpc import gpc_in_force
from .models import ConsentEvent, Decision, Method
from .policies import current_policy

HISTORY_PAGE_SIZE = 25
# The public list of third parties, built elsewhere in the portal, linked by path.
THIRD_PARTIES_PATH = "/privacy/third-parties/"


def policy_path(version: str) -> str:
    return f"/privacy/policy/{version}/"


@login_required
@require_GET
def center(request: AuthenticatedHttpRequest) -> HttpResponse:
    statuses = selectors.consent_statuses_for(request.user)
    history = Paginator(selectors.consent_events_for(request.user), HISTORY_PAGE_SIZE)
    gpc = gpc_in_force(request)
    return render(
        request,
        "consent/center.html",
        {
            "optional": [s for s in statuses if s.switchable],
            "required": [s for s in statuses if not s.switchable],
            "explanations": LEGAL_BASIS_EXPLANATIONS,
            "history": history.get_page(request.GET.get("history")),
            "disclosures": Paginator(
                selectors.disclosures_for(request.user), HISTORY_PAGE_SIZE
            ).get_page(request.GET.get("disclosures")),
            "gpc_in_force": gpc,
            "gpc_purposes": [s.purpose for s in statuses if gpc and s.purpose.refused_by_gpc],
            "third_parties_path": THIRD_PARTIES_PATH,
        },
    )


@login_required
@require_POST
def decide(request: AuthenticatedHttpRequest, purpose_key: str) -> HttpResponse:
    """One click: give or withdraw consent to one optional purpose."""
    user = request.user
    purpose = next((p for p in services.purposes_offered_to(user) if p.key == purpose_key), None)
    if purpose is None:
        raise Http404("No such purpose is offered to you.")
    decision = request.POST.get("decision")
    record: dict[str, Callable[..., ConsentEvent | None]] = {
        Decision.GIVEN: services.consent_give,
        Decision.WITHDRAWN: services.consent_withdraw,
    }
    if decision not in record:
        messages.error(request, "Choose to give or to withdraw your consent.")
        return redirect("consent:center")
    try:
        event = record[Decision(decision)](
            user=user,
            purpose=purpose,
            method=Method.CONSENT_CENTER,
            actor=user,
            context=services.collection_context(request),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("consent:center")
    if decision == Decision.GIVEN:
        text = f"You gave your consent to “{purpose.name}”. You can withdraw it here at any time."
    else:
        text = f"You withdrew your consent to “{purpose.name}”. It stops now."
    if event is None:
        text = f"Nothing changed for “{purpose.name}”: that was already your choice."
    messages.success(request, text)
    return redirect(f"{reverse('consent:center')}#purpose-{purpose.key}")


@login_required
@require_GET
def receipt(request: AuthenticatedHttpRequest, event_uuid: uuid.UUID) -> HttpResponse:
    """The Kantara receipt of one of the user's own events, as a JSON download."""
    event = selectors.consent_event_for(request.user, event_uuid)
    if event is None:
        raise Http404("No such consent event of yours.")
    return receipts.receipt_response(
        event, receipts.receipt_download(user=request.user, event=event)
    )


@login_required
@require_http_methods(["GET", "POST"])
def reconsent(request: AuthenticatedHttpRequest) -> HttpResponse:
    """After a material policy change: what changed, and the choices to make again."""
    user = request.user
    next_url = safe_next(request, reverse("dashboard:home"))
    policy = current_policy()
    if policy is None or not selectors.reconsent_due(user, policy):
        return redirect(next_url)
    # An empty POST (nothing ticked) is a valid answer too, so bind on the method, not the data.
    data = request.POST if request.method == "POST" else None
    form = ReconsentForm(data, purposes=selectors.reconsent_purposes_for(user))
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_choices_record(
                user=user,
                choices=form.choices(),
                method=Method.RECONSENT_PROMPT,
                actor=user,
                context=services.collection_context(request),
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, "Thank you: your choices are saved under the new policy.")
            return redirect(next_url)
    statuses = {s.purpose.key: s for s in selectors.consent_statuses_for(user)}
    changes = selectors.reconsent_changes(user, policy)
    previous = changes.since
    diff_path = (
        f"/privacy/policy/diff/?{urlencode({'from': previous.version, 'to': policy.version})}"
        if previous
        else None
    )
    return render(
        request,
        "consent/reconsent.html",
        {
            "policy": policy,
            "previous": previous,
            "changed_versions": [v for v in changes.versions if v.summary_of_changes.strip()],
            "chosen_under": changes.chosen_under,
            "policy_path": policy_path(policy.version),
            "diff_path": diff_path,
            "form": form,
            "rows": [(p, form[field_name(p)], statuses.get(p.key)) for p in form.optional],
            "next": next_url,
            "explanations": LEGAL_BASIS_EXPLANATIONS,
        },
        status=400 if form.errors else 200,
    )
