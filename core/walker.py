"""The one walker of the personal-data registry: which rows of a user an entry names, and how
its strategy is applied to them.

Requests (export and erasure), the retention sweep and the end of the service all go through
here, so "delete", "anonymize" and "retain" mean the same thing everywhere. Nothing here logs
or raises a personal value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import models

from .registry import PersonalData, Strategy, registry

BATCH_SIZE = 500


def rows_of_users(entry: PersonalData, users: Sequence[Any]) -> Iterator[models.QuerySet[Any]]:
    """The rows `entry` holds for `users`: one queryset for all of them where the entry is tied
    to the user by a relation, one per user where it finds rows its own way."""
    if entry.rows is None:
        pks = [user.pk for user in users]
        yield entry.model._default_manager.filter(**{f"{entry.user_path}__in": pks})
        return
    for user in users:
        yield entry.rows_for(user)


def deleting_entries() -> Iterable[PersonalData]:
    """The entries whose strategy deletes rows, in the registry's order."""
    return [entry for entry in registry if entry.strategy is Strategy.DELETE]


def apply_strategy(entry: PersonalData, rows: models.QuerySet[Any]) -> int:
    """Apply the entry's strategy to `rows`; returns how many rows it concerned.

    RETAIN leaves them; DELETE runs the entry's `before_erase` (sessions, stored files) and
    deletes; ANONYMIZE writes each anonymizer's value, in one UPDATE where the value does not
    depend on the row, row by row in keyset batches where it does.
    """
    count = rows.count()
    if not count:
        return 0
    if entry.strategy is Strategy.RETAIN:
        return count
    if entry.before_erase is not None:
        entry.before_erase(rows)
    if entry.strategy is Strategy.DELETE:
        rows.delete()
        return count
    bulk = {name: a.apply(None, "") for name, a in entry.anonymize.items() if not a.per_row}
    if bulk:
        rows.update(**bulk)
    per_row = {name: a for name, a in entry.anonymize.items() if a.per_row}
    if per_row:
        _anonymize_per_row(entry, rows, per_row)
    return count


def _anonymize_per_row(
    entry: PersonalData, rows: models.QuerySet[Any], anonymizers: dict[str, Any]
) -> None:
    # Keyset batches rather than one open cursor: SQLite gives no isolation between a cursor
    # and writes to the same table on one connection.
    manager = entry.model._default_manager
    ordered = rows.order_by("pk").only(*anonymizers)
    last_pk = None
    while True:
        batch = list((ordered if last_pk is None else ordered.filter(pk__gt=last_pk))[:BATCH_SIZE])
        if not batch:
            return
        for obj in batch:
            key = f"{entry.model_label}:{obj.pk}"
            for name, anonymizer in anonymizers.items():
                setattr(obj, name, anonymizer.apply(getattr(obj, name), key))
        manager.bulk_update(batch, list(anonymizers))
        last_pk = batch[-1].pk
