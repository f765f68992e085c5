"""Relatives' cases now belong to the relatives app (relatives 0001): their tables and rows stay
as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("requests_dsar", "0010_retention_to_its_app"),
        ("relatives", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="RelativeDocument"),
                migrations.DeleteModel(name="RelativeCase"),
            ],
            database_operations=[],
        ),
    ]
