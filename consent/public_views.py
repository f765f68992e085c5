"""Public pages about the policy: no sign-in. Drafts never show (404).

The current policy and any past or announced version, a line-by-line diff between two
versions, the list of third-party SDKs, and every purpose of processing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .models import PolicyVersion, Purpose, ThirdParty
from .policies import (
    current_policy,
    diff_lines,
    policy_sections,
    published_versions,
    render_policy,
    upcoming_policy,
)

# Unchanged lines kept around each change in a diff; longer unchanged runs are folded.
DIFF_CONTEXT = 2


def _published(label: str) -> PolicyVersion:
    return get_object_or_404(published_versions(), version=label)


@require_GET
def policy_current(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    if policy is None:
        raise Http404("No policy is in effect yet.")
    return _policy_page(request, policy)


@require_GET
def policy_version(request: HttpRequest, version: str) -> HttpResponse:
    return _policy_page(request, _published(version))


def _policy_page(request: HttpRequest, policy: PolicyVersion) -> HttpResponse:
    versions = list(published_versions())
    current = current_policy()
    position = next(i for i, version in enumerate(versions) if version.pk == policy.pk)
    standing = _standing(policy, current)
    upcoming = upcoming_policy()
    context = {
        "policy": policy,
        "body": render_policy(policy.text),
        "sections": policy_sections(policy.text),
        "standing": standing,
        "current": current,
        "upcoming": upcoming if standing == "current" else None,
        "previous": versions[position + 1] if position + 1 < len(versions) else None,
    }
    return render(request, "consent/policy.html", context)


def _standing(version: PolicyVersion, current: PolicyVersion | None) -> str:
    if current is not None and version.pk == current.pk:
        return "current"
    return "upcoming" if version.effective_on > timezone.localdate() else "superseded"


@require_GET
def policy_versions(request: HttpRequest) -> HttpResponse:
    versions = list(published_versions())
    current = current_policy()
    rows = [
        {
            "version": version,
            "standing": _standing(version, current),
            "previous": versions[i + 1] if i + 1 < len(versions) else None,
        }
        for i, version in enumerate(versions)
    ]
    return render(request, "consent/policy_versions.html", {"rows": rows})


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "same", "added", "removed" or "fold"
    text: str = ""
    folded: int = 0  # unchanged lines folded away (kind "fold")


def _rows(lines: list[tuple[str, str]], context: int = DIFF_CONTEXT) -> list[DiffRow]:
    """Blank lines dropped (paragraph breaks only); long unchanged runs folded around changes."""
    lines = [(kind, text) for kind, text in lines if text.strip()]
    near_change: set[int] = set()
    for index, (kind, _text) in enumerate(lines):
        if kind != "same":
            near_change.update(range(index - context, index + context + 1))
    rows: list[DiffRow] = []
    folded = 0
    for index, (kind, text) in enumerate(lines):
        if kind == "same" and index not in near_change:
            folded += 1
            continue
        if folded:
            rows.append(DiffRow("fold", folded=folded))
            folded = 0
        rows.append(DiffRow(kind, text))
    if folded:
        rows.append(DiffRow("fold", folded=folded))
    return rows


@require_GET
def policy_diff(request: HttpRequest) -> HttpResponse:
    versions = list(published_versions())
    by_label = {version.version: version for version in versions}
    wanted_from, wanted_to = request.GET.get("from"), request.GET.get("to")
    if wanted_from is None and wanted_to is None and len(versions) >= 2:
        # Nothing asked: what changed in the newest version.
        wanted_from, wanted_to = versions[1].version, versions[0].version
    old = new = None
    if wanted_from is not None or wanted_to is not None:
        if wanted_from not in by_label or wanted_to not in by_label:
            raise Http404("No such published version.")
        old, new = by_label[wanted_from], by_label[wanted_to]
    context: dict[str, object] = {"versions": versions, "old": old, "new": new}
    if old is not None and new is not None:
        rows = _rows(diff_lines(old, new))
        context.update(
            rows=rows,
            added=sum(row.kind == "added" for row in rows),
            removed=sum(row.kind == "removed" for row in rows),
        )
    return render(request, "consent/policy_diff.html", context)


def _active_purposes() -> Prefetch:
    return Prefetch("purposes", queryset=Purpose.objects.filter(active=True))


def _active_third_parties() -> Prefetch:
    return Prefetch("third_parties", queryset=ThirdParty.objects.filter(active=True))


@require_GET
def third_parties(request: HttpRequest) -> HttpResponse:
    sdks = ThirdParty.objects.filter(active=True).prefetch_related(_active_purposes())
    return render(request, "consent/third_parties.html", {"third_parties": sdks})


@require_GET
def purposes(request: HttpRequest) -> HttpResponse:
    listed = Purpose.objects.filter(active=True).prefetch_related(_active_third_parties())
    return render(request, "consent/purposes.html", {"purposes": listed})


@require_GET
def purpose_detail(request: HttpRequest, key: str) -> HttpResponse:
    purpose = get_object_or_404(
        Purpose.objects.filter(active=True)
        .select_related("introduced_in")
        .prefetch_related(_active_third_parties()),
        key=key,
    )
    return render(request, "consent/purpose_detail.html", {"purpose": purpose})
