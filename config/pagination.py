"""The API's pagination: DRF's limit/offset, with a ceiling on `limit`."""

from __future__ import annotations

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    # Without a ceiling any `?limit=` reaches the database: one past 2**63 - 1 is a 500 there.
    max_limit = 200
