"""Policy versions: the current one, publishing, safe rendering, and a readable diff."""

from __future__ import annotations

import datetime
import difflib
import hashlib
import re
from dataclasses import dataclass
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any

import markdown  # type: ignore[import-untyped]
import nh3
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from core.audit import audit_append
from core.models import Actor

from .models import PolicyVersion

if TYPE_CHECKING:
    from accounts.models import User

# A version label is part of its public address (/privacy/policy/<label>/).
VERSION_LABEL = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
RESERVED_LABELS = frozenset({"versions", "diff"})


def version_label_problem(label: str) -> str | None:
    if not VERSION_LABEL.match(label) or label.lower() in RESERVED_LABELS:
        return (
            "Use letters, digits, dots, dashes or underscores (for example 2.0), "
            "and not 'versions' or 'diff'."
        )
    return None


def current_policy() -> PolicyVersion | None:
    """The newest published version already in effect."""
    return (
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED, effective_on__lte=timezone.localdate()
        )
        .order_by("-effective_on", "-published_at")
        .first()
    )


def published_versions() -> QuerySet[PolicyVersion]:
    """Every published version, newest first (upcoming ones included). Drafts never."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).order_by(
        "-effective_on", "-published_at"
    )


def upcoming_policy() -> PolicyVersion | None:
    """The published version that takes effect next, if one is announced but not yet in force."""
    return (
        published_versions()
        .filter(effective_on__gt=timezone.localdate())
        .order_by("effective_on", "published_at")
        .first()
    )


def publish_problems(version: PolicyVersion) -> list[str]:
    """Why this draft cannot be published as it stands (empty when it can)."""
    problems = []
    if version.is_published:
        problems.append("This version is already published.")
    label_problem = version_label_problem(version.version)
    if label_problem:
        problems.append(f"Version label: {label_problem}")
    if not version.text.strip():
        problems.append("The text is empty.")
    if version.effective_on < version.last_updated:
        problems.append("It cannot take effect before the date it was last updated.")
    latest = published_versions().exclude(pk=version.pk).first()
    if latest is not None:
        # The policy: changed content takes effect after notification or publication. Only
        # the first version (an existing policy imported as it stands) may date from before.
        if version.effective_on < timezone.localdate():
            problems.append("It cannot take effect before the day it is published.")
        if version.effective_on < latest.effective_on:
            problems.append(
                f"It cannot take effect before version {latest.version} "
                f"({latest.effective_on.isoformat()}), or it would never be the current one."
            )
    if version.is_material and not version.summary_of_changes.strip():
        problems.append("A material change needs a summary of changes: users are told it.")
    return problems


@transaction.atomic
def policy_publish(*, version: PolicyVersion, actor: User | None) -> PolicyVersion:
    """Publish a draft. From then on the version never changes (model and database refuse it).

    Audited with a checksum of the published text. A material version asks every user to
    consent again and tells those who had an account before publication, in their inbox and by
    e-mail (a notices broadcast created in this transaction, sent after commit).
    `actor` is None only for the system (seed data).
    """
    locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    problems = publish_problems(locked)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    claimed = PolicyVersion.objects.filter(pk=locked.pk, status=PolicyVersion.Status.DRAFT).update(
        status=PolicyVersion.Status.PUBLISHED, published_at=now, published_by=actor
    )
    if not claimed:
        raise ValidationError("This version is already published.")
    audit_append(
        action="policy.published",
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=Actor.STAFF if actor is not None else Actor.SYSTEM,
        target_type="consent.PolicyVersion",
        target_id=locked.pk,
        data={
            "version": locked.version,
            "is_material": locked.is_material,
            "last_updated": locked.last_updated.isoformat(),
            "effective_on": locked.effective_on.isoformat(),
            "text_sha256": hashlib.sha256(locked.text.encode()).hexdigest(),
        },
    )
    if locked.is_material:
        from .policy_notices import policy_notice_create

        policy_notice_create(version=locked, published_at=now, actor=actor)
    version.refresh_from_db()
    return version


@dataclass(frozen=True)
class PolicySection:
    anchor: str  # the heading's id: /privacy/policy/#section-...
    title: str
    level: int  # 2 for a section, 3 for a subsection


# Headings keep an id (their anchor), prefixed so policy text can never take a page element's.
_HEADING_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    **{f"h{n}": {*nh3.ALLOWED_ATTRIBUTES.get(f"h{n}", set()), "id"} for n in range(1, 7)},
}


def _markdown(text: str) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=["extra", "sane_lists", "toc"],
        extension_configs={"toc": {"slugify": _anchor, "toc_depth": "2-3"}},
        output_format="html",
    )


def _anchor(value: str, separator: str) -> str:
    return "section-" + (slugify(value)[:60] or "untitled")


def render_policy(text: str) -> SafeString:
    """Markdown to HTML, sanitized: staff-written text can never inject script or styles.
    Each section heading carries an anchor (`policy_sections` lists them)."""
    html = _markdown(text).convert(text)
    return mark_safe(
        nh3.clean(html, link_rel="noopener noreferrer nofollow", attributes=_HEADING_ATTRIBUTES)
    )


def policy_sections(text: str) -> list[PolicySection]:
    """The policy's table of contents: its sections and subsections, in order."""
    md = _markdown(text)
    md.convert(text)
    sections: list[PolicySection] = []

    def walk(tokens: list[dict[str, Any]]) -> None:
        for token in tokens:
            sections.append(
                PolicySection(
                    anchor=token["id"], title=html_unescape(token["name"]), level=token["level"]
                )
            )
            walk(token.get("children", []))

    walk(md.toc_tokens)  # type: ignore[attr-defined]
    return sections


def diff_lines(old: PolicyVersion, new: PolicyVersion) -> list[tuple[str, str]]:
    """(kind, line) pairs, kind one of "same", "removed", "added", for a readable diff."""
    result: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old.text.splitlines(), b=new.text.splitlines())
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result += [("same", line) for line in old.text.splitlines()[i1:i2]]
            continue
        result += [("removed", line) for line in old.text.splitlines()[i1:i2]]
        result += [("added", line) for line in new.text.splitlines()[j1:j2]]
    return result


def policy_draft_from(source: PolicyVersion) -> PolicyVersion:
    """A new draft copying `source`'s text, labelled "<source>-draft[N]" within the column."""
    limit = PolicyVersion._meta.get_field("version").max_length or 20
    existing = set(
        PolicyVersion.objects.filter(version__startswith=source.version[: limit - 8]).values_list(
            "version", flat=True
        )
    )
    n = 1
    while True:
        suffix = "-draft" if n == 1 else f"-draft{n}"
        label = source.version[: limit - len(suffix)] + suffix
        if label not in existing:
            break
        n += 1
    today = timezone.localdate()
    return PolicyVersion.objects.create(
        version=label,
        title=source.title,
        text=source.text,
        last_updated=today,
        effective_on=today + datetime.timedelta(days=30),
    )
