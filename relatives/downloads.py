"""A deceased user's copy, served to the close relative whose case was approved for a copy.

The relative has no account: their link, e-mailed to the address they confirmed, is signed
with its own salt (so neither kind of link opens through the other's door) and opens without a
session. Refusals and downloads are audited as every archive download is.
"""

from __future__ import annotations

import datetime

from django.db.models import F
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.http import require_GET

from requests_dsar.downloads import (
    archive_response,
    audit_download,
    linked_archive,
    refuse,
    sign_link,
)
from requests_dsar.export import ArchiveGone, archive_open_decrypted
from requests_dsar.models import ExportArchive, Status

from .models import RelativeAsk, RelativeCase

# Unchanged since the copy links were first e-mailed: a link sent before still opens.
RELATIVE_SALT = "requests_dsar.downloads.relative_archive"


def relative_download_url_for(
    archive: ExportArchive, *, lifetime: datetime.timedelta | None = None
) -> str:
    """The path of a signed link to a deceased user's copy, for the relative whose case was
    approved. No session opens it: it is e-mailed only to the relative's confirmed address and
    expires with the archive (or after `lifetime`)."""
    return reverse("dsar_relatives:archive", args=[sign_link(archive, lifetime, RELATIVE_SALT)])


@require_GET
def relative_archive_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Serve a deceased user's copy to the relative whose case was approved for a copy.

    The signed link is the relative's proof (they have no account): it was e-mailed only to the
    address they confirmed, and it expires. A link to any other archive is a 404.
    """
    found = linked_archive(request, token, salt=RELATIVE_SALT)
    if isinstance(found, HttpResponseBase):
        return found
    archive, link_expired = found
    case = RelativeCase.objects.filter(
        request_id=archive.request_id, outcome=RelativeAsk.COPY, decided_at__isnull=False
    ).first()
    if case is None:
        return refuse(request, "not_relative", archive, 404)
    if link_expired:
        return refuse(request, "link_expired", archive, 410, relative_case=case.pk)
    if archive.request.status != Status.COMPLETED:
        return refuse(request, "request_not_completed", archive, 410, relative_case=case.pk)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return refuse(request, f"archive_{gone.reason}", archive, 410, relative_case=case.pk)
    except FileNotFoundError:
        return refuse(request, "file_missing", archive, 410, relative_case=case.pk)
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    audit_download(request, "dsar.archive_downloaded", archive, relative_case=case.pk)
    return archive_response(archive, chunks)
