"""The company's other systems that hold personal data (connected systems): a port.

A request is carried out by the portal and, first, by each of the company's other systems in its
scope. Asking them is the work of the app above requests (connectors), which requests never
import. That app registers one `Systems` from its `AppConfig.ready()`; without one, no other
system is in any request's scope: every request is settled at once and shows no systems.

What requests ask of it:
- `settled(request)`: whether every system in scope has done its part (done, excepted or not
  applicable), creating the request's jobs on the first call;
- `stop(request)`: the request was cancelled or denied, no system is asked any more;
- `progress(request)` and `with_progress(queryset)`: "3 of 4 systems done", per system; the
  second reads what the first needs for many requests at once (no query per request);
- `waiting_on(request_ids)`: the systems each request still waits on, for the staff's warnings;
- `copy_parts(request)`: each system's answer to a copy, for the archive;
- `erasure_lines(request)`: what each system erased and its confirmation, for the erasure record.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

if TYPE_CHECKING:
    from .models import DataSubjectRequest


@dataclass(frozen=True)
class SystemProgress:
    system_id: int
    system: str
    status: str
    status_label: str
    # Failed, or being retried after errors: the requester reads "delayed".
    delayed: bool = False


@dataclass(frozen=True)
class RequestProgress:
    """How far a request got at the systems in its scope (not-applicable ones left out)."""

    total: int
    settled: int  # done or excepted
    failed: int
    pending: int  # queued, sent or waiting
    systems: list[SystemProgress] = field(default_factory=list)
    # Of those not settled, how many are in trouble (failed, or retrying after errors), and
    # the next time one of them is tried again (None when none is scheduled).
    delayed: int = 0
    next_try_at: datetime.datetime | None = None

    @property
    def complete(self) -> bool:
        """Every system in scope is done or excepted (true when none is in scope)."""
        return self.settled == self.total

    @property
    def text(self) -> str:
        if not self.total:
            return "No other system holds data in this request's scope."
        noun = "system" if self.total == 1 else "systems"
        return f"{self.settled} of {self.total} {noun} done"

    @property
    def state(self) -> str:
        """Changes whenever what a requester's page shows of the systems would change."""
        return f"{self.settled}/{self.total}/{self.delayed}"


NO_PROGRESS = RequestProgress(total=0, settled=0, failed=0, pending=0)


@dataclass(frozen=True)
class SystemPart:
    """One system's answer to a copy request: what the archive holds under `systems/<key>/`."""

    key: str
    name: str
    status: str
    # Set when an officer excepted the system from the request: what the requester is told
    # (never the officer's internal reason).
    excepted_note: str | None = None
    # Its data by category ({category: [rows]}), read when called; None: it sent no such data.
    rows: Callable[[], Any] | None = None
    # A file it sent instead, decrypted chunk by chunk, and the file's content type.
    chunks: Callable[[], Iterator[bytes]] | None = None
    content_type: str = ""


@dataclass(frozen=True)
class SystemErasure:
    """What one system answered to an erasure, as it told us."""

    key: str
    name: str
    status: str
    counts: dict[str, Any]
    tables: list[Any]
    confirmation: str
    excepted_by: int | None
    excepted_at: datetime.datetime | None


@dataclass(frozen=True)
class Systems:
    settled: Callable[[DataSubjectRequest], bool]
    stop: Callable[[DataSubjectRequest], int]
    progress: Callable[[DataSubjectRequest], RequestProgress]
    with_progress: Callable[[QuerySet[Any]], QuerySet[Any]]
    waiting_on: Callable[[list[int]], dict[int, list[str]]]
    copy_parts: Callable[[DataSubjectRequest], list[SystemPart]]
    erasure_lines: Callable[[DataSubjectRequest], list[SystemErasure]]


def _none(request: DataSubjectRequest) -> list[Any]:
    return []


NONE = Systems(
    settled=lambda request: True,
    stop=lambda request: 0,
    progress=lambda request: NO_PROGRESS,
    with_progress=lambda queryset: queryset,
    waiting_on=lambda request_ids: {},
    copy_parts=_none,
    erasure_lines=_none,
)

_registered: list[Systems] = [NONE]


def register(systems: Systems) -> None:
    """The app that asks the company's other systems: one per portal."""
    _registered[0] = systems


def systems() -> Systems:
    return _registered[0]


def settled(request: DataSubjectRequest) -> bool:
    return systems().settled(request)


def stop(request: DataSubjectRequest) -> int:
    return systems().stop(request)


def progress(request: DataSubjectRequest) -> RequestProgress:
    return systems().progress(request)


def with_progress(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return systems().with_progress(queryset)


def waiting_on(request_ids: Iterable[int]) -> dict[int, list[str]]:
    return systems().waiting_on(list(request_ids))


def copy_parts(request: DataSubjectRequest) -> list[SystemPart]:
    return systems().copy_parts(request)


def erasure_lines(request: DataSubjectRequest) -> list[SystemErasure]:
    return systems().erasure_lines(request)
