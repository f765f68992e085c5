"""Security incidents, transfer notices and the end of the service now belong to announcements
(announcements 0001): their tables and rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0003_fanout_cursor_and_one_active_termination"),
        ("announcements", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # Dependents before the models they point to.
                migrations.DeleteModel(name="IncidentUpdate"),
                migrations.DeleteModel(name="Incident"),
                migrations.DeleteModel(name="TransferNotice"),
                migrations.DeleteModel(name="ServiceTermination"),
            ],
            database_operations=[],
        ),
    ]
