"""Who besides the subject may follow a subject's requests, and what their looks record: a port.

requests_dsar sits below the apps whose people file requests for someone else (a guardian for a
minor in their care) and never imports them. Such an app registers a `Follower` from its
`AppConfig.ready()`: whose requests a user may follow (those they filed for these subjects), in
which role they reach one, and how their looks at requests are recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.models import User

if TYPE_CHECKING:
    from .models import DataSubjectRequest


@dataclass(frozen=True)
class Follower:
    # The subjects (a queryset of their ids, or ids) whose requests `user` filed and may follow.
    subjects: Callable[[User], Any]
    # The audit role in which `viewer` reaches `request` (None: not through this follower).
    role_of: Callable[[User, DataSubjectRequest], str | None]
    # Record a look at one request (`section`: "request" or "archive"); whether one was recorded.
    viewed: Callable[[User, DataSubjectRequest, str], bool]
    # Record a list of requests shown to `viewer`.
    listed: Callable[[User, Iterable[DataSubjectRequest]], None]


_followers: list[Follower] = []


def register(follower: Follower) -> None:
    if follower not in _followers:
        _followers.append(follower)


def subjects_followed(user: User) -> list[Any]:
    """Per follower, the subjects whose requests `user` filed and may follow."""
    return [follower.subjects(user) for follower in _followers]


def role_of(viewer: User, request: DataSubjectRequest) -> str | None:
    """The role in which `viewer` reaches `request` for someone else, or None."""
    for follower in _followers:
        role = follower.role_of(viewer, request)
        if role is not None:
            return role
    return None


def request_viewed(*, viewer: User, request: DataSubjectRequest, section: str) -> bool:
    """Record a look at `request` by someone following it for its subject; whether one was."""
    return any([follower.viewed(viewer, request, section) for follower in _followers])


def requests_listed(*, viewer: User, requests: Iterable[DataSubjectRequest]) -> None:
    shown = list(requests)
    for follower in _followers:
        follower.listed(viewer, shown)
