"""Export archives served to their owner through signed links that expire.

A link carries the archive's id and its lifetime, signed with a TimestampSigner (its own salt),
and works only in the session of the request's subject or requester. Refusals say as little
as possible: a tampered link or another user's archive is a 404 (nothing tells a stranger that
the archive exists), an expired link or archive a 410, and an anonymous visitor is sent to sign
in (the link then works once they are signed in as the owner). Every download and every
refusal is audited, with ids and a reason code only; a guardian's download of a copy they asked
for a minor in their care is audited with the role guardian.

Other apps serve archives to people without an account through their own links, signed with
their own salt (`sign_link`, `read_link`, `refuse`, `audit_download`, `archive_response`): the
relatives app for a deceased user's copy.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from core.audit import audit_append
from core.models import Actor
from requests_dsar.models import ExportArchive, Status

from . import followers
from .export import ArchiveGone, archive_open_decrypted
from .selectors import may_follow

SALT = "requests_dsar.downloads.archive"


def download_url_for(archive: ExportArchive, *, lifetime: datetime.timedelta | None = None) -> str:
    """The path of a signed download link for `archive`, for its owner's session only.

    The link expires with the archive, or after `lifetime` if that comes first. Prefix it with
    settings.PORTAL_URL where an absolute address is needed (e-mails).
    """
    return reverse("dsar_files:archive", args=[sign_link(archive, lifetime, SALT)])


def sign_link(archive: ExportArchive, lifetime: datetime.timedelta | None, salt: str) -> str:
    remaining = archive.expires_at - timezone.now()
    if lifetime is not None:
        remaining = min(remaining, lifetime)
    seconds = max(0, int(remaining.total_seconds()))
    return TimestampSigner(salt=salt).sign_object({"a": archive.pk, "t": seconds})


def read_link(token: str, salt: str = SALT) -> tuple[int, bool] | None:
    """(archive id, link expired) from a link's token, or None when it was not signed by us."""
    signer = TimestampSigner(salt=salt)
    try:
        payload = signer.unsign_object(token)
        archive_id, lifetime = int(payload["a"]), int(payload["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    try:
        signer.unsign_object(token, max_age=lifetime)
    except SignatureExpired:
        return archive_id, True
    return archive_id, False


def archive_filename(archive: ExportArchive) -> str:
    company = slugify(settings.COMPANY_NAME) or "export"
    reference = archive.request.reference
    return f"{company}-your-data-{reference}-{archive.created_at:%Y-%m-%d}.zip"


def archive_response(archive: ExportArchive, chunks: Iterator[bytes]) -> StreamingHttpResponse:
    """The plaintext ZIP as an attachment that no cache keeps."""
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=archive_filename(archive))
        or "attachment"
    )
    response["Content-Length"] = str(archive.size)
    add_never_cache_headers(response)
    return response


def refuse(
    request: HttpRequest,
    reason: str,
    archive: ExportArchive | None,
    status: int,
    role: str = Actor.REQUESTER,
    **data: object,
) -> HttpResponse:
    audit_download(
        request, "dsar.archive_download_refused", archive, role=role, reason=reason, **data
    )
    response: HttpResponse
    if status == 404:
        # Returned, not raised: a refusal must never depend on how an exception is handled.
        response = page_not_found(request, Http404())
    else:
        response = render(request, "requests_dsar/export/download_gone.html", status=status)
    add_never_cache_headers(response)
    return response


def audit_download(
    request: HttpRequest,
    action: str,
    archive: ExportArchive | None,
    role: str = Actor.REQUESTER,
    **data: object,
) -> None:
    user_id: int | None = request.user.pk if request.user.is_authenticated else None
    if archive is not None:
        data = {"request": archive.request_id, **data}
    audit_append(
        action=action,
        actor_user_id=user_id,
        actor_role=role,
        target_type="dsar_archive",
        target_id=archive.pk if archive is not None else "",
        data=data,
    )


def linked_archive(
    request: HttpRequest, token: str, salt: str = SALT
) -> tuple[ExportArchive, bool] | HttpResponseBase:
    """(the archive, whether the link expired) that a link's token names, or the refusal
    (audited) of a link we did not sign or whose archive is gone."""
    link = read_link(token, salt=salt)
    if link is None:
        return refuse(request, "tampered", None, 404)
    archive_id, link_expired = link
    archive = ExportArchive.objects.select_related("request").filter(pk=archive_id).first()
    if archive is None:
        return refuse(request, "unknown", None, 404)
    return archive, link_expired


@require_GET
def archive_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve the decrypted archive named by a signed link to its owner's session."""
    found = linked_archive(request, token)
    if isinstance(found, HttpResponseBase):
        return found
    archive, link_expired = found
    if not request.user.is_authenticated:
        audit_download(request, "dsar.archive_download_refused", archive, reason="anonymous")
        return redirect_to_login(request.get_full_path())
    if not may_follow(request.user, archive.request):
        return refuse(request, "not_owner", archive, 404)
    # A guardian downloading the copy they asked for a minor in their care is audited as a
    # guardian's access to the minor's data, like their other looks at it.

    follower_role = followers.role_of(request.user, archive.request)
    role = follower_role or Actor.REQUESTER
    if link_expired:
        return refuse(request, "link_expired", archive, 410, role)
    if archive.request.status != Status.COMPLETED:
        # A request cancelled while its archive was being built delivers nothing.
        return refuse(request, "request_not_completed", archive, 410, role)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return refuse(request, f"archive_{gone.reason}", archive, 410, role)
    except FileNotFoundError:
        return refuse(request, "file_missing", archive, 410, role)
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    audit_download(request, "dsar.archive_downloaded", archive, role)
    if follower_role is not None:
        followers.request_viewed(viewer=request.user, request=archive.request, section="archive")
    return archive_response(archive, chunks)
