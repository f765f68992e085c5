"""Moving a model from one app to another without touching its table or its rows.

The new app takes the model into its migration state over the old table (`db_table`), the old
app lets it go from its state, and the content types (and so every permission granted to staff
groups on the model) follow it to the new app label. Used by the migrations of the apps carved
out of older ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import migrations


def move_content_types(old_app: str, new_app: str, models: Iterable[str]) -> migrations.RunPython:
    """A migration step relabelling the models' content types from `old_app` to `new_app`.

    Permissions point at content types, so staff groups keep what they were granted. A content
    type already created under the new label (by a permissions pass that ran in between) gives
    way to the old one, after its permissions moved across.
    """
    names = [name.lower() for name in models]

    def relabel(from_app: str, to_app: str) -> Callable[[Any, Any], None]:
        def run(apps: Any, schema_editor: Any) -> None:
            ContentType = apps.get_model("contenttypes", "ContentType")
            Permission = apps.get_model("auth", "Permission")
            db = schema_editor.connection.alias
            for name in names:
                old = ContentType.objects.using(db).filter(app_label=from_app, model=name).first()
                if old is None:
                    continue
                clash = ContentType.objects.using(db).filter(app_label=to_app, model=name).first()
                if clash is not None:
                    taken = set(
                        Permission.objects.using(db)
                        .filter(content_type=old)
                        .values_list("codename", flat=True)
                    )
                    Permission.objects.using(db).filter(content_type=clash).exclude(
                        codename__in=taken
                    ).update(content_type=old)
                    Permission.objects.using(db).filter(content_type=clash).delete()
                    clash.delete()
                old.app_label = to_app
                old.save(update_fields=["app_label"])

        return run

    return migrations.RunPython(relabel(old_app, new_app), relabel(new_app, old_app))
