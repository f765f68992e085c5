"""What the announcements' admin pages share: the staff member asking, errors as messages, and
the change page of an announcement sent as a broadcast (a send button, then its progress)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from core.admin_tools import ChangeContextMixin
from notices.admin import progress_context

SEND_INCIDENT = "announcements.change_incident"
ADD_UPDATE = "announcements.add_incidentupdate"
SEND_TRANSFER = "announcements.change_transfernotice"
CONFIRM_SEND_TEMPLATE = "admin/announcements/confirm_send.html"


def staff(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def flash_error(
    model_admin: admin.ModelAdmin, request: HttpRequest, error: ValidationError
) -> None:
    model_admin.message_user(request, " ".join(error.messages), messages.ERROR)


class SendableAdminMixin(ChangeContextMixin):
    """The change page of something sent as a broadcast: a send button until it is sent, its
    progress after."""

    send_url_name: str

    def has_send_permission(self, request: HttpRequest) -> bool:
        raise NotImplementedError

    def change_context(self, request: HttpRequest, obj: Model) -> dict[str, Any]:
        broadcast = obj.broadcast  # type: ignore[attr-defined]
        if broadcast is not None:
            return progress_context(request, broadcast)
        if self.has_send_permission(request):
            return {"send_url": reverse(f"admin:{self.send_url_name}", args=[obj.pk])}
        return {}
