"""Notices in the staff roles: privacy officers declare and send security incidents and
transfer notices and retry failed e-mails; support agents read them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"
AGENT_PERMISSIONS = [
    "view_broadcast",
    "view_incident",
    "view_incidentupdate",
    "view_transfernotice",
    "view_servicetermination",
]
OFFICER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "change_broadcast",
    "add_incident",
    "change_incident",
    "add_incidentupdate",
    "change_incidentupdate",
    "add_transfernotice",
    "change_transfernotice",
]
ROLES = ((SUPPORT_AGENTS, AGENT_PERMISSIONS), (PRIVACY_OFFICERS, OFFICER_PERMISSIONS))


def grant(apps, schema_editor):
    app_config = apps.get_app_config("notices")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="notices", codename__in=wanted)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES:
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="notices", codename__in=wanted)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0001_initial"),
        ("requests_dsar", "0002_roles_and_audit_guard"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
