"""Append-only records (the audit log, the consent ledger): rows are added, never changed.

The ORM refuses updates and deletes here; on PostgreSQL a trigger refuses them too.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise PermissionError(f"{self.model.append_only_name} is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.model.append_only_name} is append-only.")


class AppendOnlyModel(models.Model):
    append_only_name: ClassVar[str] = "This record"

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError(f"{self.append_only_name} is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError(f"{self.append_only_name} is append-only.")
