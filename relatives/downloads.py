"""A deceased user's copy, served to the close relative whose case was approved for a copy.

The relative has no account: their link, e-mailed to the address they confirmed, is signed
with its own salt (so neither kind of link opens through the other's door). The link names the
copy but does not open it: a code e-mailed to the same address, asked for on the page, lets the
browser download it once. Refusals and downloads are audited as every archive download is.
"""

from __future__ import annotations

import datetime
import time

from django.conf import settings
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from core import ratelimit
from requests_dsar.downloads import (
    archive_response,
    audit_download,
    linked_archive,
    refuse,
    sign_link,
)
from requests_dsar.export import ArchiveGone, archive_open_decrypted
from requests_dsar.forms import CodeForm
from requests_dsar.models import ExportArchive, Status
from requests_dsar.views import CODE_RESULTS, HOUR, too_many

from . import services as relatives
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


# How long a confirmed code lets this browser download the copy (a broken download retried).
GRANT_SECONDS = 30 * 60
CODES_PER_CASE_PER_HOUR = 3


def _grant_key(archive: ExportArchive) -> str:
    return f"relatives:copy_grant:{archive.pk}"


@require_http_methods(["GET", "POST"])
def relative_archive_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """The page of a deceased user's copy, for the relative whose case was approved for one.

    The signed link names the copy (it was e-mailed only to the address the relative
    confirmed, and it expires), but it is not enough to open it: the page e-mails the
    relative a code, and the code, once, lets this browser download the copy for a while.
    A link to any other archive is a 404.
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
    if request.method == "POST":
        return _unlock(request, archive, case)
    if request.session.get(_grant_key(archive), 0) <= time.time():
        return _page(request, archive, case)
    try:
        chunks = archive_open_decrypted(archive)
    except ArchiveGone as gone:
        return refuse(request, f"archive_{gone.reason}", archive, 410, relative_case=case.pk)
    except FileNotFoundError:
        return refuse(request, "file_missing", archive, 410, relative_case=case.pk)
    del request.session[_grant_key(archive)]  # one code, one download
    ExportArchive.objects.filter(pk=archive.pk).update(download_count=F("download_count") + 1)
    audit_download(request, "dsar.archive_downloaded", archive, relative_case=case.pk)
    return archive_response(archive, chunks)


def _page(
    request: HttpRequest,
    archive: ExportArchive,
    case: RelativeCase,
    *,
    form: CodeForm | None = None,
    code_sent: bool = False,
    status: int = 200,
) -> HttpResponse:
    response = render(
        request,
        "relatives/copy.html",
        {
            "form": form or CodeForm(),
            "code_sent": code_sent,
            "code_minutes": settings.DSAR_CODE_TTL_MINUTES,
            "reference": case.reference,
            "expires_at": archive.expires_at,
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response


def _unlock(request: HttpRequest, archive: ExportArchive, case: RelativeCase) -> HttpResponse:
    """Send a code (action "send"), or check one (action "code") and let this browser download
    the copy once."""
    action = request.POST.get("action")
    if action == "send":
        if not ratelimit.allow(
            request,
            scope="dsar-relative-copy-code",
            limit=CODES_PER_CASE_PER_HOUR,
            period=HOUR,
            key=str(case.pk),
        ):
            return too_many(request)
        relatives.relative_copy_code_issue(case=case)
        return _page(request, archive, case, code_sent=True)
    if action != "code":
        return _page(request, archive, case, status=400)
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _page(request, archive, case, form=form, code_sent=True, status=400)
    if not ratelimit.allow(
        request,
        scope="dsar-relative-copy-code-try",
        limit=settings.DSAR_PUBLIC_CODE_TRIES_PER_HOUR,
        period=HOUR,
    ):
        return too_many(request)
    result = relatives.relative_copy_code_check(case=case, code=form.cleaned_data["code"])
    if result != "ok":
        form.add_error("code", CODE_RESULTS[result])
        return _page(request, archive, case, form=form, code_sent=True, status=400)
    request.session[_grant_key(archive)] = time.time() + GRANT_SECONDS
    return redirect(request.path)
