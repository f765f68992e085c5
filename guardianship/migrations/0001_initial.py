"""Minors, guardianships and guardians' documents move from accounts to guardianship: same
tables, same rows, same constraints.

Only the migration state changes hands (accounts 0005 lets the models go); the content types
follow, so the staff groups' permissions on the models stay granted.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from core.migration_ops import move_content_types

MOVED = ["MinorAccount", "Guardianship", "GuardianDocument"]
MOVE_CONTENT_TYPES = move_content_types("accounts", "guardianship", MOVED)


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
                    name='Guardianship',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('guardian_email', models.EmailField(max_length=254)),
                        ('status', models.CharField(choices=[('invited', 'Invitation sent'), ('confirming', 'Waiting for the second confirmation'), ('in_review', 'Document waiting for staff review'), ('approved', 'Approved'), ('declined', 'Declined'), ('revoked', 'Approval revoked'), ('expired', 'No decision in time'), ('ended', 'Ended (the minor came of age)')], db_index=True, default='invited', max_length=12)),
                        ('verification_method', models.CharField(blank=True, choices=[('email_plus', 'E-mail plus a delayed second confirmation'), ('document', 'Signed consent form or ID document reviewed by staff'), ('provider', 'Verification provider (card transaction or ID check)')], max_length=12)),
                        ('provider_reference', models.CharField(blank=True, max_length=100)),
                        ('invitation_nonce', models.CharField(max_length=43)),
                        ('invited_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField()),
                        ('accepted_at', models.DateTimeField(blank=True, null=True)),
                        ('first_confirmed_at', models.DateTimeField(blank=True, null=True)),
                        ('second_confirmation_after', models.DateTimeField(blank=True, null=True)),
                        ('approved_at', models.DateTimeField(blank=True, null=True)),
                        ('declined_at', models.DateTimeField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('ended_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_note', models.TextField(blank=True)),
                        ('guardian', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='guardianships', to=settings.AUTH_USER_MODEL)),
                        ('minor', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='guardianships_as_minor', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_guardianship',
                        'ordering': ['-invited_at'],
                        'constraints': [
                            models.UniqueConstraint(condition=models.Q(('status__in', ['invited', 'confirming', 'in_review', 'approved'])), fields=('minor',), name='one_live_guardianship_per_minor'),
                            models.CheckConstraint(condition=models.Q(('guardian', models.F('minor')), _negated=True), name='guardian_is_not_the_minor'),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name='GuardianDocument',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('storage_name', models.CharField(max_length=300)),
                        ('key_id', models.CharField(max_length=40)),
                        ('content_type', models.CharField(max_length=40)),
                        ('size', models.PositiveIntegerField()),
                        ('sha256', models.CharField(max_length=64)),
                        ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                        ('accepted', models.BooleanField(blank=True, null=True)),
                        ('review_note', models.TextField(blank=True)),
                        ('deleted_at', models.DateTimeField(blank=True, null=True)),
                        ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('guardianship', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='documents', to='guardianship.guardianship')),
                    ],
                    options={
                        'db_table': 'accounts_guardiandocument',
                        'ordering': ['-uploaded_at'],
                    },
                ),
                migrations.CreateModel(
                    name='MinorAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('awaiting_guardian', "Waiting for a guardian's approval"), ('active', 'Approved by a guardian'), ('suspended', 'Suspended (no guardian approval in force)'), ('erasing', 'Being erased (declined or no decision)'), ('ended', 'Guardianship ended (came of age)')], db_index=True, default='awaiting_guardian', max_length=20)),
                        ('reason', models.CharField(choices=[('signup', 'Date of birth given at sign-up'), ('profile', 'Date of birth changed in the profile'), ('staff', 'Staff found a minor without guardian consent')], max_length=10)),
                        ('region', models.CharField(blank=True, max_length=8)),
                        ('age_threshold', models.PositiveSmallIntegerField()),
                        ('adult_on', models.DateField(db_index=True)),
                        ('decide_by', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('approved_at', models.DateTimeField(blank=True, null=True)),
                        ('suspended_at', models.DateTimeField(blank=True, null=True)),
                        ('ended_at', models.DateTimeField(blank=True, null=True)),
                        ('erasure_request', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='requests_dsar.datasubjectrequest')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='minor_account', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_minoraccount',
                    },
                ),
            ],
            database_operations=[],
        ),
        MOVE_CONTENT_TYPES,
    ]
