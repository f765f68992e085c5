"""Consent events keep the purpose as it stood when they were recorded, for their receipts.

A nullable column with no default: adding it writes no row, so the ledger's append-only trigger
(0002) is not involved and existing events keep their hashes (the snapshot is hashed only on
events that have one).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0005_policy_notices_to_broadcasts'),
    ]

    operations = [
        migrations.AddField(
            model_name='consentevent',
            name='purpose_snapshot',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
