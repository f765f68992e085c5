"""Security incidents, transfer notices and the end of the service move from notices to
announcements: same tables, same rows.

Only the migration state changes hands (notices 0004 lets them go); the content types follow,
so the staff groups' permissions to declare, send and read them stay granted.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import move_content_types

MOVED = ["Incident", "IncidentUpdate", "TransferNotice", "ServiceTermination"]
MOVE_CONTENT_TYPES = move_content_types("notices", "announcements", MOVED)


class Migration(migrations.Migration):
    initial = True

    # After every migration of the layout before the move, so no permissions pass creates the
    # new content types first.
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
                    name="Incident",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("title", models.CharField(max_length=200)),
                        (
                            "what_happened",
                            models.TextField(help_text="The basic situation, in plain language."),
                        ),
                        ("occurred_at", models.DateTimeField(blank=True, null=True)),
                        ("found_at", models.DateTimeField()),
                        ("data_categories", models.JSONField(blank=True, default=list)),
                        ("measures_taken", models.TextField()),
                        ("measures_planned", models.TextField(blank=True)),
                        (
                            "advice",
                            models.TextField(help_text="What users can do to protect themselves."),
                        ),
                        ("audience", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("closed", "Closed")],
                                default="open",
                                max_length=10,
                            ),
                        ),
                        ("declared_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "broadcast",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="incident",
                                to="notices.broadcast",
                            ),
                        ),
                        (
                            "declared_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"ordering": ["-declared_at"], "db_table": "notices_incident"},
                ),
                migrations.CreateModel(
                    name="IncidentUpdate",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("body", models.TextField()),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "broadcast",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="incident_update",
                                to="notices.broadcast",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "incident",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="updates",
                                to="announcements.incident",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["created_at", "pk"],
                        "db_table": "notices_incidentupdate",
                    },
                ),
                migrations.CreateModel(
                    name="TransferNotice",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("merger", "Merger"),
                                    ("acquisition", "Acquisition"),
                                    ("asset_transfer", "Asset transfer"),
                                    ("other", "Other transfer"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("new_controller", models.CharField(max_length=200)),
                        ("new_controller_contact", models.CharField(blank=True, max_length=254)),
                        ("what_changes", models.TextField()),
                        ("effective_on", models.DateField()),
                        ("requires_consent", models.BooleanField(default=False)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "broadcast",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="transfer",
                                to="notices.broadcast",
                            ),
                        ),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "purposes",
                            models.ManyToManyField(
                                blank=True, related_name="+", to="consent.purpose"
                            ),
                        ),
                    ],
                    options={"ordering": ["-created_at"], "db_table": "notices_transfernotice"},
                ),
                migrations.CreateModel(
                    name="ServiceTermination",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("ends_on", models.DateField()),
                        ("reason", models.TextField(blank=True)),
                        ("announced_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("cancelled_at", models.DateTimeField(blank=True, null=True)),
                        ("last_report", models.JSONField(blank=True, default=dict)),
                        ("last_report_at", models.DateTimeField(blank=True, null=True)),
                        ("executed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "announced_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "broadcast",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="termination",
                                to="notices.broadcast",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-announced_at"],
                        "db_table": "notices_servicetermination",
                        "constraints": [
                            models.UniqueConstraint(
                                models.Value(True),
                                condition=models.Q(("cancelled_at__isnull", True)),
                                name="one_active_termination",
                                violation_error_message=(
                                    "The end of the service is already announced."
                                ),
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        MOVE_CONTENT_TYPES,
    ]
