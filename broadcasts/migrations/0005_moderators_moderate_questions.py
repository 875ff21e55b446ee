from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTED = ["view_question", "change_question", "view_ctaclick", "view_rating"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="participation", codename__in=GRANTED)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("broadcasts", "0004_cta_push_and_question_moderation"),
        ("participation", "0003_questions_likes_ratings_cta_clicks"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
