"""Telling users about a published material policy version, through a notices broadcast.

Publishing a material version creates one `notices.Broadcast` (source "policy:<version id>")
inside the publishing transaction; its fan-out starts after commit and is resumable and
once-per-user (see `notices.fanout`; `notices.tasks.sweep_notices` restarts a lost one). Each
user who had an account before publication gets a message in their dashboard inbox and, unless
they switched off e-mail for policy changes, an e-mail. Later sign-ups accepted the new version
and are not told.

The notice is the same for everyone: what changed, when it takes effect, links to the version
and to the line-by-line diff; nothing about the person.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from notices.audience import audience_users
from notices.fanout import Progress, broadcast_progress
from notices.models import Broadcast, Category
from notices.services import broadcast_create

from .models import PolicyVersion

if TYPE_CHECKING:
    from accounts.models import User


def policy_notice_source(version: PolicyVersion) -> str:
    return f"policy:{version.pk}"


def policy_notice_audience(published_at: datetime.datetime) -> dict[str, str]:
    """Who is told about a version published at `published_at`: accounts from before it."""
    return {"kind": "joined_before", "at": published_at.isoformat()}


def policy_notice_audience_size(published_at: datetime.datetime) -> int:
    """How many accounts a version published at `published_at` would be told about."""
    return audience_users(policy_notice_audience(published_at)).count()


def policy_notice_text(version: PolicyVersion) -> tuple[str, str, str]:
    """The notice's title, text and link (the version's page). Our wording, no personal data."""
    from .selectors import previous_policy

    base = settings.PORTAL_URL
    path = reverse("privacy:policy_version", args=[version.version])
    previous = previous_policy(version)
    diff_url = ""
    if previous is not None:
        query = urlencode({"from": previous.version, "to": version.version})
        diff_url = f"{base}{reverse('privacy:policy_diff')}?{query}"
    context = {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
        "version": version,
        "policy_url": base + path,
        "diff_url": diff_url,
    }
    title = render_to_string("consent/notices/policy_updated_title.txt", context)
    body = render_to_string("consent/notices/policy_updated_body.txt", context)
    return " ".join(title.split()), body.strip(), path


def policy_notice_create(
    *, version: PolicyVersion, published_at: datetime.datetime, actor: User | None
) -> Broadcast:
    """The broadcast telling users about a material `version` (created once per version).

    Called inside the publishing transaction: the broadcast exists exactly when the version is
    published, and its fan-out starts after commit.
    """
    title, body, link = policy_notice_text(version)
    return broadcast_create(
        source=policy_notice_source(version),
        kind=Broadcast.Kind.POLICY,
        category=Category.POLICY_CHANGES,
        title=title,
        body=body,
        link=link,
        audience=policy_notice_audience(published_at),
        created_by=actor,
    )


def policy_broadcast(version: PolicyVersion) -> Broadcast | None:
    return Broadcast.objects.filter(source=policy_notice_source(version)).first()


def policy_notice_progress(version: PolicyVersion) -> str:
    """How far telling users about `version` is, in words for staff."""
    if not version.is_published or not version.is_material:
        return "None: only material versions are announced to users."
    broadcast = policy_broadcast(version)
    if broadcast is None:
        return "No notice was created for this version."
    return describe_progress(broadcast, broadcast_progress(broadcast, with_audience=True))


def describe_progress(broadcast: Broadcast, progress: Progress) -> str:
    state = "Done" if broadcast.state == Broadcast.State.DONE else "Sending (resumes on its own)"
    of_audience = f" of {progress.audience}" if progress.audience is not None else ""
    in_doubt = (
        f", {progress.sending} in doubt (a worker stopped while sending)"
        if progress.sending
        else ""
    )
    return (
        f"{state}: {progress.delivered}{of_audience} users told in their inbox; e-mails: "
        f"{progress.sent} sent, {progress.queued} queued{in_doubt}, {progress.failed} failed, "
        f"{progress.site_only} inbox only (their choice or no verified address)."
    )
