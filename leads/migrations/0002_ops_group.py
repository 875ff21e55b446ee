from django.contrib.auth.management import create_permissions
from django.db import migrations

OPS = ["export_leads", "view_lead", "view_leadexport"]


def create(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ops, _ = Group.objects.get_or_create(name="Ops")
    ops.permissions.add(*Permission.objects.filter(content_type__app_label="leads", codename__in=OPS))


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_leads_and_exports"),
        ("broadcasts", "0005_moderators_moderate_questions"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
