"""Guardian consent in the staff roles: privacy officers review guardians' documents and flag
minors found without their guardian's consent; support agents see where a minor's flow stands."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"
AGENT_PERMISSIONS = ["view_minoraccount", "view_guardianship"]
OFFICER_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    "add_minoraccount",
    "view_guardiandocument",
    "change_guardiandocument",
]
ROLES = ((SUPPORT_AGENTS, AGENT_PERMISSIONS), (PRIVACY_OFFICERS, OFFICER_PERMISSIONS))


def grant(apps, schema_editor):
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="accounts", codename__in=wanted)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLES:
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="accounts", codename__in=wanted)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_after_death_and_guardians"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("requests_dsar", "0002_roles_and_audit_guard"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
