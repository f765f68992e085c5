"""The audit log moves from requests_dsar to core: same tables, same rows, same trigger.

Only the migration state changes hands (requests_dsar 0009 lets it go); the content types follow,
so the staff groups' permission to read the log stays granted.
"""

import django.utils.timezone
from django.db import migrations, models

from core.migration_ops import move_content_types

MOVED = ["AuditLogEntry", "AuditChainHead"]
MOVE_CONTENT_TYPES = move_content_types("requests_dsar", "core", MOVED)


class Migration(migrations.Migration):
    initial = True

    # After every migration of the layout before the move, so no permissions pass creates the
    # new content types first.
    dependencies = [
        ("accounts", "0004_guardian_consent_roles"),
        ("connectors", "0003_job_stuck_alert"),
        ("consent", "0006_consent_event_purpose_snapshot"),
        ("notices", "0003_fanout_cursor_and_one_active_termination"),
        ("requests_dsar", "0008_connected_systems"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("last_hash", models.CharField(max_length=64)),
                    ],
                    options={"db_table": "requests_dsar_auditchainhead"},
                ),
                migrations.CreateModel(
                    name="AuditLogEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("actor_user_id", models.BigIntegerField(blank=True, null=True)),
                        (
                            "actor_role",
                            models.CharField(
                                choices=[
                                    ("requester", "Requester"),
                                    ("staff", "Staff"),
                                    ("system", "System"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("action", models.CharField(db_index=True, max_length=60)),
                        ("target_type", models.CharField(blank=True, max_length=60)),
                        ("target_id", models.CharField(blank=True, max_length=64)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                    ],
                    options={
                        "verbose_name_plural": "audit log entries",
                        "ordering": ["pk"],
                        "db_table": "requests_dsar_auditlogentry",
                        "indexes": [
                            models.Index(
                                fields=["target_type", "target_id"],
                                name="requests_ds_target__940606_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        MOVE_CONTENT_TYPES,
    ]
