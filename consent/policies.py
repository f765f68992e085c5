"""Policy versions: the current one, safe rendering, and a readable diff between two."""

from __future__ import annotations

import difflib

import markdown  # type: ignore[import-untyped]
import nh3
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .models import PolicyVersion


def current_policy() -> PolicyVersion | None:
    """The newest published version already in effect."""
    return (
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED, effective_on__lte=timezone.localdate()
        )
        .order_by("-effective_on", "-published_at")
        .first()
    )


def render_policy(text: str) -> SafeString:
    """Markdown to HTML, sanitized: staff-written text can never inject script or styles."""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))


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
