"""Minors, guardianships and guardians' documents now belong to guardianship (guardianship 0001):
their tables and rows stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_guardian_consent_roles"),
        ("guardianship", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # The document points at the guardianship: it goes first.
                migrations.DeleteModel(name="GuardianDocument"),
                migrations.DeleteModel(name="Guardianship"),
                migrations.DeleteModel(name="MinorAccount"),
            ],
            database_operations=[],
        ),
    ]
