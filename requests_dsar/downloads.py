"""Export archives served to their owner through signed links that expire.

A link carries the archive's id and its lifetime, signed with a TimestampSigner (its own salt),
and works only in the session of the request's subject or requester. Refusals say as little
as possible: a tampered link or another user's archive is a 404 (nothing tells a stranger that
the archive exists), an expired link or archive a 410, and an anonymous visitor is sent to sign
in (the link then works once they are signed in as the owner). Every download and every
refusal is audited, with ids and a reason code only.
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

from .audit import audit_append
from .export import ArchiveGone, archive_open_decrypted
from .models import Actor, ExportArchive, Status

SALT = "requests_dsar.downloads.archive"


def download_url_for(archive: ExportArchive, *, lifetime: datetime.timedelta | None = None) -> str:
    """The path of a signed download link for `archive`, for its owner's session only.

    The link expires with the archive, or after `lifetime` if that comes first. Prefix it with
    settings.PORTAL_URL where an absolute address is needed (e-mails).
    """
    remaining = archive.expires_at - timezone.now()
    if lifetime is not None:
        remaining = min(remaining, lifetime)
    seconds = max(0, int(remaining.total_seconds()))
    token = TimestampSigner(salt=SALT).sign_object({"a": archive.pk, "t": seconds})
    return reverse("dsar_files:archive", args=[token])


def _read_link(token: str) -> tuple[int, bool] | None:
    """(archive id, link expired) from a link's token, or None when it was not signed by us."""
    signer = TimestampSigner(salt=SALT)
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


def _refuse(
    request: HttpRequest, reason: str, archive: ExportArchive | None, status: int
) -> HttpResponse:
    _audit_download(request, "dsar.archive_download_refused", archive, reason=reason)
    response: HttpResponse
    if status == 404:
        # Returned, not raised: a refusal must never depend on how an exception is handled.
        response = page_not_found(request, Http404())
    else:
        response = render(request, "requests_dsar/export/download_gone.html", status=status)
    add_never_cache_headers(response)
    return response


def _audit_download(
    request: HttpRequest, action: str, archive: ExportArchive | None, **data: object
) -> None:
    user_id: int | None = request.user.pk if request.user.is_authenticated else None
    if archive is not None:
        data = {"request": archive.request_id, **data}
    audit_append(
        action=action,
        actor_user_id=user_id,
        actor_role=Actor.REQUESTER,
        target_type="dsar_archive",
        target_id=archive.pk if archive is not None else "",
        data=data,
    )


@require_GET
def archive_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve the decrypted archive named by a signed link to its owner's session."""
    link = _read_link(token)
    if link is None:
        return _refuse(request, "tampered", None, 404)
    archive_id, link_expired = link
    archive = ExportArchive.objects.select_related("request").filter(pk=archive_id).first()
    if archive is None:
        return _refuse(request, "unknown", None, 404)
    if not request.user.is_authenticated:
        _audit_download(request, "dsar.archive_download_refused", archive, reason="anonymous")
        return redirect_to_login(request.get_full_path())
    if request.user.pk not in (archive.request.subject_id, archive.request.requester_id):
        return _refuse(request, "not_owner", archive, 404)
    if link_expired:
        return _refuse(request, "link_expired", archive, 410)
    if archive.request.status != Status.COMPLETED:
        # A request cancelled while its archive was being built delivers nothing.
        return _refuse(request, "request_not_completed", archive, 410)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return _refuse(request, f"archive_{gone.reason}", archive, 410)
    except FileNotFoundError:
        return _refuse(request, "file_missing", archive, 410)
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    _audit_download(request, "dsar.archive_downloaded", archive)
    return archive_response(archive, chunks)
