"""Staff roles for relatives' cases: support agents see cases and their proof documents; privacy
officers too, and they decide with the approve and deny permissions they hold for requests."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_AGENTS = "Support agents"
PRIVACY_OFFICERS = "Privacy officers"
PERMISSIONS = ["view_relativecase", "view_relativedocument"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("requests_dsar")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(
        content_type__app_label="requests_dsar", codename__in=PERMISSIONS
    )
    for name in (SUPPORT_AGENTS, PRIVACY_OFFICERS):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_dsar", "0005_relative_cases"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
