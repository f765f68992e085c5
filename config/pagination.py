"""The API's pagination: DRF's limit/offset, as strict as the schema says it is.

DRF ignores a malformed `?limit=` or `?offset=` and uses its default; the schema says each is a
whole number in a range, so anything else (a word, a negative number, a number past the range,
the parameter given twice) is answered with a 400 that names it, never served as if absent.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_LIMIT = 200
# Far beyond any list a person has, and inside every database's integer range.
MAX_OFFSET = 2**31 - 1
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    # Without a ceiling any `?limit=` reaches the database: one past 2**63 - 1 is a 500 there.
    max_limit = MAX_LIMIT

    def _number(self, request: Request, name: str, low: int, high: int) -> int | None:
        values = request.query_params.getlist(name)
        if not values:
            return None
        raw = values[0]
        if len(values) > 1 or not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
            raise ValidationError({name: [f"Give a whole number from {low} to {high}, once."]})
        return int(raw)

    def get_limit(self, request: Request) -> int | None:
        limit = self._number(request, self.limit_query_param, 1, MAX_LIMIT)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        return self._number(request, self.offset_query_param, 0, MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        ranges = {self.limit_query_param: (1, MAX_LIMIT), self.offset_query_param: (0, MAX_OFFSET)}
        for parameter in parameters:
            low, high = ranges[parameter["name"]]
            parameter["schema"] = {**parameter["schema"], "minimum": low, "maximum": high}
        return parameters
