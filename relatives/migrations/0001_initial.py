"""Relatives' cases and their proof documents move from requests_dsar to relatives: same
tables, same rows, same constraints. Only the migration state changes hands (requests_dsar 0011
lets it go); the content types follow, so the staff groups' permissions stay granted."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import move_content_types

MOVED = ["RelativeCase", "RelativeDocument"]
MOVE_CONTENT_TYPES = move_content_types("requests_dsar", "relatives", MOVED)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0004_guardian_consent_roles"),
        ("connectors", "0003_job_stuck_alert"),
        ("consent", "0006_consent_event_purpose_snapshot"),
        ("notices", "0003_fanout_cursor_and_one_active_termination"),
        ("requests_dsar", "0010_retention_to_its_app"),
        ("core", "0001_initial"),
        ("retention", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RelativeCase',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('relative_name', models.CharField(max_length=150)),
                        ('relative_email', models.EmailField(max_length=254)),
                        ('relationship', models.CharField(choices=[('spouse', 'Spouse or partner'), ('parent', 'Parent'), ('child', 'Child'), ('sibling', 'Brother or sister'), ('other', 'Another close relative')], max_length=20)),
                        ('relationship_other', models.CharField(blank=True, max_length=100)),
                        ('deceased_email', models.EmailField(blank=True, max_length=254)),
                        ('asked', models.CharField(choices=[('copy', 'A copy of their data'), ('delete', 'Deletion of their account and data')], max_length=10)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('code_hash', models.CharField(blank=True, max_length=64)),
                        ('code_expires_at', models.DateTimeField(blank=True, null=True)),
                        ('code_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('verified_at', models.DateTimeField(blank=True, null=True)),
                        ('arrangement', models.CharField(blank=True, max_length=20)),
                        ('outcome', models.CharField(blank=True, choices=[('copy', 'A copy of their data'), ('delete', 'Deletion of their account and data')], max_length=10)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('copy_link_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('deceased', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='relative_cases', to=settings.AUTH_USER_MODEL)),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('erasure_request', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='relative_erasure_case', to='requests_dsar.datasubjectrequest')),
                        ('request', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='relative_case', to='requests_dsar.datasubjectrequest')),
                    ],
                    options={
                        'db_table': 'requests_dsar_relativecase',
                        'verbose_name': "relative's case",
                        'verbose_name_plural': "relatives' cases",
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='RelativeDocument',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('death_certificate', 'Death certificate'), ('relationship_proof', 'Proof of relationship')], max_length=20)),
                        ('storage_name', models.CharField(max_length=300)),
                        ('key_id', models.CharField(max_length=40)),
                        ('content_type', models.CharField(max_length=40)),
                        ('size', models.PositiveIntegerField()),
                        ('sha256', models.CharField(max_length=64)),
                        ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('deleted_at', models.DateTimeField(blank=True, null=True)),
                        ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='documents', to='relatives.relativecase')),
                    ],
                    options={
                        'db_table': 'requests_dsar_relativedocument',
                        'ordering': ['case', 'kind', 'pk'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='relativecase',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('relationship', 'other'), _negated=True), models.Q(('relationship_other', ''), _negated=True), _connector='OR'), name='relative_case_other_is_named'),
                ),
                migrations.AddConstraint(
                    model_name='relativecase',
                    constraint=models.CheckConstraint(condition=models.Q(('verified_at__isnull', True), ('request__isnull', False), _connector='OR'), name='relative_case_verified_has_request'),
                ),
            ],
            database_operations=[],
        ),
        MOVE_CONTENT_TYPES,
    ]
