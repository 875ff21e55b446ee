import django.db.models
from django.contrib.auth.management import create_permissions
from django.db import migrations

import core.origins


def moderators_manage_embed_sites(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for action in ("add", "change", "delete", "view"):
        group.permissions.add(
            Permission.objects.get(
                content_type__app_label="broadcasts", codename=f"{action}_embedsite"
            )
        )


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0007_moderators_read_the_audit_log")]

    operations = [
        migrations.CreateModel(
            name="EmbedSite",
            fields=[
                (
                    "id",
                    django.db.models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "origin",
                    django.db.models.CharField(
                        help_text=(
                            "The website's origin: https://shop.example.com "
                            "(with a port if it has one)."
                        ),
                        max_length=200,
                        unique=True,
                        validators=[core.origins.validate_origin],
                    ),
                ),
                (
                    "name",
                    django.db.models.CharField(
                        blank=True, help_text="For you: whose site it is.", max_length=120
                    ),
                ),
                ("added_at", django.db.models.DateTimeField(auto_now_add=True)),
            ],
            options={"verbose_name": "embed site", "ordering": ["origin"]},
        ),
        migrations.RunPython(moderators_manage_embed_sites, migrations.RunPython.noop),
    ]
