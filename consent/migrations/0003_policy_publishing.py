"""Publishing policy versions: the publish permission for privacy officers, one notice row per
user and material version, and on PostgreSQL a guard that keeps published versions as they were.

The guard lets `published_by` change (it is set to NULL when that staff account is erased) and
leaves TRUNCATE alone (how test databases are reset).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"
AGENT_PERMISSIONS = ["view_policyversion", "view_purpose", "view_thirdparty"]
OFFICER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "add_policyversion",
    "change_policyversion",
    "publish_policyversion",
    "view_policynotice",
    "add_purpose",
    "change_purpose",
    "add_thirdparty",
    "change_thirdparty",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("consent")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((SUPPORT_AGENTS, AGENT_PERMISSIONS), (PRIVACY_OFFICERS, OFFICER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="consent", codename__in=wanted)
        )


GUARD = """
CREATE OR REPLACE FUNCTION consent_published_policy_is_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' AND (
        TG_OP = 'DELETE'
        OR (NEW.version, NEW.title, NEW.text, NEW.summary_of_changes, NEW.last_updated,
            NEW.effective_on, NEW.is_material, NEW.status, NEW.published_at)
           IS DISTINCT FROM
           (OLD.version, OLD.title, OLD.text, OLD.summary_of_changes, OLD.last_updated,
            OLD.effective_on, OLD.is_material, OLD.status, OLD.published_at)
    ) THEN
        RAISE EXCEPTION 'a published policy version is immutable';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_published_policy_immutable
    BEFORE UPDATE OR DELETE ON consent_policyversion
    FOR EACH ROW EXECUTE FUNCTION consent_published_policy_is_immutable();
"""
UNGUARD = """
DROP TRIGGER IF EXISTS consent_published_policy_immutable ON consent_policyversion;
DROP FUNCTION IF EXISTS consent_published_policy_is_immutable();
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0002_ledger_guard'),
        ('requests_dsar', '0002_roles_and_audit_guard'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='policyversion',
            options={'ordering': ['-effective_on', '-published_at'], 'permissions': [('publish_policyversion', 'Can publish a policy version')]},
        ),
        migrations.CreateModel(
            name='PolicyNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('pending', 'Waiting'), ('sending', 'Being sent (in doubt if it stays)'), ('sent', 'Sent'), ('refused', 'Refused by the mail server'), ('skipped', 'Skipped (account closed or no address)')], default='pending', max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('attempted_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notices', to='consent.policyversion')),
            ],
            options={
                'indexes': [models.Index(fields=['version', 'state', 'user'], name='policy_notice_work')],
                'constraints': [models.UniqueConstraint(fields=('version', 'user'), name='policy_notice_once_per_user')],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
