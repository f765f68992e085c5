"""Staff roles for connected systems: privacy officers configure systems and except them from a
request; support agents see systems and jobs and work manual tasks."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"
AGENT_PERMISSIONS = [
    "view_connectedsystem",
    "view_connectorjob",
    "view_manualtask",
    "change_manualtask",
]
OFFICER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "add_connectedsystem",
    "change_connectedsystem",
    "change_connectorjob",
    "except_connectorjob",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("connectors")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((SUPPORT_AGENTS, AGENT_PERMISSIONS), (PRIVACY_OFFICERS, OFFICER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="connectors", codename__in=wanted)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_initial"),
        ("requests_dsar", "0002_roles_and_audit_guard"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
