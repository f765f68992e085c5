"""Legal holds and retention overrides move from requests_dsar to retention: same tables, same
rows, same constraint. Only the migration state changes hands (requests_dsar 0010 lets it go);
the content types follow, so the staff groups' permissions stay granted."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import move_content_types

MOVED = ["LegalHold", "RetentionOverride"]
MOVE_CONTENT_TYPES = move_content_types("requests_dsar", "retention", MOVED)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0004_guardian_consent_roles"),
        ("connectors", "0003_job_stuck_alert"),
        ("consent", "0006_consent_event_purpose_snapshot"),
        ("notices", "0003_fanout_cursor_and_one_active_termination"),
        ("requests_dsar", "0009_audit_log_to_core"),
        ("core", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RetentionOverride",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("category", models.CharField(max_length=40, unique=True)),
                        ("days", models.PositiveIntegerField()),
                        ("reason", models.TextField()),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "set_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"ordering": ["category"], "db_table": "requests_dsar_retentionoverride"},
                ),
                migrations.CreateModel(
                    name="LegalHold",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("reason", models.TextField()),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("released_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "released_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "request",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="legal_holds",
                                to="requests_dsar.datasubjectrequest",
                            ),
                        ),
                        (
                            "set_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="legal_holds",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "db_table": "requests_dsar_legalhold",
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("user__isnull", False), ("request__isnull", True)),
                                    models.Q(("user__isnull", True), ("request__isnull", False)),
                                    _connector="OR",
                                ),
                                name="legal_hold_one_target",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        MOVE_CONTENT_TYPES,
    ]
