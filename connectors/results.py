"""What a system answers with: the result object of the protocol (docs/connector-protocol.md,
"Results"), the same in a 200 answer and in a callback. Parsed strictly; an invalid result is
refused with a code, never echoed back (it may hold personal data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .models import JobType

_CATEGORY = re.compile(r"^[a-z0-9_]{1,40}$")
_CODE = re.compile(r"[^A-Za-z0-9_.:-]")
MAX_CONFIRMATION = 200
MAX_CATEGORIES = 200


class InvalidResult(Exception):
    """The result does not follow the protocol; `str()` says which rule, without values."""


@dataclass(frozen=True)
class Result:
    status: str  # "done" or "failed"
    data: dict[str, list[Any]] | None = None  # exports: rows per category
    counts: dict[str, int] = field(default_factory=dict)  # rows per category
    confirmation: str = ""
    error: str = ""  # a failed job's code
    # The database connector's erasure record: one line per table (strategy, rows, columns).
    tables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status == "done"


def error_code(text: Any) -> str:
    """A system's error code, reduced to a harmless code (letters, digits, _.:-)."""
    return _CODE.sub("", str(text))[:80] or "unspecified"


def _categories(value: Any, *, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidResult(f"`{what}` must be an object keyed by category")
    if len(value) > MAX_CATEGORIES:
        raise InvalidResult(f"`{what}` has too many categories")
    for key in value:
        if not isinstance(key, str) or not _CATEGORY.match(key):
            raise InvalidResult(f"`{what}` has a category name that is not [a-z0-9_]{{1,40}}")
    return value


def parse_result(payload: Any, *, job_id: str, job_type: str) -> Result:
    """The result a system sent for job `job_id` of `job_type`; InvalidResult otherwise."""
    if not isinstance(payload, dict):
        raise InvalidResult("the result must be a JSON object")
    if str(payload.get("job_id", "")) != job_id:
        raise InvalidResult("`job_id` does not name this job")
    status = payload.get("status")
    if status == "failed":
        return Result(status="failed", error=error_code(payload.get("error", "")))
    if status != "done":
        raise InvalidResult('`status` must be "done" or "failed"')
    confirmation = payload.get("confirmation", "")
    if not isinstance(confirmation, str) or len(confirmation) > MAX_CONFIRMATION:
        raise InvalidResult(f"`confirmation` must be text of at most {MAX_CONFIRMATION} characters")
    if job_type == JobType.EXPORT:
        data = _categories(payload.get("data"), what="data")
        for rows in data.values():
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise InvalidResult("each category of `data` must be a list of objects")
        counts = {category: len(rows) for category, rows in data.items()}
        return Result(status="done", data=data, counts=counts, confirmation=confirmation)
    counts = _categories(payload.get("counts", {}), what="counts")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
        raise InvalidResult("`counts` values must be whole numbers of rows")
    return Result(status="done", counts=dict(counts), confirmation=confirmation)
