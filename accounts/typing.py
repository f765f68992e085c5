"""Request types for views that require a signed-in user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from .models import User


class AuthenticatedHttpRequest(HttpRequest):
    """An HttpRequest behind `login_required`: `user` is a real `User`."""

    user: User
