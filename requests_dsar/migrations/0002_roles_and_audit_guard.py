"""Staff roles as permission groups, and a database guard that keeps the audit log append-only.

TRUNCATE stays possible: it is an operator's act on the whole table (and how test databases are
reset), never something the application does.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"

AGENT_PERMISSIONS = [
    ("requests_dsar", "view_datasubjectrequest"),
    ("requests_dsar", "change_datasubjectrequest"),
    ("requests_dsar", "view_requestevent"),
    ("requests_dsar", "view_requestmessage"),
    ("requests_dsar", "add_requestmessage"),
    ("requests_dsar", "view_appliedcorrection"),
    ("accounts", "view_user"),
    ("accounts", "view_profile"),
    ("accounts", "change_profile"),
]
OFFICER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    ("requests_dsar", "approve_request"),
    ("requests_dsar", "extend_request"),
    ("requests_dsar", "deny_request"),
    ("requests_dsar", "view_auditlogentry"),
    ("requests_dsar", "view_erasurerecord"),
    ("requests_dsar", "add_appliedcorrection"),
    ("accounts", "change_user"),
]


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((SUPPORT_AGENTS, AGENT_PERMISSIONS), (PRIVACY_OFFICERS, OFFICER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


GUARD = """
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON requests_dsar_auditlogentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
"""
UNGUARD = """
DROP TRIGGER IF EXISTS audit_log_append_only ON requests_dsar_auditlogentry;
DROP FUNCTION IF EXISTS audit_log_is_append_only();
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_dsar", "0001_initial"),
        ("accounts", "0002_profile_optional_processing_stopped_at"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
