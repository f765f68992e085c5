"""Legal holds and retention overrides now belong to the retention app (retention 0001): their
tables and rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("requests_dsar", "0009_audit_log_to_core"),
        ("retention", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="LegalHold"),
                migrations.DeleteModel(name="RetentionOverride"),
            ],
            database_operations=[],
        ),
    ]
