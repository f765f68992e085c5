"""Export archives served to their owner through signed links that expire.

A link carries the archive's id and its lifetime, signed with a TimestampSigner (its own salt),
and works only in the session of the request's subject or requester. Refusals say as little
as possible: a tampered link or another user's archive is a 404 (nothing tells a stranger that
the archive exists), an expired link or archive a 410, and an anonymous visitor is sent to sign
in (the link then works once they are signed in as the owner). Every download and every
refusal is audited, with ids and a reason code only; a guardian's download of a copy they asked
for a minor in their care is audited with the role guardian.

A close relative whose case for a deceased user's copy was approved (relatives.py) has no
account: their link, e-mailed to the address they confirmed, is signed with another salt and
opens `relative_archive_download` without a session.
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

from accounts.guardian_services import GUARDIAN_ROLE, guardian_data_viewed, guardianship_behind
from core.audit import audit_append
from core.models import Actor
from requests_dsar.models import ExportArchive, RelativeAsk, RelativeCase, Status

from .export import ArchiveGone, archive_open_decrypted
from .selectors import may_follow

SALT = "requests_dsar.downloads.archive"
# A relative's link to a deceased user's copy (relatives.py): another salt, so neither kind of
# link opens through the other's door.
RELATIVE_SALT = "requests_dsar.downloads.relative_archive"


def download_url_for(archive: ExportArchive, *, lifetime: datetime.timedelta | None = None) -> str:
    """The path of a signed download link for `archive`, for its owner's session only.

    The link expires with the archive, or after `lifetime` if that comes first. Prefix it with
    settings.PORTAL_URL where an absolute address is needed (e-mails).
    """
    return reverse("dsar_files:archive", args=[_sign(archive, lifetime, SALT)])


def relative_download_url_for(
    archive: ExportArchive, *, lifetime: datetime.timedelta | None = None
) -> str:
    """The path of a signed link to a deceased user's copy, for the relative whose case was
    approved. No session opens it: it is e-mailed only to the relative's confirmed address and
    expires with the archive (or after `lifetime`)."""
    return reverse("dsar_relatives:archive", args=[_sign(archive, lifetime, RELATIVE_SALT)])


def _sign(archive: ExportArchive, lifetime: datetime.timedelta | None, salt: str) -> str:
    remaining = archive.expires_at - timezone.now()
    if lifetime is not None:
        remaining = min(remaining, lifetime)
    seconds = max(0, int(remaining.total_seconds()))
    return TimestampSigner(salt=salt).sign_object({"a": archive.pk, "t": seconds})


def _read_link(token: str, salt: str = SALT) -> tuple[int, bool] | None:
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


def _refuse(
    request: HttpRequest,
    reason: str,
    archive: ExportArchive | None,
    status: int,
    role: str = Actor.REQUESTER,
    **data: object,
) -> HttpResponse:
    _audit_download(
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


def _audit_download(
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
    if not may_follow(request.user, archive.request):
        return _refuse(request, "not_owner", archive, 404)
    # A guardian downloading the copy they asked for a minor in their care is audited as a
    # guardian's access to the minor's data, like their other looks at it.

    guardianship = guardianship_behind(viewer=request.user, request=archive.request)
    role = GUARDIAN_ROLE if guardianship is not None else Actor.REQUESTER
    if link_expired:
        return _refuse(request, "link_expired", archive, 410, role)
    if archive.request.status != Status.COMPLETED:
        # A request cancelled while its archive was being built delivers nothing.
        return _refuse(request, "request_not_completed", archive, 410, role)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return _refuse(request, f"archive_{gone.reason}", archive, 410, role)
    except FileNotFoundError:
        return _refuse(request, "file_missing", archive, 410, role)
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    _audit_download(request, "dsar.archive_downloaded", archive, role)
    if guardianship is not None:
        guardian_data_viewed(guardianship=guardianship, section="archive")
    return archive_response(archive, chunks)


@require_GET
def relative_archive_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve a deceased user's copy to the relative whose case was approved for a copy.

    The signed link is the relative's proof (they have no account): it was e-mailed only to the
    address they confirmed, and it expires. A link to any other archive is a 404.
    """
    link = _read_link(token, salt=RELATIVE_SALT)
    if link is None:
        return _refuse(request, "tampered", None, 404)
    archive_id, link_expired = link
    archive = ExportArchive.objects.select_related("request").filter(pk=archive_id).first()
    if archive is None:
        return _refuse(request, "unknown", None, 404)
    case = RelativeCase.objects.filter(
        request_id=archive.request_id, outcome=RelativeAsk.COPY, decided_at__isnull=False
    ).first()
    if case is None:
        return _refuse(request, "not_relative", archive, 404)
    if link_expired:
        return _refuse(request, "link_expired", archive, 410, relative_case=case.pk)
    if archive.request.status != Status.COMPLETED:
        return _refuse(request, "request_not_completed", archive, 410, relative_case=case.pk)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return _refuse(request, f"archive_{gone.reason}", archive, 410, relative_case=case.pk)
    except FileNotFoundError:
        return _refuse(request, "file_missing", archive, 410, relative_case=case.pk)
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    _audit_download(request, "dsar.archive_downloaded", archive, relative_case=case.pk)
    return archive_response(archive, chunks)
