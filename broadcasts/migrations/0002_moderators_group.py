from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATOR_PERMISSIONS = [
    # To pick hosts, co-hosts and audience groups in the broadcast form.
    ("auth", "view_user"),
    ("auth", "view_group"),
    ("broadcasts", "add_broadcast"),
    ("broadcasts", "change_broadcast"),
    ("broadcasts", "view_broadcast"),
    ("broadcasts", "moderate_broadcast"),
    ("broadcasts", "view_broadcasttransition"),
    ("participation", "view_attendee"),
    ("participation", "change_attendee"),
]


def create_moderators(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0001_initial"),
        ("participation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_moderators, remove_moderators)]
